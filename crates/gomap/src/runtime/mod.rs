//! The map runtime proper: layouts, constants and the role functions.
//!
//! Everything here works on raw pointers to an [`Hmap`], exactly as Go's runtime works on
//! `*hmap`. The role functions are free functions named after Go's (see the table in the crate
//! docs) and are never inlined, so a debugger can stop on them by name or address. Helpers that
//! are not roles are `#[inline(always)]` so that they vanish into the role that calls them and
//! their source lines (and probe markers) belong to that role.
//!
//! # Safety
//!
//! One contract covers every `unsafe fn` here, so it is stated once: `h` points at a live header
//! initialised by [`make_map`] with the same `t`, and its bucket memory is owned by `t.heap`.
//! Concurrent calls on one map are allowed only in the sense that Go allows them: they are the
//! misuse the fixtures exist to show.
//!
//! Probe markers: a comment line `// probe: NAME` marks the next source line as a named probe
//! point. `mapscope profile` resolves it, per role function, to an address through the line
//! table. Keep a statement on the line after each marker.
//!
//! Role markers: a comment line `// role: NAME` before a role function's attributes gives the
//! function its role in the profile (`assign`, `evacuate`, ...): mapscope builds its role table
//! from these markers, so a new role function needs only its marker.

#![allow(clippy::missing_safety_doc)] // see "Safety" above

mod access;
mod alloc;
mod assign;
mod delete;
mod fatal;
mod grow;
mod iter;

use std::marker::PhantomData;

use crate::key::MapKey;
use std::ptr::addr_of_mut;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU8, AtomicUsize};
use std::sync::Mutex;

pub use access::{
    access1, access1_fast64, access1_faststr, access2, access2_fast64, access2_faststr, access_k,
};
pub use alloc::{make_map, Heap};
pub use assign::{assign, assign_fast64, assign_faststr};
pub(crate) use delete::drop_live_entries;
pub use delete::{clear, delete, delete_fast64, delete_faststr};
pub use fatal::fatal;
pub use grow::{
    advance_evacuation_mark, evacuate, evacuate_fast64, evacuate_faststr, grow_work,
    grow_work_fast64, grow_work_faststr, hash_grow,
};
pub use iter::{iter_init, iter_next, Hiter};

/// log2 of the number of slots in a bucket.
pub const BUCKET_CNT_BITS: u8 = 3;
/// Slots per bucket.
pub const BUCKET_CNT: usize = 1 << BUCKET_CNT_BITS;
/// The load factor is `LOAD_FACTOR_NUM / LOAD_FACTOR_DEN` = 6.5 entries per bucket.
pub const LOAD_FACTOR_NUM: usize = 13;
/// See [`LOAD_FACTOR_NUM`].
pub const LOAD_FACTOR_DEN: usize = 2;
/// Keys and elems larger than this are stored behind a pointer ([`crate::Indirect`]).
pub const MAX_KEY_SIZE: usize = 128;
/// See [`MAX_KEY_SIZE`].
pub const MAX_ELEM_SIZE: usize = 128;

// tophash states. Values below MIN_TOP_HASH are states, not hashes.
/// Slot empty, and so is every later slot and overflow bucket.
pub const EMPTY_REST: u8 = 0;
/// Slot empty (deleted, or never used but followed by used slots).
pub const EMPTY_ONE: u8 = 1;
/// Old slot whose entry moved to the first half (X) of the new array.
pub const EVACUATED_X: u8 = 2;
/// Old slot whose entry moved to the second half (Y) of the new array.
pub const EVACUATED_Y: u8 = 3;
/// Old slot that was empty when its bucket was evacuated.
pub const EVACUATED_EMPTY: u8 = 4;
/// Smallest tophash of a live slot.
pub const MIN_TOP_HASH: u8 = 5;

// flags
/// An iterator may be using `buckets`.
pub const ITERATOR: u8 = 1;
/// An iterator may be using `oldbuckets`.
pub const OLD_ITERATOR: u8 = 2;
/// A writer is inside assign, delete or clear.
pub const HASH_WRITING: u8 = 4;
/// The current grow keeps B (it only compacts overflow chains).
pub const SAME_SIZE_GROW: u8 = 8;

/// Sentinel for [`Hiter::check_bucket`]: no filtering of old-bucket entries (Go's `noCheck`,
/// all ones).
pub const NO_CHECK: usize = usize::MAX;

