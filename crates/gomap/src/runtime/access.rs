//! Reading: Go's `mapaccess1`, `mapaccess2`, `mapaccessK` and their fast variants.
//!
//! Readers check `hashWriting` once, at entry, and never help with growth: during a grow they
//! read the old bucket unless its first tophash says it has been evacuated.
//!
//! `access1` returns a pointer to the elem, or null where Go returns its zero value; `access2`
//! adds the "found" flag. The pointer is read after the call returns, as in Go.

use std::ptr::null;

use super::{
    b_log2, bucket_at, buckets, count, elem_ptr, fatal, flags, hash_key, is_empty, key_ptr,
    reader_bucket, same_str, top, tophash, Bucket, Hmap, MapType, BUCKET_CNT, EMPTY_REST,
    HASH_WRITING,
};
use crate::key::{Fast64Key, FastStrKey};

/// Looks `key` up (Go's `mapaccess1`): a pointer to its elem, or null.
// role: access
#[inline(never)]
pub unsafe fn access1<K: Eq, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, key: &K) -> *const V {
    if h.is_null() || count(h) == 0 {
        return null();
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map read and map write");
    }
    // probe: reader-entry-checked
    let hash = hash_key(t, h, key);
    search(reader_bucket(h, hash), tophash(hash), |k| k == key).map_or(null(), |(_, e)| e)
}

/// Looks `key` up (Go's `mapaccess2`): a pointer to its elem and whether it was found.
// role: access
#[inline(never)]
pub unsafe fn access2<K: Eq, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> (*const V, bool) {
    if h.is_null() || count(h) == 0 {
        return (null(), false);
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map read and map write");
    }
    // probe: reader-entry-checked
    let hash = hash_key(t, h, key);
    match search(reader_bucket(h, hash), tophash(hash), |k| k == key) {
        Some((_, e)) => (e, true),
        None => (null(), false),
    }
}

/// Looks `key` up and returns pointers to the stored key and elem (Go's `mapaccessK`, used by
/// iterators to find where an entry went during a grow). No misuse check, as in Go.
#[inline(never)]
pub unsafe fn access_k<K: Eq, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> Option<(*const K, *const V)> {
    if h.is_null() || count(h) == 0 {
        return None;
    }
    let hash = hash_key(t, h, key);
    search(reader_bucket(h, hash), tophash(hash), |k| k == key)
}

/// [`access1`] for 8-byte integer keys (Go's `mapaccess1_fast64`).
// role: access
#[inline(never)]
pub unsafe fn access1_fast64<K: Fast64Key, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> *const V {
    if h.is_null() || count(h) == 0 {
        return null();
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map read and map write");
    }
    // probe: reader-entry-checked
    search_fast64(fast64_bucket(t, h, key), key.bits()).unwrap_or(null())
}

/// [`access2`] for 8-byte integer keys (Go's `mapaccess2_fast64`).
// role: access
#[inline(never)]
pub unsafe fn access2_fast64<K: Fast64Key, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> (*const V, bool) {
    if h.is_null() || count(h) == 0 {
        return (null(), false);
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map read and map write");
    }
    // probe: reader-entry-checked
    match search_fast64(fast64_bucket(t, h, key), key.bits()) {
        Some(e) => (e, true),
        None => (null(), false),
    }
}

/// [`access1`] for string keys (Go's `mapaccess1_faststr`).
// role: access
#[inline(never)]
pub unsafe fn access1_faststr<K: FastStrKey, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> *const V {
    if h.is_null() || count(h) == 0 {
        return null();
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map read and map write");
    }
    // probe: reader-entry-checked
    search_faststr(t, h, key).unwrap_or(null())
}

/// [`access2`] for string keys (Go's `mapaccess2_faststr`).
// role: access
#[inline(never)]
pub unsafe fn access2_faststr<K: FastStrKey, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> (*const V, bool) {
    if h.is_null() || count(h) == 0 {
        return (null(), false);
    }
    if flags(h) & HASH_WRITING != 0 {
        fatal("concurrent map read and map write");
    }
    // probe: reader-entry-checked
    match search_faststr(t, h, key) {
        Some(e) => (e, true),
        None => (null(), false),
    }
}

