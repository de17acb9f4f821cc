//! Go 1.19's map runtime, rewritten in Rust with Go's memory layout, so that debuggers and tests
//! can study map races on a program whose every step is known.
//!
//! # The data structure
//!
//! A map is a header ([`runtime::Hmap`]) pointing at an array of `2^B` buckets. A key's hash picks
//! its bucket with its low `B` bits; its top byte, the *tophash*, is kept per slot so that a search
//! compares keys only where the byte matches. A bucket holds 8 slots (8 tophash bytes, then 8 keys,
//! then 8 elems) and a pointer to an overflow bucket; the chain of overflow buckets is part of the
//! same bucket.
//!
//! Tophash values below 5 are states, not hashes: `0` empty and nothing later in the chain, `1`
//! empty, `2`/`3` moved to the low (X) / high (Y) half of the new array, `4` empty when evacuated.
//! A live slot's tophash is the hash's top byte, raised by 5 if it is below 5.
//!
//! # Invariants
//!
//! - `count` is the number of live slots, counted over the new array and the old buckets that are
//!   not evacuated yet.
//! - A slot marked `0` (empty-rest) is followed, in its bucket and the rest of its chain, by
//!   nothing but `0` slots.
//! - The map is growing exactly while `oldbuckets` is non-null. During a doubling grow the old
//!   array has `2^(B-1)` buckets and old bucket `i` splits into new buckets `i` (X) and
//!   `i + 2^(B-1)` (Y); during a same-size grow (flag `sameSizeGrow`, started when there are about
//!   as many overflow buckets as buckets) old bucket `i` compacts into new bucket `i`.
//! - An old bucket is evacuated whole: after `evacuate` every slot of its chain holds 2, 3 or 4;
//!   before, none does. Readers test only the first slot, and `evacuate` marks each slot *before*
//!   copying its entry, so a racing reader can conclude "evacuated" while the entry is not at its
//!   destination yet (the ghost read).
//! - Old buckets below `nevacuate` are all evacuated; `nevacuate` only grows; when it reaches the
//!   old bucket count the grow ends: `oldbuckets` becomes null and `sameSizeGrow` is cleared.
//! - Only writers (assign, delete, clear) move entries, at most two old buckets per write: the one
//!   the write needs and the one at `nevacuate`. Readers never evacuate.
//! - A grow starts when an insert misses and either `count + 1 > 6.5 * 2^B` (with more than 8
//!   entries) or there are at least `2^min(B, 15)` overflow buckets.
//! - `hashWriting` is set (by XOR) by a writer after it checks the flag is clear, and checked again
//!   before it is cleared. Readers check it once at entry; iterators at every step. A failed check
//!   calls [`runtime::fatal`], which prints `fatal error: <message>` and exits with status 2.
//!
//! # Roles
//!
//! Every function a debugger needs to stop on is a free function in [`runtime`], never inlined:
//!
//! | Go | here |
//! | --- | --- |
//! | `mapassign`, `_fast64`, `_faststr` | [`runtime::assign`], [`runtime::assign_fast64`], [`runtime::assign_faststr`] |
//! | `mapaccess1`/`2` and fast variants | [`runtime::access1`], [`runtime::access2`], `access{1,2}_fast{64,str}` |
//! | `mapdelete` and fast variants | [`runtime::delete`], [`runtime::delete_fast64`], [`runtime::delete_faststr`] |
//! | `mapclear` | [`runtime::clear`] |
//! | `mapiterinit`, `mapiternext` | [`runtime::iter_init`], [`runtime::iter_next`] |
//! | `hashGrow`, `growWork*`, `evacuate*` | [`runtime::hash_grow`], `grow_work*`, `evacuate*` |
//! | `advanceEvacuationMark` | [`runtime::advance_evacuation_mark`] |
//! | `fatal` | [`runtime::fatal`] |
//!
//! Generic role functions exist once per key and elem type. The map type picks the family, as
//! Go's compiler does: `i64`, `u64`, `isize`, `usize` and `[u8; 8]` keys use `_fast64`,
//! `&'static str` keys (Go's string header: data pointer and length) `_faststr`, all others the
//! generic functions; and any key does when the elem is an [`Indirect`], which stands for an elem
//! over 128 bytes. [`MapKey`] lists which Go key each Rust key type stands for.
//!
//! # Hashing
//!
//! A key's default hash ([`MapKey::go_hash`]) is Go's fallback hash ([`hash`]), the wyhash-style
//! function Go's runtime uses on CPUs without AES instructions, applied to the bytes Go would
//! hash for the same key: integers by their little-endian bytes, strings by their bytes, pairs
//! field after field. Go itself hashes with AES on x86-64, so the bucket of a given key differs
//! from Go's, but the spread over buckets, and with it the overflow buckets and the same-size
//! grows, is Go's. [`Map::with_hasher`] takes any other hash, for instance the hashes a Go
//! program computed, which reproduces Go's map exactly (see `tests/against_go.rs`).
//!
//! Named *probe points* mark the moments a debugger wants to stop at, as comments
//! `// probe: NAME` in the source on the line before the statement: `writer-entry-checked`,
//! `writer-set-writing`, `writer-end-check`, `reader-entry-checked`, `iter-entry-checked`,
//! `grow-started`, `grow-finished`, `evacuate-start` (only when the bucket really is evacuated
//! now, not when `evacuate` finds it done), `evacuate-marked`, `evacuate-copied`,
//! `delete-removed`.
//!
//! # Races on purpose
//!
//! [`Map`] is `Sync`, like a Go map can be shared between goroutines, so programs can misuse it
//! the way Go programs do. The header's fields and the tophash bytes are read and written as
//! relaxed atomics: plain moves on x86-64, but the optimizer may not assume it owns them, so every
//! check really reads memory and racing threads see each other's stores as Go's do. The
//! `hashWriting` toggle is a load and a store, not an atomic XOR, so two writers can cancel each
//! other's toggle exactly as in Go. Keys and elems are copied through raw pointers without
//! synchronisation: unsynchronised use is a data race in Rust's memory model, acceptable for these
//! fixtures only. Memory is never freed while the map lives (see `runtime::Heap`), so a racing
//! reader reads stale memory, never freed memory, as under Go's garbage collector.
//!
//! # Checked against Go
//!
//! `tests/against_go.rs` runs workloads on a real Go 1.19 map (`fixtures/go/mapdiff`) and replays
//! them on gomap with the hashes Go computed: after every operation the header must be Go's, and
//! the bucket bytes must be Go's in the middle of grows and at the end, for `_fast64`,
//! `_faststr` and generic keys, through B = 16 and dozens of same-size grows. It also checks the
//! default hash against Go's fallback hash bit for bit; `tests/hash_quality.rs` checks that it
//! spreads keys like Go's own hash.
//!
//! # Differences from Go
//!
//! What a debugger or a racing thread can see differently, and why:
//!
//! - The value is stored by `assign` itself, right after the end check and the clearing of
//!   `hashWriting`, where Go's compiled caller stores it through the pointer `mapassign` returns:
//!   the window in which a racing reader finds a new key with a zero value is Go's. For an
//!   [`Indirect`] elem Go publishes the pointer before the tophash and fills the pointed-to
//!   value after the call; here the pointer (to an already filled value) is stored last, since a
//!   Rust value cannot be allocated empty and filled later.
//! - Keys and elems over 128 bytes are refused at compile time; wrap them in [`Indirect`], which
//!   is the pointer Go would store.
//! - 4-byte keys take the generic path (Go has `_fast32`): a `_fast32` family would be one more
//!   copy of every fast function for keys the fixtures do not use.
//! - `String` keys are not Go strings: a `String` is three words, so `Map<String, V>` has
//!   Go's layout and functions for a three-word struct key (generic), not `map[string]V`'s; use
//!   `&'static str` keys for those.
//! - Whether a bucket holds pointers (which decides whether evacuated old buckets are cleared and
//!   whether overflow buckets are listed in `extra.overflow`) is known for keys
//!   ([`MapKey::HAS_POINTERS`]) but guessed for elems: an elem that needs drop counts as holding
//!   pointers, a plain reference (`&T`, `*const T`) does not.
//! - Go's garbage collector frees what a removed key points to once nothing reaches it. Here a
//!   key that owns memory (`String`, `Box`, [`Indirect`]) and is replaced by an update, deleted
//!   or cleared while an iterator on the map is alive is kept, unused, until the last such
//!   iterator is dropped: an old bucket the iterator walks may hold a copy of it, which the
//!   iterator hashes and compares to find where the entry moved (Go's `mapaccessK`). Without
//!   a live iterator it is dropped at once.
//! - `extra.overflow` points at a `Mutex<Vec<_>>`, not at Go's slice header: racing writers must
//!   not corrupt the Rust heap.
//! - The bucket's elem array is named `elems`; Go's DWARF calls it `values`. mapscope's profile
//!   reads gomap buckets by the name `elems` (and gives both the same canonical field), so a
//!   rename has to change the profile reader with it.
//! - A bucket array is allocated with room for twice its buckets, zeroed, so that a writer that
//!   races with `hash_grow` and indexes the old array with the new B writes into memory the map
//!   owns instead of the allocator's. The map's own fields (B, the preallocated overflow buckets
//!   and `nextOverflow`) are Go's; only memory past the end differs.
//! - The header is always on the heap and the first bucket is allocated by the first insert. Go's
//!   compiler can place the header and the first bucket of a map that does not escape in the
//!   creating function's stack frame, so a debugger finds them there in Go.
//! - The random numbers differ: the hash (Go hashes with AES; see "Hashing"), a new `hash0` after
//!   the map becomes empty or is cleared, the iterator's starting point, and the sampling of
//!   `noverflow` above B = 15 all come from gomap's seeded source instead of Go's `fastrand`.
//!
//! # Example
//!
//! ```
//! let m = gomap::Map::<i64, i64>::with_seed(0, 42);
//! for k in 0..100 {
//!     m.insert(k, k * 10);
//! }
//! assert_eq!(m.get(&7), Some(70));
//! m.remove(&7);
//! assert_eq!(m.len(), 99);
//! assert_eq!(m.iter().count(), 99);
//! ```

