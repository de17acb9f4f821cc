//! Removing entries: Go's `mapdelete` (and fast variants) and `mapclear`.
//!
//! Deleting is a write: it takes `hashWriting` and does growth work, so a delete can evacuate.

use std::ptr::{self, null_mut};

use super::alloc::make_bucket_array;
use super::assign::writer_done;
use super::{
    b_log2, bucket_at, bucket_mask, buckets, count, elem_ptr, extra, fatal, flags, grow_work,
    grow_work_fast64, grow_work_faststr, growing, hash_key, is_empty, key_ptr, oldbuckets,
    same_str, set_count, set_flags, set_hash0, set_nevacuate, set_noverflow, set_oldbuckets,
    set_top, toggle_writing, top, tophash, Bucket, Hmap, MapType, BUCKET_CNT, EMPTY_ONE,
    EMPTY_REST, HASH_WRITING, MIN_TOP_HASH, SAME_SIZE_GROW,
};
use crate::key::{Fast64Key, FastStrKey, MapKey};

/// Removes `key` if present (Go's `mapdelete`).
// role: delete
#[inline(never)]
pub unsafe fn delete<K: MapKey, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, key: &K) {
    if h.is_null() || count(h) == 0 {
        return;
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    let hash = hash_key(t, h, key);
    // probe: writer-entry-checked
    toggle_writing(h);
    // probe: writer-set-writing
    let bucket = hash as usize & bucket_mask(b_log2(h));
    if growing(h) {
        grow_work(t, h, bucket);
    }
    let first = bucket_at(buckets(h), bucket);
    let top_hash = tophash(hash);
    // Nothing follows an empty-rest slot, so the generic search stops at the first one.
    let found = find_in_chain(first, |b, i| {
        let th = top(b, i);
        if th != top_hash {
            return if th == EMPTY_REST {
                Look::Stop
            } else {
                Look::Next
            };
        }
        Look::hit_if(*key_ptr(b, i) == *key)
    });
    if let Some((b, i)) = found {
        remove_at(t, h, first, b, i, |k| clear_key(t, k));
    }
    writer_done(h);
}

/// [`delete`] for 8-byte integer keys (Go's `mapdelete_fast64`).
// role: delete
#[inline(never)]
pub unsafe fn delete_fast64<K: Fast64Key, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, key: &K) {
    if h.is_null() || count(h) == 0 {
        return;
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    let hash = hash_key(t, h, key);
    // probe: writer-entry-checked
    toggle_writing(h);
    // probe: writer-set-writing
    let bucket = hash as usize & bucket_mask(b_log2(h));
    if growing(h) {
        grow_work_fast64(t, h, bucket);
    }
    let first = bucket_at(buckets(h), bucket);
    let bits = key.bits();
    // Go's fast search compares the key first and walks the whole chain, past empty-rest slots.
    let found = find_in_chain(first, |b, i| {
        Look::hit_if((*key_ptr(b, i)).bits() == bits && !is_empty(top(b, i)))
    });
    if let Some((b, i)) = found {
        remove_at(t, h, first, b, i, |k| clear_key(t, k));
    }
    writer_done(h);
}

/// [`delete`] for string keys (Go's `mapdelete_faststr`).
// role: delete
#[inline(never)]
pub unsafe fn delete_faststr<K: FastStrKey, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, key: &K) {
    if h.is_null() || count(h) == 0 {
        return;
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    let hash = hash_key(t, h, key);
    // probe: writer-entry-checked
    toggle_writing(h);
    // probe: writer-set-writing
    let bucket = hash as usize & bucket_mask(b_log2(h));
    if growing(h) {
        grow_work_faststr(t, h, bucket);
    }
    let first = bucket_at(buckets(h), bucket);
    let top_hash = tophash(hash);
    let wanted = key.as_str();
    // Length and tophash first, then the bytes; the whole chain, past empty-rest slots.
    let found = find_in_chain(first, |b, i| {
        let (data, len) = K::header(key_ptr(b, i));
        if len != wanted.len() || top(b, i) != top_hash {
            return Look::Next;
        }
        Look::hit_if(same_str(data, len, wanted))
    });
    if let Some((b, i)) = found {
        remove_at(t, h, first, b, i, |k: *mut K| {
            t.drop_key(ptr::read(k));
            K::nil_data(k);
        });
    }
    writer_done(h);
}

/// What a search makes of one slot.
enum Look {
    /// Not this slot; go on.
    Next,
    /// This slot holds the key.
    Hit,
    /// The key is not in the chain.
    Stop,
}

impl Look {
    #[inline(always)]
    fn hit_if(hit: bool) -> Look {
        if hit {
            Look::Hit
        } else {
            Look::Next
        }
    }
}

/// Walks the chain from `first`, slot by slot, until `look` says hit or stop.
#[inline(always)]
unsafe fn find_in_chain<K, V>(
    first: *mut Bucket<K, V>,
    look: impl Fn(*mut Bucket<K, V>, usize) -> Look,
) -> Option<(*mut Bucket<K, V>, usize)> {
    let mut b = first;
    while !b.is_null() {
        for i in 0..BUCKET_CNT {
            match look(b, i) {
                Look::Next => {}
                Look::Hit => return Some((b, i)),
                Look::Stop => return None,
            }
        }
        b = super::overflow(b);
    }
    None
}

/// Drops a deleted key (see [`MapType::drop_key`]), then zeroes it if it holds pointers, as Go
/// clears only such keys.
#[inline(always)]
unsafe fn clear_key<K: MapKey, V>(t: &MapType<K, V>, k: *mut K) {
    t.drop_key(ptr::read(k));
    if K::HAS_POINTERS {
        ptr::write_bytes(k, 0, 1);
    }
}

/// Removes the entry in slot `i` of `b` (in the chain from `first`): clears its key with
/// `clear_key`, drops and zeroes its elem (Go zeroes every deleted elem, so a racing reader of
/// the slot sees zero, not the old value), marks it empty, turns a trailing run of `EMPTY_ONE`
/// into `EMPTY_REST` so later searches stop early, and counts it.
#[inline(always)]
unsafe fn remove_at<K, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    first: *mut Bucket<K, V>,
    b: *mut Bucket<K, V>,
    i: usize,
    clear_key: impl FnOnce(*mut K),
) {
    clear_key(key_ptr(b, i));
    let e = elem_ptr(b, i);
    ptr::drop_in_place(e);
    ptr::write_bytes(e, 0, 1);
    set_top(b, i, EMPTY_ONE);
    mark_empty_rest(first, b, i);
    set_count(h, count(h) - 1);
    // probe: delete-removed
    if count(h) == 0 {
        // A fresh seed makes collisions harder to provoke repeatedly (as in Go).
        set_hash0(h, t.rng.next_u32());
    }
}