/// A map header: Go's `hmap`, field for field (48 bytes on x86-64).
///
/// `buckets` and `oldbuckets` point at arrays of `2^B` (`2^(B-1)` or `2^B` for the old array)
/// buckets, so a debugger sees them typed, like the `hash<K,V>` copy of hmap that Go's linker
/// writes into DWARF.
#[repr(C)]
#[allow(non_snake_case)]
pub struct Hmap<K, V> {
    /// Live entries. Must be first: `len()` reads it directly.
    pub count: isize,
    /// [`ITERATOR`] | [`OLD_ITERATOR`] | [`HASH_WRITING`] | [`SAME_SIZE_GROW`].
    pub flags: u8,
    /// log2 of the number of buckets.
    pub B: u8,
    /// Approximate number of overflow buckets (exact below B = 16).
    pub noverflow: u16,
    /// Hash seed.
    pub hash0: u32,
    /// The current bucket array; null until the first insert when B is 0.
    pub buckets: *mut Bucket<K, V>,
    /// The array being evacuated; non-null exactly while growing.
    pub oldbuckets: *mut Bucket<K, V>,
    /// Old buckets below this index are all evacuated.
    pub nevacuate: usize,
    /// Optional fields, allocated on demand.
    pub extra: *mut MapExtra<K, V>,
}

/// Go's `mapextra`: bookkeeping of overflow buckets (24 bytes).
#[repr(C)]
pub struct MapExtra<K, V> {
    /// Overflow buckets hanging off `buckets`.
    pub overflow: *mut OverflowList<K, V>,
    /// Overflow buckets hanging off `oldbuckets`.
    pub oldoverflow: *mut OverflowList<K, V>,
    /// Next free preallocated overflow bucket at the end of the bucket array.
    pub next_overflow: *mut Bucket<K, V>,
}

/// The list `MapExtra::overflow` points to (Go's `*[]*bmap`).
///
/// Go keeps this list only for buckets without pointers, to keep their overflow buckets alive
/// for the garbage collector, and so does this crate ([`MapType::bucket_has_pointers`]). Here
/// memory is owned by [`Heap`], so the list is informational; it takes a lock so that racing
/// writers cannot corrupt the Rust heap (they still corrupt the map, which is the point). It is
/// a `Mutex<Vec>`, not Go's slice header: a debugger reads its length from Rust's layout.
pub type OverflowList<K, V> = std::sync::Mutex<Vec<*mut Bucket<K, V>>>;

/// A bucket: 8 tophash bytes, 8 keys, 8 elems, then the overflow pointer, with C layout.
///
/// `Bucket<i64, i64>` is 144 bytes with `overflow` at 136, as in Go. Slots are read and written
/// only through raw pointers, never through references: most slots hold no valid `K` or `V`.
#[repr(C)]
pub struct Bucket<K, V> {
    /// Per slot: the top byte of the hash (raised above the states), or a state.
    pub tophash: [u8; BUCKET_CNT],
    /// Keys, valid where `tophash` says so.
    pub keys: [K; BUCKET_CNT],
    /// Elems (values), valid where `tophash` says so.
    pub elems: [V; BUCKET_CNT],
    /// Next bucket in this bucket's overflow chain.
    pub overflow: *mut Bucket<K, V>,
}

/// Go's `maptype` for one `Map<K, V>`: the hasher, what Go's compiler knows about the types,
/// and the heap.
pub struct MapType<K, V> {
    /// Hash of a key under the map's seed.
    pub hasher: fn(&K, u32) -> u64,
    /// The elem is an [`Indirect`](crate::Indirect): a pointer to a value Go would not store
    /// inline (over 128 bytes). Go then uses the generic functions for every operation.
    pub indirect_elem: bool,
    /// Keys or elems hold pointers (Go: `t.bucket.ptrdata != 0`). Go then clears an old bucket
    /// once it is evacuated, and keeps no list of overflow buckets (its garbage collector finds
    /// them through the buckets). Keys say whether they hold pointers ([`MapKey::HAS_POINTERS`]);
    /// an elem counts as holding pointers when it needs drop (`String`, `Box`, `Indirect`...),
    /// the only test stable Rust has; elems that are plain references count as pointer-free.
    pub bucket_has_pointers: bool,
    /// Owner of every bucket array, overflow bucket and list the map allocates.
    pub heap: Heap,
    /// Source of Go's `fastrand` (new seeds, iterator start, overflow sampling).
    pub rng: AtomicU64Rng,
    /// Iterators started on this map and not yet dropped (see [`MapType::drop_key`]).
    live_iterators: AtomicUsize,
    /// Keys removed from the map while an iterator lives, kept until no iterator does (see
    /// [`MapType::drop_key`]).
    retired_keys: Mutex<Vec<K>>,
    _types: PhantomData<fn(K, V)>,
}