// Every program that links gomap carries mapscope's gdb loader, so that
// `gdb -iex 'add-auto-load-safe-path .' PROGRAM` has the hmap commands and the printer.
#![debugger_visualizer(gdb_script_file = "../../../gdb-scripts/autoload.py")]

pub mod hash;
mod invariants;
mod key;
pub mod runtime;

use std::ptr::null_mut;

pub use invariants::InvariantError;
pub use key::{hash_bytes, hash_u64, Fast64Key, FastStrKey, Indirect, MapKey};
use runtime::{Hiter, Hmap, MapType};

/// A Go map from `K` to `V`: a pointer to a header, and the map's type.
pub struct Map<K, V> {
    /// The header, boxed so that its address is stable for debuggers and watchpoints.
    hmap: *mut Hmap<K, V>,
    /// Hasher, random source and owner of the buckets.
    maptype: MapType<K, V>,
}

// A map can be shared and misused like a Go map; see "Races on purpose" in the crate docs.
unsafe impl<K: Send, V: Send> Send for Map<K, V> {}
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for Map<K, V> {}

impl<K: MapKey, V> Map<K, V> {
    /// An empty map with a random seed.
    pub fn new() -> Self {
        Self::with_seed(0, random_seed())
    }

    /// An empty map sized for `hint` entries, with a random seed.
    pub fn with_capacity(hint: usize) -> Self {
        Self::with_seed(hint, random_seed())
    }

