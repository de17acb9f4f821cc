//! Writing an entry: Go's `mapassign` and its `_fast64` and `_faststr` specialisations.
//!
//! The order of the stores is Go's, because it decides what a racing reader or a debugger sees
//! in between:
//!
//! - a new entry: the generic function writes the key, then the tophash (which makes the slot
//!   live), then counts it; the fast ones write the tophash first, then the key, then count;
//! - an existing key: the generic function rewrites it only for key types whose equal values
//!   can differ in bytes (Go's `needkeyupdate`, [`MapKey::NEEDS_KEY_UPDATE`]), `_faststr`
//!   always rewrites it (a new data pointer), `_fast64` never does;
//! - then the end check and the clearing of `hashWriting`;
//! - the value last. Go's `mapassign` returns a pointer to the elem slot and the compiled
//!   caller stores the value through it after the call, when `hashWriting` is already clear;
//!   here `assign` stores it itself, at that same moment. So, as in Go, a reader racing with
//!   an insert can find the key with a zero value (new slots are always zeroed).

use std::ptr;

use super::alloc::{new_bucket_array, new_overflow};
use super::{
    b_log2, bucket_at, bucket_mask, buckets, clear_writing, count, elem_ptr, fatal, flags,
    grow_work, grow_work_fast64, grow_work_faststr, growing, hash_grow, hash_key, is_empty,
    key_ptr, noverflow, over_load_factor, same_str, set_buckets, set_count, set_top,
    toggle_writing, too_many_overflow_buckets, top, tophash, Bucket, Hmap, MapType, BUCKET_CNT,
    EMPTY_REST, HASH_WRITING,
};
use crate::key::{Fast64Key, FastStrKey, MapKey};

/// Where an entry goes: an existing slot with an equal key, or a free slot.
enum Slot<K, V> {
    Existing(*mut Bucket<K, V>, usize),
    Free(*mut Bucket<K, V>, usize),
}

// Not derived: a derive would demand `K: Copy`, but only the pointers are copied.
impl<K, V> Clone for Slot<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for Slot<K, V> {}

/// Sets `key` to `value` (Go's `mapassign`).
// role: assign
#[inline(never)]
pub unsafe fn assign<K: MapKey, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, key: K, value: V) {
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    let hash = hash_key(t, h, &key);
    // probe: writer-entry-checked
    toggle_writing(h);
    // probe: writer-set-writing
    if buckets(h).is_null() {
        set_buckets(h, new_bucket_array(t, 1));
    }
    let top_hash = tophash(hash);
    let slot = loop {
        let bucket = hash as usize & bucket_mask(b_log2(h));
        if growing(h) {
            grow_work(t, h, bucket);
        }
        let (slot, last) = find_slot(bucket_at(buckets(h), bucket), top_hash, |k| *k == key);
        if let Some(existing @ Slot::Existing(..)) = slot {
            break existing;
        }
        if start_grow_if_needed(t, h) {
            continue; // Growing moved everything: search again.
        }
        break slot.unwrap_or_else(|| Slot::Free(new_overflow(t, h, last), 0));
    };
    match slot {
        Slot::Existing(b, i) => {
            if let Some(old) = K::update_key(key_ptr(b, i), key) {
                t.drop_key(old);
            }
        }
        Slot::Free(b, i) => {
            ptr::write(key_ptr(b, i), key);
            set_top(b, i, top_hash);
            set_count(h, count(h) + 1);
        }
    }
    finish(h, slot, value);
}

/// [`assign`] for 8-byte keys compared as integers (Go's `mapassign_fast64`).
// role: assign
#[inline(never)]
pub unsafe fn assign_fast64<K: Fast64Key, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: K,
    value: V,
) {
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    let hash = hash_key(t, h, &key);
    // probe: writer-entry-checked
    toggle_writing(h);
    // probe: writer-set-writing
    if buckets(h).is_null() {
        set_buckets(h, new_bucket_array(t, 1));
    }
    let bits = key.bits();
    let slot = loop {
        let bucket = hash as usize & bucket_mask(b_log2(h));
        if growing(h) {
            grow_work_fast64(t, h, bucket);
        }
        // Unlike the generic path, a slot matches on the key alone: tophash is not compared.
        let mut b = bucket_at(buckets(h), bucket);
        let mut found = None;
        let mut free = None;
        'chain: loop {
            for i in 0..BUCKET_CNT {
                let th = super::top(b, i);
                if is_empty(th) {
                    free = free.or(Some((b, i)));
                    if th == EMPTY_REST {
                        break 'chain;
                    }
                    continue;
                }
                if (*key_ptr(b, i)).bits() == bits {
                    found = Some(Slot::Existing(b, i));
                    break 'chain;
                }
            }
            let ovf = super::overflow(b);
            if ovf.is_null() {
                break;
            }
            b = ovf;
        }
        if let Some(existing) = found {
            break existing;
        }
        if start_grow_if_needed(t, h) {
            continue;
        }
        break match free {
            Some((fb, fi)) => Slot::Free(fb, fi),
            None => Slot::Free(new_overflow(t, h, b), 0),
        };
    };
    // An equal 8-byte key has the same bytes: nothing to rewrite.
    if let Slot::Free(b, i) = slot {
        set_top(b, i, tophash(hash));
        ptr::write(key_ptr(b, i), key);
        set_count(h, count(h) + 1);
    }
    finish(h, slot, value);
}

