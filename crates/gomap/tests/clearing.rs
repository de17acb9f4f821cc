//! What Go leaves in memory behind a delete, and what gomap must leave too: a racing reader or a
//! debugger looking at a deleted slot sees these bytes.
//!
//! Go zeroes every deleted elem, zeroes a deleted key only when the key holds pointers, and
//! for string keys (`_faststr`) sets only the data pointer to nil, keeping the length.

use std::mem::size_of;

use gomap::runtime::{Bucket, EMPTY_ONE, EMPTY_REST};
use gomap::{Map, MapKey};

/// The raw bytes of slot `i` of bucket 0 of a one-bucket map: (tophash, key, elem).
fn slot<K, V>(m: &Map<K, V>, i: usize) -> (u8, Vec<u8>, Vec<u8>) {
    // SAFETY: the map is alive and idle; bucket memory is zero-initialised.
    unsafe {
        let h = m.header();
        assert_eq!((*h).B, 0);
        let b: *const Bucket<K, V> = (*h).buckets;
        let key = std::ptr::addr_of!((*b).keys)
            .cast::<K>()
            .add(i)
            .cast::<u8>();
        let elem = std::ptr::addr_of!((*b).elems)
            .cast::<V>()
            .add(i)
            .cast::<u8>();
        (
            (*b).tophash[i],
            std::slice::from_raw_parts(key, size_of::<K>()).to_vec(),
            std::slice::from_raw_parts(elem, size_of::<V>()).to_vec(),
        )
    }
}

/// A one-bucket map holding `keys` in order, with the one at index 1 deleted.
fn middle_deleted<K: MapKey, V>(keys: [K; 3], value: impl Fn(usize) -> V) -> Map<K, V> {
    let m = Map::<K, V>::with_seed(0, 1);
    for (i, k) in keys.iter().enumerate() {
        m.insert(k.clone(), value(i));
    }
    m.remove(&keys[1]);
    assert_eq!(m.len(), 2);
    m
}

#[test]
fn fast64_delete_zeroes_the_elem_and_keeps_the_key() {
    let m = middle_deleted([10i64, 11, 12], |i| i as i64 + 100);
    let (top, key, elem) = slot(&m, 1);
    assert_eq!(top, EMPTY_ONE);
    assert_eq!(key, 11i64.to_le_bytes(), "a pointer-free key stays");
    assert_eq!(elem, [0; 8]);
    assert_eq!(
        slot(&m, 2).2,
        102i64.to_le_bytes(),
        "the neighbour is untouched"
    );
}

#[test]
fn faststr_delete_nils_the_data_pointer_and_keeps_the_length() {
    let m = middle_deleted(["ten", "eleven", "twelve"], |i| i as u64 + 100);
    let (top, key, elem) = slot(&m, 1);
    assert_eq!(top, EMPTY_ONE);
    assert_eq!(key[..8], [0; 8], "data pointer");
    assert_eq!(key[8..], 6usize.to_le_bytes(), "length");
    assert_eq!(elem, [0; 8]);
}

#[test]
fn generic_delete_zeroes_a_key_with_pointers() {
    let m = middle_deleted(
        [String::from("a"), String::from("b"), String::from("c")],
        |i| [i as u8 + 1; 3],
    );
    let (_, key, elem) = slot(&m, 1);
    assert_eq!(key, [0; 24]);
    assert_eq!(elem, [0; 3]);
    // A pointer-free generic key stays.
    let m = middle_deleted([[1u8; 3], [2; 3], [3; 3]], |i| i as u32 + 7);
    let (_, key, elem) = slot(&m, 1);
    assert_eq!(key, [2; 3]);
    assert_eq!(elem, [0; 4]);
}

#[test]
fn deleting_the_last_entry_of_a_chain_marks_empty_rest() {
    let m = middle_deleted([1i64, 2, 3], |_| 0u8);
    m.remove(&3);
    assert_eq!(slot(&m, 2).0, EMPTY_REST);
    assert_eq!(slot(&m, 1).0, EMPTY_REST);
    assert!(slot(&m, 0).0 >= 5, "the first entry is live");
}

/// The one bucket of the array that `m` (holding 8 entries at B = 0) evacuates when a 9th key
/// doubles it, read after the grow: its tophash, then the bytes of its keys and elems.
fn old_bucket_after_doubling<K: MapKey, V>(m: &Map<K, V>, ninth: (K, V)) -> ([u8; 8], Vec<u8>) {
    assert_eq!((m.len(), m.stats().b), (8, 0));
    // SAFETY: the map is alive and idle; the old array stays allocated (gomap's heap keeps it,
    // as Go's garbage collector would for a racing reader).
    unsafe {
        let old: *const Bucket<K, V> = (*m.header()).buckets;
        m.insert(ninth.0, ninth.1);
        assert_eq!(m.stats().b, 1);
        let keys = std::ptr::addr_of!((*old).keys).cast::<u8>();
        let end = std::ptr::addr_of!((*old).overflow).cast::<u8>();
        let len = end.offset_from(keys) as usize;
        (
            (*old).tophash,
            std::slice::from_raw_parts(keys, len).to_vec(),
        )
    }
}

fn filled<K: MapKey, V>(entries: impl Iterator<Item = (K, V)>) -> Map<K, V> {
    let m = Map::with_seed(0, 1);
    for (k, v) in entries {
        m.insert(k, v);
    }
    m
}

#[test]
fn evacuation_clears_old_buckets_with_pointers() {
    let m = filled((0..8).map(|i| (format!("key {i}"), i as u64)));
    let (tophash, rest) = old_bucket_after_doubling(&m, ("key 8".into(), 8));
    assert!(tophash.iter().all(|&t| (2..=4).contains(&t)), "{tophash:?}");
    assert!(rest.iter().all(|&b| b == 0), "keys and elems are zeroed");
    assert_eq!(m.len(), 9);
    assert_eq!(m.get(&"key 3".to_string()), Some(3));
}

#[test]
fn evacuation_leaves_pointer_free_buckets_as_they_are() {
    let m = filled((0..8).map(|i| (i as i64, i as u64 + 100)));
    let (_, rest) = old_bucket_after_doubling(&m, (8, 108));
    let keys: Vec<i64> = rest[..64]
        .chunks(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, (0..8).collect::<Vec<_>>(), "the old keys stay");
}

#[test]
fn evacuation_keeps_old_buckets_an_iterator_may_walk() {
    let m = filled((0..8).map(|i| (format!("key {i}"), i as u64)));
    let mut it = m.iter();
    assert!(it.next().is_some());
    let (_, rest) = old_bucket_after_doubling(&m, ("key 8".into(), 8));
    assert!(
        rest.iter().any(|&b| b != 0),
        "an old iterator may still read them"
    );
    // And it does: it still produces the 7 entries it has not produced yet.
    assert!(it.count() >= 7);
}
