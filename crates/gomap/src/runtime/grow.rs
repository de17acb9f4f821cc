//! Growth: starting a grow, and evacuating old buckets a little at a time.
//!
//! Go has separate `evacuate_fast64`/`_faststr` copies that differ only in how a key is copied;
//! here monomorphisation does that, so the variants share one always-inlined body and remain
//! separate, separately breakable functions.

use std::ptr::{self, addr_of_mut, null_mut};

use super::alloc::ensure_extra;
use super::alloc::{make_bucket_array, new_overflow};
use super::{
    b_log2, bucket_at, buckets, count, elem_ptr, evacuated, extra, flags, growing, hash_key,
    is_empty, key_ptr, nevacuate, noldbuckets, oldbucket_mask, oldbuckets, over_load_factor,
    same_size_grow, set_b_log2, set_buckets, set_flags, set_nevacuate, set_noverflow,
    set_oldbuckets, set_overflow, set_top, top, Bucket, Hmap, MapType, BUCKET_CNT, EVACUATED_EMPTY,
    EVACUATED_X, ITERATOR, MIN_TOP_HASH, OLD_ITERATOR, SAME_SIZE_GROW,
};

/// Starts a grow (Go's `hashGrow`): doubles B when over the load factor, else keeps B and marks a
/// same-size grow. The current array becomes `oldbuckets`; entries move later, in `grow_work`.
// role: hash_grow
#[inline(never)]
pub unsafe fn hash_grow<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>) {
    let mut bigger = 1u8;
    if !over_load_factor(count(h) + 1, b_log2(h)) {
        bigger = 0;
        set_flags(h, flags(h) | SAME_SIZE_GROW);
    }
    let old = buckets(h);
    let (new, next_overflow) = make_bucket_array(t, b_log2(h) + bigger, null_mut());

    // Iterators over the current array now iterate over the old one.
    let mut f = flags(h) & !(ITERATOR | OLD_ITERATOR);
    if flags(h) & ITERATOR != 0 {
        f |= OLD_ITERATOR;
    }
    set_b_log2(h, b_log2(h) + bigger);
    set_flags(h, f);
    set_oldbuckets(h, old);
    set_buckets(h, new);
    // probe: grow-started
    set_nevacuate(h, 0);
    set_noverflow(h, 0);

    let e = extra(h);
    if !e.is_null() && !(*e).overflow.is_null() {
        if !(*e).oldoverflow.is_null() {
            super::fatal("oldoverflow is not nil");
        }
        (*e).oldoverflow = (*e).overflow;
        (*e).overflow = null_mut();
    }
    if !next_overflow.is_null() {
        let e = ensure_extra(t, h);
        (*e).next_overflow = next_overflow;
    }
}

/// Work a writer does on a growing map before touching `bucket` (Go's `growWork`): evacuate the
/// old bucket that `bucket` comes from, then one more at the evacuation mark.
// role: grow_work
#[inline(never)]
pub unsafe fn grow_work<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, bucket: usize) {
    grow_work_body(t, h, bucket, evacuate::<K, V>)
}

/// [`grow_work`] for maps whose writers use the `_fast64` path.
// role: grow_work
#[inline(never)]
pub unsafe fn grow_work_fast64<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, bucket: usize) {
    grow_work_body(t, h, bucket, evacuate_fast64::<K, V>)
}

/// [`grow_work`] for maps whose writers use the `_faststr` path.
// role: grow_work
#[inline(never)]
pub unsafe fn grow_work_faststr<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, bucket: usize) {
    grow_work_body(t, h, bucket, evacuate_faststr::<K, V>)
}

#[inline(always)]
unsafe fn grow_work_body<K, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    bucket: usize,
    evacuate_fn: unsafe fn(&MapType<K, V>, *mut Hmap<K, V>, usize),
) {
    evacuate_fn(t, h, bucket & oldbucket_mask(h));
    // The first evacuation may have finished the grow.
    if growing(h) {
        evacuate_fn(t, h, nevacuate(h));
    }
}

/// Moves old bucket `oldbucket` and its overflow chain into the new array (Go's `evacuate`).
// role: evacuate
#[inline(never)]
pub unsafe fn evacuate<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, oldbucket: usize) {
    evacuate_body(t, h, oldbucket)
}

/// [`evacuate`] for 8-byte keys.
// role: evacuate
#[inline(never)]
pub unsafe fn evacuate_fast64<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, oldbucket: usize) {
    evacuate_body(t, h, oldbucket)
}

/// [`evacuate`] for string keys.
// role: evacuate
#[inline(never)]
pub unsafe fn evacuate_faststr<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, oldbucket: usize) {
    evacuate_body(t, h, oldbucket)
}