    /// An empty map sized for `hint` entries whose hash seed (`hash0`) is `seed`, so that runs
    /// repeat exactly.
    pub fn with_seed(hint: usize, seed: u32) -> Self {
        Self::with_hasher(hint, seed, K::go_hash)
    }

    /// Like [`Map::with_seed`] with a chosen hash function, to put keys in chosen buckets.
    pub fn with_hasher(hint: usize, seed: u32, hasher: fn(&K, u32) -> u64) -> Self {
        const {
            assert!(
                std::mem::size_of::<K>() <= runtime::MAX_KEY_SIZE,
                "keys over 128 bytes are stored indirectly: use gomap::Indirect<K>"
            );
            assert!(
                std::mem::size_of::<V>() <= runtime::MAX_ELEM_SIZE,
                "elems over 128 bytes are stored indirectly: use gomap::Indirect<V>"
            );
            assert!(
                std::mem::align_of::<K>() <= 8 && std::mem::align_of::<V>() <= 8,
                "Go buckets align keys and elems to at most 8 bytes"
            );
        }
        let maptype = MapType::new(hasher, u64::from(seed));
        let hmap = Box::into_raw(Box::new(Hmap {
            count: 0,
            flags: 0,
            B: 0,
            noverflow: 0,
            hash0: seed,
            buckets: null_mut(),
            oldbuckets: null_mut(),
            nevacuate: 0,
            extra: null_mut(),
        }));
        // SAFETY: `hmap` is a fresh, exclusively owned header.
        unsafe { runtime::make_map(&maptype, hmap, hint) };
        Map { hmap, maptype }
    }