impl<K: MapKey, V> MapType<K, V> {
    /// A map type with the given hasher; `seed` seeds its random source.
    pub fn new(hasher: fn(&K, u32) -> u64, seed: u64) -> Self {
        MapType {
            hasher,
            indirect_elem: crate::key::is_indirect::<V>(),
            bucket_has_pointers: K::HAS_POINTERS || std::mem::needs_drop::<V>(),
            heap: Heap::default(),
            rng: AtomicU64Rng::new(seed),
            live_iterators: AtomicUsize::new(0),
            retired_keys: Mutex::new(Vec::new()),
            _types: PhantomData,
        }
    }
}

impl<K, V> MapType<K, V> {
    #[inline(always)]
    pub(crate) fn hash(&self, key: &K, seed: u32) -> u64 {
        (self.hasher)(key, seed)
    }

    /// Disposes of a key the map no longer holds (displaced by an update, deleted, cleared).
    ///
    /// Go moves an entry to the new array by copying its bytes, and an old bucket that an
    /// iterator may still walk keeps its copies (`evacuate` clears it only without
    /// `oldIterator`). The iterator hashes and compares those copies to find where each entry
    /// went (`mapaccessK`). In Go, whatever a copy points to stays alive while the iterator can
    /// reach it: the garbage collector sees to that. A Rust key that owns memory (a `String`, a
    /// `Box`) frees it when dropped, and the copy would point at freed memory: the iterator
    /// would hash garbage, skip a key that is present throughout, or find another key twice.
    ///
    /// So the heap plays the collector's part: while an iterator lives, removed keys are kept,
    /// unused, and they are dropped when the last iterator is ([`MapType::iterator_ended`]).
    /// Only iterators read stale copies, and an iterator only reaches copies made while it
    /// lives (it starts on the current array and reads an old bucket only while it is not
    /// evacuated), so a key removed while no iterator lives is dropped at once.
    #[inline(always)]
    pub(crate) fn drop_key(&self, key: K) {
        if std::mem::needs_drop::<K>() && self.live_iterators.load(Relaxed) != 0 {
            self.retired_keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(key);
        } else {
            drop(key);
        }
    }

    /// Counts an iterator started on this map (by [`iter_init`]).
    #[inline(always)]
    pub(crate) fn iterator_started(&self) {
        self.live_iterators.fetch_add(1, Relaxed);
    }

    /// Counts an iterator dropped; after the last one, drops the keys kept for iterators.
    pub(crate) fn iterator_ended(&self) {
        if self.live_iterators.fetch_sub(1, Relaxed) == 1 {
            let retired =
                std::mem::take(&mut *self.retired_keys.lock().unwrap_or_else(|e| e.into_inner()));
            drop(retired);
        }
    }
}

/// A splitmix64 generator that racing threads may share (Go's `fastrand`).
pub struct AtomicU64Rng(std::sync::atomic::AtomicU64);

