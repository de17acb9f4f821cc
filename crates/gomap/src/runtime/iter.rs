//! Iteration: Go's `hiter`, `mapiterinit` and `mapiternext`.
//!
//! An iterator walks the bucket array it saw at `iter_init`, starting at a random bucket and a
//! random slot offset. If the map grows meanwhile, it keeps walking the array it started on, and
//! for entries that have since moved it asks the map where they are now (`access_k`). While an old
//! bucket is not evacuated yet, it reads the old bucket but returns only the entries bound for the
//! new bucket it is visiting. Every step checks for a concurrent writer.

use std::ptr::null_mut;

use super::alloc::create_overflow;
use super::{
    access_k, b_log2, bucket_at, bucket_mask, bucket_shift, buckets, count, elem_ptr, evacuated,
    fatal, flags, growing, hash_key, is_empty, key_ptr, oldbucket_mask, oldbuckets, or_flags,
    same_size_grow, top, Bucket, Hmap, MapType, OverflowList, BUCKET_CNT, EVACUATED_EMPTY,
    EVACUATED_X, EVACUATED_Y, HASH_WRITING, ITERATOR, NO_CHECK, OLD_ITERATOR,
};

/// An iteration in progress (Go's `hiter`, twelve words).
#[repr(C)]
#[allow(non_snake_case)]
pub struct Hiter<K, V> {
    /// Current key; null when the iteration is over.
    pub key: *const K,
    /// Current elem.
    pub elem: *const V,
    /// The map's type.
    pub t: *const MapType<K, V>,
    /// The map.
    pub h: *mut Hmap<K, V>,
    /// The bucket array at `iter_init`.
    pub buckets: *mut Bucket<K, V>,
    /// Bucket being walked.
    pub bptr: *mut Bucket<K, V>,
    /// Overflow list of `buckets` at `iter_init`.
    pub overflow: *mut OverflowList<K, V>,
    /// Overflow list of `oldbuckets` at `iter_init`.
    pub oldoverflow: *mut OverflowList<K, V>,
    /// First bucket visited.
    pub start_bucket: usize,
    /// Slot offset applied in every bucket.
    pub offset: u8,
    /// Whether the walk has wrapped past the last bucket.
    pub wrapped: bool,
    /// B at `iter_init`.
    pub B: u8,
    /// Next slot in `bptr`.
    pub i: u8,
    /// Next bucket index to visit.
    pub bucket: usize,
    /// New bucket whose entries are being picked out of an unevacuated old bucket, or NO_CHECK.
    pub check_bucket: usize,
}

impl<K, V> Hiter<K, V> {
    /// An iterator not yet started.
    pub fn new() -> Self {
        Hiter {
            key: std::ptr::null(),
            elem: std::ptr::null(),
            t: std::ptr::null(),
            h: null_mut(),
            buckets: null_mut(),
            bptr: null_mut(),
            overflow: null_mut(),
            oldoverflow: null_mut(),
            start_bucket: 0,
            offset: 0,
            wrapped: false,
            B: 0,
            i: 0,
            bucket: 0,
            check_bucket: 0,
        }
    }
}

impl<K, V> Default for Hiter<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// A started iterator counts as live for its map until it is dropped: the map keeps the keys it
/// removes meanwhile, since the iterator may still read stale copies of them (see
/// `MapType::drop_key`).
impl<K, V> Drop for Hiter<K, V> {
    fn drop(&mut self) {
        if !self.t.is_null() {
            // SAFETY: `iter_init` requires the map's type to outlive the iterator.
            unsafe { (*self.t).iterator_ended() };
        }
    }
}