/// [`assign`] for string keys (Go's `mapassign_faststr`).
// role: assign
#[inline(never)]
pub unsafe fn assign_faststr<K: FastStrKey, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: K,
    value: V,
) {
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map writes");
    }
    let hash = hash_key(t, h, &key);
    // probe: writer-entry-checked
    toggle_writing(h);
    // probe: writer-set-writing
    if buckets(h).is_null() {
        set_buckets(h, new_bucket_array(t, 1));
    }
    let top_hash = tophash(hash);
    let wanted = key.as_str();
    let slot = loop {
        let bucket = hash as usize & bucket_mask(b_log2(h));
        if growing(h) {
            grow_work_faststr(t, h, bucket);
        }
        let (slot, last) = find_slot(bucket_at(buckets(h), bucket), top_hash, |k: &K| {
            let (data, len) = K::header(k);
            same_str(data, len, wanted)
        });
        if let Some(existing @ Slot::Existing(..)) = slot {
            break existing;
        }
        if start_grow_if_needed(t, h) {
            continue;
        }
        break slot.unwrap_or_else(|| Slot::Free(new_overflow(t, h, last), 0));
    };
    match slot {
        // Go stores the new data pointer over the old one (the length is equal).
        Slot::Existing(b, i) => t.drop_key(ptr::replace(key_ptr(b, i), key)),
        Slot::Free(b, i) => {
            set_top(b, i, top_hash);
            ptr::write(key_ptr(b, i), key);
            set_count(h, count(h) + 1);
        }
    }
    finish(h, slot, value);
}

/// Searches a bucket chain for a key with tophash `top_hash` that `matches`; remembers the first
/// free slot on the way. Returns the slot found (existing first) and the chain's last bucket.
#[inline(always)]
unsafe fn find_slot<K, V>(
    mut b: *mut Bucket<K, V>,
    top_hash: u8,
    matches: impl Fn(&K) -> bool,
) -> (Option<Slot<K, V>>, *mut Bucket<K, V>) {
    let mut free = None;
    loop {
        for i in 0..BUCKET_CNT {
            let th = top(b, i);
            if th != top_hash {
                if is_empty(th) && free.is_none() {
                    free = Some(Slot::Free(b, i));
                }
                if th == EMPTY_REST {
                    return (free, b);
                }
                continue;
            }
            if matches(&*key_ptr(b, i)) {
                return (Some(Slot::Existing(b, i)), b);
            }
        }
        let ovf = super::overflow(b);
        if ovf.is_null() {
            return (free, b);
        }
        b = ovf;
    }
}

/// Starts a grow when a miss would overfill the map and none is running. Returns whether it did.
#[inline(always)]
unsafe fn start_grow_if_needed<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>) -> bool {
    if !growing(h)
        && (over_load_factor(count(h) + 1, b_log2(h))
            || too_many_overflow_buckets(noverflow(h), b_log2(h)))
    {
        hash_grow(t, h);
        return true;
    }
    false
}

/// The end of every assign: the writer's end check and the clearing of `hashWriting`, then the
/// value into the slot's elem, replacing an existing key's (see the module docs for why last).
#[inline(always)]
unsafe fn finish<K, V>(h: *mut Hmap<K, V>, slot: Slot<K, V>, value: V) {
    writer_done(h);
    match slot {
        Slot::Existing(b, i) => drop(ptr::replace(elem_ptr(b, i), value)),
        Slot::Free(b, i) => ptr::write(elem_ptr(b, i), value),
    }
}

/// The writer's end check, then clearing `hashWriting`.
#[inline(always)]
pub(crate) unsafe fn writer_done<K, V>(h: *mut Hmap<K, V>) {
    // probe: writer-end-check
    if flags(h) & HASH_WRITING == 0 {
        fatal("concurrent map writes");
    }
    clear_writing(h);
}