impl AtomicU64Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        AtomicU64Rng(std::sync::atomic::AtomicU64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        let s = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

// ---------------------------------------------------------------------------------------------
// Header fields, read and written as relaxed atomics.
//
// Go reads and writes hmap with plain loads and stores and relies on the compiler not caching
// them across the race checks. Relaxed atomics are plain moves on x86-64 but forbid the optimizer
// from assuming exclusive access, so racing threads observe each other's stores as in Go. Every
// read-modify-write below is a load followed by a store, never an atomic RMW: two writers can
// lose each other's update, which is exactly the misbehaviour the fixtures need.
// ---------------------------------------------------------------------------------------------

macro_rules! header_field {
    ($get:ident, $set:ident, $field:ident, $ty:ty, $atomic:ident) => {
        #[inline(always)]
        pub(crate) unsafe fn $get<K, V>(h: *mut Hmap<K, V>) -> $ty {
            $atomic::from_ptr(addr_of_mut!((*h).$field)).load(Relaxed)
        }
        #[inline(always)]
        pub(crate) unsafe fn $set<K, V>(h: *mut Hmap<K, V>, value: $ty) {
            $atomic::from_ptr(addr_of_mut!((*h).$field)).store(value, Relaxed)
        }
    };
}

header_field!(count, set_count, count, isize, AtomicIsize);
header_field!(flags, set_flags, flags, u8, AtomicU8);
header_field!(b_log2, set_b_log2, B, u8, AtomicU8);
header_field!(noverflow, set_noverflow, noverflow, u16, AtomicU16);
header_field!(hash0, set_hash0, hash0, u32, AtomicU32);
header_field!(nevacuate, set_nevacuate, nevacuate, usize, AtomicUsize);

#[inline(always)]
pub(crate) unsafe fn buckets<K, V>(h: *mut Hmap<K, V>) -> *mut Bucket<K, V> {
    AtomicPtr::from_ptr(addr_of_mut!((*h).buckets)).load(Relaxed)
}
#[inline(always)]
pub(crate) unsafe fn set_buckets<K, V>(h: *mut Hmap<K, V>, b: *mut Bucket<K, V>) {
    AtomicPtr::from_ptr(addr_of_mut!((*h).buckets)).store(b, Relaxed)
}
#[inline(always)]
pub(crate) unsafe fn oldbuckets<K, V>(h: *mut Hmap<K, V>) -> *mut Bucket<K, V> {
    AtomicPtr::from_ptr(addr_of_mut!((*h).oldbuckets)).load(Relaxed)
}
#[inline(always)]
pub(crate) unsafe fn set_oldbuckets<K, V>(h: *mut Hmap<K, V>, b: *mut Bucket<K, V>) {
    AtomicPtr::from_ptr(addr_of_mut!((*h).oldbuckets)).store(b, Relaxed)
}
#[inline(always)]
pub(crate) unsafe fn extra<K, V>(h: *mut Hmap<K, V>) -> *mut MapExtra<K, V> {
    AtomicPtr::from_ptr(addr_of_mut!((*h).extra)).load(Relaxed)
}
#[inline(always)]
pub(crate) unsafe fn set_extra<K, V>(h: *mut Hmap<K, V>, e: *mut MapExtra<K, V>) {
    AtomicPtr::from_ptr(addr_of_mut!((*h).extra)).store(e, Relaxed)
}

/// Sets `bits` in the flags with an atomic OR (Go's `atomic.Or8`, used by iterator starts).
#[inline(always)]
pub(crate) unsafe fn or_flags<K, V>(h: *mut Hmap<K, V>, bits: u8) {
    AtomicU8::from_ptr(addr_of_mut!((*h).flags)).fetch_or(bits, Relaxed);
}

/// Toggles [`HASH_WRITING`] the way Go does (`flags ^= hashWriting`): a load, then a store.
#[inline(always)]
pub(crate) unsafe fn toggle_writing<K, V>(h: *mut Hmap<K, V>) {
    set_flags(h, flags(h) ^ HASH_WRITING);
}

/// Clears [`HASH_WRITING`] (`flags &^= hashWriting`).
#[inline(always)]
pub(crate) unsafe fn clear_writing<K, V>(h: *mut Hmap<K, V>) {
    set_flags(h, flags(h) & !HASH_WRITING);
}

/// The map is growing exactly while `oldbuckets` is set.
#[inline(always)]
pub(crate) unsafe fn growing<K, V>(h: *mut Hmap<K, V>) -> bool {
    !oldbuckets(h).is_null()
}

#[inline(always)]
pub(crate) unsafe fn same_size_grow<K, V>(h: *mut Hmap<K, V>) -> bool {
    flags(h) & SAME_SIZE_GROW != 0
}

/// Number of buckets in the array being evacuated.
#[inline(always)]
pub(crate) unsafe fn noldbuckets<K, V>(h: *mut Hmap<K, V>) -> usize {
    let mut old_b = b_log2(h);
    if !same_size_grow(h) {
        old_b -= 1;
    }
    bucket_shift(old_b)
}

#[inline(always)]
pub(crate) unsafe fn oldbucket_mask<K, V>(h: *mut Hmap<K, V>) -> usize {
    noldbuckets(h) - 1
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

/// `2^b` buckets.
#[inline(always)]
pub const fn bucket_shift(b: u8) -> usize {
    1usize << (b as u32 & (usize::BITS - 1))
}

/// Mask selecting a bucket index from a hash.
#[inline(always)]
pub const fn bucket_mask(b: u8) -> usize {
    bucket_shift(b) - 1
}

/// The tophash of a live slot: the hash's top byte, lifted above the state values.
#[inline(always)]
pub const fn tophash(hash: u64) -> u8 {
    let top = (hash >> 56) as u8;
    if top < MIN_TOP_HASH {
        top + MIN_TOP_HASH
    } else {
        top
    }
}

/// Whether a slot with this tophash holds no entry (it may still be followed by entries).
#[inline(always)]
pub const fn is_empty(top: u8) -> bool {
    top <= EMPTY_ONE
}

/// Whether `count` entries in `2^b` buckets exceed the load factor.
#[inline(always)]
pub const fn over_load_factor(count: isize, b: u8) -> bool {
    count > BUCKET_CNT as isize
        && count as usize > LOAD_FACTOR_NUM * (bucket_shift(b) / LOAD_FACTOR_DEN)
}

/// Whether there are about as many overflow buckets as buckets (same-size grow trigger).
#[inline(always)]
pub const fn too_many_overflow_buckets(noverflow: u16, b: u8) -> bool {
    let b = if b > 15 { 15 } else { b };
    noverflow >= 1u16 << (b & 15)
}

// ---------------------------------------------------------------------------------------------
// Bucket access through raw pointers
// ---------------------------------------------------------------------------------------------

/// Bucket `i` of an array.
#[inline(always)]
pub(crate) unsafe fn bucket_at<K, V>(array: *mut Bucket<K, V>, i: usize) -> *mut Bucket<K, V> {
    array.add(i)
}

#[inline(always)]
pub(crate) unsafe fn top<K, V>(b: *mut Bucket<K, V>, i: usize) -> u8 {
    AtomicU8::from_ptr(addr_of_mut!((*b).tophash).cast::<u8>().add(i)).load(Relaxed)
}

#[inline(always)]
pub(crate) unsafe fn set_top<K, V>(b: *mut Bucket<K, V>, i: usize, value: u8) {
    AtomicU8::from_ptr(addr_of_mut!((*b).tophash).cast::<u8>().add(i)).store(value, Relaxed)
}

#[inline(always)]
pub(crate) unsafe fn key_ptr<K, V>(b: *mut Bucket<K, V>, i: usize) -> *mut K {
    addr_of_mut!((*b).keys).cast::<K>().add(i)
}

#[inline(always)]
pub(crate) unsafe fn elem_ptr<K, V>(b: *mut Bucket<K, V>, i: usize) -> *mut V {
    addr_of_mut!((*b).elems).cast::<V>().add(i)
}

#[inline(always)]
pub(crate) unsafe fn overflow<K, V>(b: *mut Bucket<K, V>) -> *mut Bucket<K, V> {
    AtomicPtr::from_ptr(addr_of_mut!((*b).overflow)).load(Relaxed)
}

#[inline(always)]
pub(crate) unsafe fn set_overflow<K, V>(b: *mut Bucket<K, V>, next: *mut Bucket<K, V>) {
    AtomicPtr::from_ptr(addr_of_mut!((*b).overflow)).store(next, Relaxed)
}

/// Whether the string header (`data`, `len`) of a `_faststr` key slot holds `wanted`: the same
/// data pointer, or equal bytes (Go compares the lengths first, then the pointers, then memory).
#[inline(always)]
pub(crate) unsafe fn same_str(data: *const u8, len: usize, wanted: &str) -> bool {
    len == wanted.len()
        && (data == wanted.as_ptr() || std::slice::from_raw_parts(data, len) == wanted.as_bytes())
}

/// A bucket has been evacuated when its first slot holds one of the evacuated states.
#[inline(always)]
pub(crate) unsafe fn evacuated<K, V>(b: *mut Bucket<K, V>) -> bool {
    let h = top(b, 0);
    h > EMPTY_ONE && h < MIN_TOP_HASH
}

/// Counts an overflow bucket: exactly below B = 16, by sampling above (Go's `incrnoverflow`).
#[inline(always)]
pub(crate) unsafe fn incr_noverflow<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>) {
    let b = b_log2(h);
    if b < 16 {
        set_noverflow(h, noverflow(h).wrapping_add(1));
        return;
    }
    let mask = (1u32 << (b - 15)) - 1;
    if t.rng.next_u32() & mask == 0 {
        set_noverflow(h, noverflow(h).wrapping_add(1));
    }
}

/// Hash of `key` under the map's current seed. Every role hashes early, so this is also where
/// threads stop once another one is reporting misuse (see [`fatal`]).
#[inline(always)]
pub(crate) unsafe fn hash_key<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, key: &K) -> u64 {
    fatal::freeze_if_dying();
    t.hash(key, hash0(h))
}

/// The bucket a reader must search for `hash`: the old one while it is not yet evacuated.
///
/// Readers never evacuate. This is the spot the ghost read exploits: the old bucket's first
/// tophash may already say "evacuated" while the entry has not been copied yet.
#[inline(always)]
pub(crate) unsafe fn reader_bucket<K, V>(h: *mut Hmap<K, V>, hash: u64) -> *mut Bucket<K, V> {
    let mut m = bucket_mask(b_log2(h));
    let b = bucket_at(buckets(h), hash as usize & m);
    let old = oldbuckets(h);
    if !old.is_null() {
        if !same_size_grow(h) {
            // The old array is half as large.
            m >>= 1;
        }
        let oldb = bucket_at(old, hash as usize & m);
        if !evacuated(oldb) {
            return oldb;
        }
    }
    b
}