/// Starts iterating over `h` and moves to the first entry (Go's `mapiterinit`).
///
/// Besides the module's contract: `it` is a new iterator, started once, and `t` outlives it
/// (dropping it tells `t` that the iteration is over).
// role: iter_init
#[inline(never)]
pub unsafe fn iter_init<K: Eq, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, it: &mut Hiter<K, V>) {
    debug_assert!(it.t.is_null(), "an iterator is started once");
    it.t = t;
    t.iterator_started();
    if h.is_null() || count(h) == 0 {
        return;
    }
    it.h = h;
    it.B = b_log2(h);
    it.buckets = buckets(h);
    if !t.bucket_has_pointers {
        // Go's iterator holds the overflow lists of pointer-free buckets, so that its garbage
        // collector keeps them while the iteration runs; it makes the current list for that.
        let e = create_overflow(t, h);
        it.overflow = (*e).overflow;
        it.oldoverflow = (*e).oldoverflow;
    }

    let r = if it.B > 31 - super::BUCKET_CNT_BITS {
        t.rng.next_u64() as usize
    } else {
        t.rng.next_u32() as usize
    };
    it.start_bucket = r & bucket_mask(it.B);
    it.offset = ((r >> it.B) & (BUCKET_CNT - 1)) as u8;
    it.bucket = it.start_bucket;

    // An atomic OR, as in Go: iterators may start while a writer holds `hashWriting`, and a
    // load-then-store here could resurrect or erase that bit.
    if flags(h) & (ITERATOR | OLD_ITERATOR) != ITERATOR | OLD_ITERATOR {
        or_flags(h, ITERATOR | OLD_ITERATOR);
    }
    iter_next(it);
}

/// Moves `it` to the next entry, or sets `it.key` to null at the end (Go's `mapiternext`).
// role: iterate
#[inline(never)]
pub unsafe fn iter_next<K: Eq, V>(it: &mut Hiter<K, V>) {
    let h = it.h;
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map iteration and map write");
    }
    // probe: iter-entry-checked
    let t = &*it.t;
    let mut bucket = it.bucket;
    let mut b = it.bptr;
    let mut i = it.i as usize;
    let mut check_bucket = it.check_bucket;

    loop {
        if b.is_null() {
            if bucket == it.start_bucket && it.wrapped {
                it.key = std::ptr::null();
                it.elem = std::ptr::null();
                return;
            }
            if growing(h) && it.B == b_log2(h) {
                // Started during this grow and it is not over: an old bucket that is not yet
                // evacuated holds the entries of this new bucket (and of its sibling).
                let oldbucket = bucket & oldbucket_mask(h);
                b = bucket_at(oldbuckets(h), oldbucket);
                if !evacuated(b) {
                    check_bucket = bucket;
                } else {
                    b = bucket_at(it.buckets, bucket);
                    check_bucket = NO_CHECK;
                }
            } else {
                b = bucket_at(it.buckets, bucket);
                check_bucket = NO_CHECK;
            }
            bucket += 1;
            if bucket == bucket_shift(it.B) {
                bucket = 0;
                it.wrapped = true;
            }
            i = 0;
        }
        while i < BUCKET_CNT {
            let offi = (i + it.offset as usize) & (BUCKET_CNT - 1);
            let th = top(b, offi);
            if is_empty(th) || th == EVACUATED_EMPTY {
                i += 1;
                continue;
            }
            let k = key_ptr(b, offi);
            if check_bucket != NO_CHECK && !same_size_grow(h) {
                // Reading an unevacuated old bucket during a doubling: skip entries that belong
                // to the sibling new bucket. Keys equal themselves (Eq), so the hash decides.
                let hash = hash_key(t, h, &*k);
                if hash as usize & bucket_mask(it.B) != check_bucket {
                    i += 1;
                    continue;
                }
            }
            if th != EVACUATED_X && th != EVACUATED_Y {
                // The entry is where the iterator found it.
                it.key = k;
                it.elem = elem_ptr(b, offi);
            } else {
                // The map has grown since this iteration began; the entry lives elsewhere now,
                // or was deleted.
                match access_k(t, h, &*k) {
                    None => {
                        i += 1;
                        continue;
                    }
                    Some((rk, re)) => {
                        it.key = rk;
                        it.elem = re;
                    }
                }
            }
            it.bucket = bucket;
            it.bptr = b;
            it.i = (i + 1) as u8;
            it.check_bucket = check_bucket;
            return;
        }
        b = super::overflow(b);
        i = 0;
    }
}