    /// Sets `key` to `value`.
    pub fn insert(&self, key: K, value: V) {
        // SAFETY: the header lives as long as `self`.
        unsafe { K::assign(&self.maptype, self.hmap, key, value) }
    }

    /// The value of `key`, if present (Go's `v, ok := m[k]`).
    pub fn get(&self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        // SAFETY: the header lives as long as `self`; a found elem pointer points at a live slot.
        unsafe {
            let (elem, found) = K::access2(&self.maptype, self.hmap, key);
            found.then(|| (*elem).clone())
        }
    }

    /// The value of `key`, or `V::default()` (Go's `v := m[k]`).
    pub fn get_or_zero(&self, key: &K) -> V
    where
        V: Clone + Default,
    {
        // SAFETY: as for `get`.
        unsafe {
            let elem = K::access1(&self.maptype, self.hmap, key);
            if elem.is_null() {
                V::default()
            } else {
                (*elem).clone()
            }
        }
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        // SAFETY: the header lives as long as `self`.
        unsafe { K::access2(&self.maptype, self.hmap, key).1 }
    }

    /// Removes `key` if present (Go's `delete(m, k)`).
    pub fn remove(&self, key: &K) {
        // SAFETY: the header lives as long as `self`.
        unsafe { K::delete(&self.maptype, self.hmap, key) }
    }

    /// Removes every entry (Go's `clear(m)`, `mapclear`).
    pub fn clear(&self) {
        // SAFETY: the header lives as long as `self`.
        unsafe { runtime::clear(&self.maptype, self.hmap) }
    }

    /// An iterator over clones of the entries, in Go's randomised order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            map: self,
            hiter: Hiter::new(),
            started: false,
            done: false,
        }
    }

    /// Checks the structural invariants listed in the crate docs; see [`InvariantError`].
    pub fn check_invariants(&self) -> Result<(), InvariantError>
    where
        K: std::hash::Hash,
    {
        // SAFETY: the header lives as long as `self`.
        unsafe { invariants::check(&self.maptype, self.hmap) }
    }
}

/// Inspection, for any key type.
impl<K, V> Map<K, V> {
    /// Number of entries (Go's `len(m)`: reads `count`).
    pub fn len(&self) -> usize {
        // SAFETY: the header lives as long as `self`.
        unsafe { runtime::count(self.hmap) as usize }
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The header's address, for debuggers and for printing.
    pub fn header(&self) -> *const Hmap<K, V> {
        self.hmap
    }

    /// A copy of the header's scalar fields.
    pub fn stats(&self) -> Stats {
        // SAFETY: the header lives as long as `self`.
        unsafe {
            let h = self.hmap;
            Stats {
                count: runtime::count(h) as usize,
                flags: runtime::flags(h),
                b: runtime::b_log2(h),
                noverflow: runtime::noverflow(h),
                growing: runtime::growing(h),
                nevacuate: runtime::nevacuate(h),
            }
        }
    }
}

impl<K: MapKey, V> Default for Map<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Drop for Map<K, V> {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no other user; entries are dropped once, then the header.
        // Bucket memory is released by the heap inside `maptype`.
        unsafe {
            runtime::drop_live_entries(&self.maptype, self.hmap);
            drop(Box::from_raw(self.hmap));
        }
    }
}

/// Header fields at one moment (see [`Map::stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Live entries.
    pub count: usize,
    /// Flag bits.
    pub flags: u8,
    /// log2 of the bucket count.
    pub b: u8,
    /// Overflow buckets (approximate above B = 15).
    pub noverflow: u16,
    /// Whether `oldbuckets` is set.
    pub growing: bool,
    /// Evacuation mark.
    pub nevacuate: usize,
}

/// Iterator returned by [`Map::iter`].
pub struct Iter<'a, K, V> {
    map: &'a Map<K, V>,
    hiter: Hiter<K, V>,
    started: bool,
    done: bool,
}

impl<K: MapKey, V: Clone> Iterator for Iter<'_, K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        if self.done {
            return None;
        }
        // SAFETY: the map outlives the iterator; `hiter` was started on it.
        unsafe {
            if self.started {
                runtime::iter_next(&mut self.hiter);
            } else {
                self.started = true;
                runtime::iter_init(&self.map.maptype, self.map.hmap, &mut self.hiter);
            }
            if self.hiter.key.is_null() {
                self.done = true;
                return None;
            }
            Some(((*self.hiter.key).clone(), (*self.hiter.elem).clone()))
        }
    }
}

/// A seed from the operating system's randomness (through std's `RandomState`).
fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish() as u32
}