/// Walks a bucket chain for a live slot with tophash `top_hash` whose key `matches`.
#[inline(always)]
unsafe fn search<K, V>(
    mut b: *mut Bucket<K, V>,
    top_hash: u8,
    matches: impl Fn(&K) -> bool,
) -> Option<(*const K, *const V)> {
    while !b.is_null() {
        for i in 0..BUCKET_CNT {
            let th = top(b, i);
            if th != top_hash {
                if th == EMPTY_REST {
                    return None;
                }
                continue;
            }
            let k = key_ptr(b, i);
            if matches(&*k) {
                return Some((k, elem_ptr(b, i)));
            }
        }
        b = super::overflow(b);
    }
    None
}

/// The bucket a `_fast64` reader searches. With a single bucket Go does not even hash the key.
#[inline(always)]
unsafe fn fast64_bucket<K: Fast64Key, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> *mut Bucket<K, V> {
    if b_log2(h) == 0 {
        return bucket_at(buckets(h), 0);
    }
    reader_bucket(h, hash_key(t, h, key))
}

/// `_fast64` search: compares keys as integers and skips only empty slots (not tophash).
#[inline(always)]
unsafe fn search_fast64<K: Fast64Key, V>(mut b: *mut Bucket<K, V>, bits: u64) -> Option<*const V> {
    while !b.is_null() {
        for i in 0..BUCKET_CNT {
            if (*key_ptr(b, i)).bits() == bits && !is_empty(top(b, i)) {
                return Some(elem_ptr(b, i));
            }
        }
        b = super::overflow(b);
    }
    None
}

/// `_faststr` search. A single-bucket map is scanned without hashing the key (see
/// [`scan_one_bucket`]); otherwise the key's bucket chain is searched by length and tophash,
/// then data pointer or bytes, over the whole chain: Go's string lookup does not stop at an
/// empty-rest slot.
#[inline(always)]
unsafe fn search_faststr<K: FastStrKey, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    key: &K,
) -> Option<*const V> {
    let wanted = key.as_str();
    if b_log2(h) == 0 {
        match scan_one_bucket(bucket_at(buckets(h), 0), wanted) {
            OneBucket::Found(e) => return Some(e),
            OneBucket::Missing => return None,
            OneBucket::Ambiguous => {}
        }
    }
    let hash = hash_key(t, h, key);
    let top_hash = tophash(hash);
    let mut b = reader_bucket(h, hash);
    while !b.is_null() {
        for i in 0..BUCKET_CNT {
            let (data, len) = K::header(key_ptr(b, i));
            if len != wanted.len() || top(b, i) != top_hash {
                continue;
            }
            if same_str(data, len, wanted) {
                return Some(elem_ptr(b, i));
            }
        }
        b = super::overflow(b);
    }
    None
}

/// What the scan of a one-bucket map concluded.
enum OneBucket<V> {
    Found(*const V),
    Missing,
    /// Two long keys look alike at both ends: hashing the key is cheaper than comparing both.
    Ambiguous,
}

/// Go's one-bucket string lookup, which never hashes a short key. Slots with another length or
/// no entry are skipped (the scan ends at an empty-rest slot). A key under 32 bytes is compared
/// with every candidate. A longer one is matched at once on an equal data pointer; otherwise a
/// candidate must agree in its first and last 4 bytes, and only a single such candidate is
/// compared in full: with a second one the caller hashes the key instead.
#[inline(always)]
unsafe fn scan_one_bucket<K: FastStrKey, V>(b: *mut Bucket<K, V>, wanted: &str) -> OneBucket<V> {
    let short = wanted.len() < 32;
    let mut candidate = None;
    for i in 0..BUCKET_CNT {
        let (data, len) = K::header(key_ptr(b, i));
        let th = top(b, i);
        if len != wanted.len() || is_empty(th) {
            if th == EMPTY_REST {
                break;
            }
            continue;
        }
        if short {
            if same_str(data, len, wanted) {
                return OneBucket::Found(elem_ptr(b, i));
            }
            continue;
        }
        if data == wanted.as_ptr() {
            return OneBucket::Found(elem_ptr(b, i));
        }
        let bytes = std::slice::from_raw_parts(data, len);
        let w = wanted.as_bytes();
        if bytes[..4] != w[..4] || bytes[len - 4..] != w[len - 4..] {
            continue;
        }
        if candidate.is_some() {
            return OneBucket::Ambiguous;
        }
        candidate = Some(i);
    }
    match candidate {
        Some(i) => {
            let (data, len) = K::header(key_ptr(b, i));
            if std::slice::from_raw_parts(data, len) == wanted.as_bytes() {
                OneBucket::Found(elem_ptr(b, i))
            } else {
                OneBucket::Missing
            }
        }
        None => OneBucket::Missing,
    }
}