/// After slot `i` of bucket `b` became empty: if nothing live follows it, walk backwards through
/// the chain starting at `first`, turning `EMPTY_ONE` slots into `EMPTY_REST`.
#[inline(always)]
unsafe fn mark_empty_rest<K, V>(first: *mut Bucket<K, V>, mut b: *mut Bucket<K, V>, mut i: usize) {
    let next_is_rest = if i == BUCKET_CNT - 1 {
        let ovf = super::overflow(b);
        ovf.is_null() || top(ovf, 0) == EMPTY_REST
    } else {
        top(b, i + 1) == EMPTY_REST
    };
    if !next_is_rest {
        return;
    }
    loop {
        set_top(b, i, EMPTY_REST);
        if i == 0 {
            if b == first {
                return;
            }
            // Step back to the bucket before `b` in the chain, at its last slot.
            let c = b;
            b = first;
            while super::overflow(b) != c {
                b = super::overflow(b);
            }
            i = BUCKET_CNT - 1;
        } else {
            i -= 1;
        }
        if top(b, i) != EMPTY_ONE {
            return;
        }
    }
}

/// Removes every entry, keeping the bucket array (Go's `mapclear`).
// role: clear
#[inline(never)]
pub unsafe fn clear<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>) {
    if h.is_null() || count(h) == 0 {
        return;
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    toggle_writing(h);
    // probe: writer-set-writing
    drop_live_entries(t, h);
    set_flags(h, flags(h) & !SAME_SIZE_GROW);
    set_oldbuckets(h, null_mut());
    set_nevacuate(h, 0);
    set_noverflow(h, 0);
    set_count(h, 0);
    set_hash0(h, t.rng.next_u32());
    let e = extra(h);
    if !e.is_null() {
        // The lists and spare buckets stay owned by the heap; the map forgets them.
        (*e).overflow = null_mut();
        (*e).oldoverflow = null_mut();
        (*e).next_overflow = null_mut();
    }
    let (_, next_overflow) = make_bucket_array(t, b_log2(h), buckets(h));
    if !next_overflow.is_null() {
        (*extra(h)).next_overflow = next_overflow;
    }
    writer_done(h);
}

/// Drops every live entry: those in the current array and those not yet evacuated from the old
/// one. Evacuated old slots were moved, so they are skipped. Keys go through
/// [`MapType::drop_key`], since an iterator may still read stale copies of them.
pub(crate) unsafe fn drop_live_entries<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>) {
    if !std::mem::needs_drop::<K>() && !std::mem::needs_drop::<V>() {
        return;
    }
    let b = b_log2(h);
    let old = oldbuckets(h);
    if !old.is_null() {
        let n = if flags(h) & SAME_SIZE_GROW != 0 {
            1usize << b
        } else {
            1usize << (b - 1)
        };
        drop_array(t, old, n);
    }
    if !buckets(h).is_null() {
        drop_array(t, buckets(h), 1usize << b);
    }
}

unsafe fn drop_array<K, V>(t: &MapType<K, V>, array: *mut Bucket<K, V>, n: usize) {
    for bi in 0..n {
        let mut b = bucket_at(array, bi);
        while !b.is_null() {
            for i in 0..BUCKET_CNT {
                if top(b, i) >= MIN_TOP_HASH {
                    t.drop_key(ptr::read(key_ptr(b, i)));
                    ptr::drop_in_place(elem_ptr(b, i));
                    set_top(b, i, EMPTY_ONE);
                }
            }
            b = super::overflow(b);
        }
    }
}