/// Where evacuated entries of one half go: the current bucket and the next free slot in it.
struct EvacDst<K, V> {
    b: *mut Bucket<K, V>,
    i: usize,
}

#[inline(always)]
unsafe fn evacuate_body<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, oldbucket: usize) {
    let mut b = bucket_at(oldbuckets(h), oldbucket);
    let newbit = noldbuckets(h);
    if !evacuated(b) {
        // X is the bucket with the same index in the new array; Y (only when doubling) is
        // `oldbucket + newbit`. The hash bit `newbit` picks between them.
        // probe: evacuate-start
        let mut xy = [
            EvacDst {
                b: bucket_at(buckets(h), oldbucket),
                i: 0,
            },
            EvacDst {
                b: null_mut(),
                i: 0,
            },
        ];
        let same_size = same_size_grow(h);
        if !same_size {
            xy[1].b = bucket_at(buckets(h), oldbucket + newbit);
        }
        while !b.is_null() {
            for i in 0..BUCKET_CNT {
                let top_i = top(b, i);
                if is_empty(top_i) {
                    set_top(b, i, EVACUATED_EMPTY);
                    continue;
                }
                if top_i < MIN_TOP_HASH {
                    super::fatal("bad map state");
                }
                let k = key_ptr(b, i);
                let mut use_y = 0usize;
                if !same_size {
                    let hash = hash_key(t, h, &*k);
                    // Keys are always equal to themselves here (MapKey requires Eq), so Go's NaN
                    // branch, which uses the low tophash bit, never applies.
                    if hash as usize & newbit != 0 {
                        use_y = 1;
                    }
                }
                // The old slot says "moved" before the entry exists at its destination.
                set_top(b, i, EVACUATED_X + use_y as u8);
                // probe: evacuate-marked
                let dst = &mut xy[use_y];
                if dst.i == BUCKET_CNT {
                    dst.b = new_overflow(t, h, dst.b);
                    dst.i = 0;
                }
                set_top(dst.b, dst.i, top_i);
                ptr::copy_nonoverlapping(k, key_ptr(dst.b, dst.i), 1);
                ptr::copy_nonoverlapping(elem_ptr(b, i), elem_ptr(dst.b, dst.i), 1);
                // probe: evacuate-copied
                dst.i += 1;
            }
            b = super::overflow(b);
        }
        // Go clears the keys and elems of an evacuated old bucket whose type holds pointers,
        // and its overflow pointer (the old overflow buckets become unreachable), so that its
        // garbage collector does not keep what the entries pointed to alive twice. It cannot
        // while an iterator may still walk the old array. The tophash bytes stay: they record
        // the evacuation. The entries were moved bit for bit, so zeroing the old copies drops
        // nothing; a racing reader of this bucket now sees zeroes, as in Go.
        if flags(h) & OLD_ITERATOR == 0 && t.bucket_has_pointers {
            clear_evacuated(bucket_at(oldbuckets(h), oldbucket));
        }
    }
    if oldbucket == nevacuate(h) {
        advance_evacuation_mark(h, t, newbit);
    }
}

/// Zeroes an evacuated old bucket after its tophash bytes: keys, elems and overflow pointer.
#[inline(always)]
unsafe fn clear_evacuated<K, V>(b: *mut Bucket<K, V>) {
    let keys = addr_of_mut!((*b).keys).cast::<u8>();
    let overflow = addr_of_mut!((*b).overflow).cast::<u8>();
    ptr::write_bytes(keys, 0, overflow.offset_from(keys) as usize);
    set_overflow(b, null_mut());
}

/// Moves `nevacuate` past evacuated old buckets, at most 1024 at a time, and ends the grow when
/// all are done (Go's `advanceEvacuationMark`).
// role: advance_evacuation_mark
#[inline(never)]
pub unsafe fn advance_evacuation_mark<K, V>(h: *mut Hmap<K, V>, _t: &MapType<K, V>, newbit: usize) {
    set_nevacuate(h, nevacuate(h) + 1);
    let stop = (nevacuate(h) + 1024).min(newbit);
    while nevacuate(h) != stop && evacuated(bucket_at(oldbuckets(h), nevacuate(h))) {
        set_nevacuate(h, nevacuate(h) + 1);
    }
    if nevacuate(h) == newbit {
        // The old array stays allocated (owned by the heap) for racing readers; the map forgets it.
        set_oldbuckets(h, null_mut());
        // probe: grow-finished
        let e = extra(h);
        if !e.is_null() {
            (*e).oldoverflow = null_mut();
        }
        set_flags(h, flags(h) & !SAME_SIZE_GROW);
    }
}
