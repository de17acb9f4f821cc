//! Go's one-bucket string lookup (`mapaccess1_faststr` with B = 0), which avoids hashing.
//!
//! A key under 32 bytes is compared with every stored key of its length. A longer key is found at
//! once by an equal data pointer; otherwise stored keys must agree with it in their first and last
//! 4 bytes, and if two do, Go gives up on comparing and hashes the key. The hasher is counted to
//! see which way a lookup went.

use std::cell::Cell;

use gomap::{Map, MapKey};

thread_local! {
    static HASHES: Cell<usize> = const { Cell::new(0) };
}

fn counting(key: &&'static str, seed: u32) -> u64 {
    HASHES.with(|n| n.set(n.get() + 1));
    key.go_hash(seed)
}

/// A fresh copy of `text`, so that its data pointer differs from every other key's.
fn copy(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// Looks `key` up and returns (found value, whether the lookup hashed).
fn lookup(m: &Map<&'static str, u32>, key: &'static str) -> (Option<u32>, bool) {
    assert_eq!(m.stats().b, 0, "a one-bucket map");
    let before = HASHES.with(Cell::get);
    let got = m.get(&key);
    (got, HASHES.with(Cell::get) > before)
}

fn one_bucket(keys: &[&'static str]) -> Map<&'static str, u32> {
    let m = Map::with_hasher(0, 1, counting);
    for (i, k) in keys.iter().enumerate() {
        m.insert(k, i as u32);
    }
    m
}

const LONG_A: &str = "head: a key well over thirty-two bytes (A) :tail";
const LONG_B: &str = "head: a key well over thirty-two bytes (B) :tail";
const LONG_C: &str = "HEAD: a key well over thirty-two bytes (C) :TAIL";

#[test]
fn short_keys_are_compared_without_hashing() {
    let m = one_bucket(&[copy("one"), copy("two"), copy("three")]);
    assert_eq!(lookup(&m, copy("two")), (Some(1), false));
    assert_eq!(lookup(&m, copy("six")), (None, false));
}

#[test]
fn a_long_key_with_one_look_alike_is_compared_without_hashing() {
    let m = one_bucket(&[copy(LONG_A), copy(LONG_C), copy("short")]);
    assert_eq!(lookup(&m, copy(LONG_A)), (Some(0), false));
    // LONG_B looks like LONG_A at both ends but is not in the map.
    assert_eq!(lookup(&m, copy(LONG_B)), (None, false));
}

#[test]
fn two_look_alikes_make_the_lookup_hash() {
    let m = one_bucket(&[copy(LONG_A), copy(LONG_B)]);
    assert_eq!(lookup(&m, copy(LONG_B)), (Some(1), true));
    assert_eq!(lookup(&m, copy(LONG_A)), (Some(0), true));
}

#[test]
fn the_same_data_pointer_is_found_at_once() {
    let stored = copy(LONG_B);
    let m = one_bucket(&[copy(LONG_A), stored]);
    // The first look-alike is LONG_A, then the pointer of the second matches: no hashing.
    assert_eq!(lookup(&m, stored), (Some(1), false));
}
