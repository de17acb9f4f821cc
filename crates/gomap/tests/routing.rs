//! Which runtime functions a map type uses, as Go's compiler decides.
//!
//! The choice is observed through the hasher: on a one-bucket map (B = 0) Go's `_fast64` and
//! `_faststr` lookups find the key without hashing it, while the generic `mapaccess` always
//! hashes. So a lookup on a one-bucket map that calls the hasher took the generic path.

use std::cell::Cell;

use gomap::{Indirect, Map, MapKey};

thread_local! {
    static HASHES: Cell<usize> = const { Cell::new(0) };
}

/// The default hash, counted.
fn counting<K: MapKey>(key: &K, seed: u32) -> u64 {
    HASHES.with(|n| n.set(n.get() + 1));
    key.go_hash(seed)
}

/// Whether a lookup of `key` in a one-bucket map holding it hashes the key (the generic path).
fn lookup_hashes<K: MapKey, V: Clone>(key: K, value: V) -> bool {
    let m = Map::<K, V>::with_hasher(0, 1, counting::<K>);
    m.insert(key.clone(), value);
    assert_eq!(m.stats().b, 0);
    let before = HASHES.with(Cell::get);
    assert!(m.get(&key).is_some());
    HASHES.with(Cell::get) > before
}

#[test]
fn eight_byte_keys_take_fast64() {
    assert!(!lookup_hashes(7i64, 1u8));
    assert!(!lookup_hashes(7u64, 1u8));
    assert!(!lookup_hashes(7usize, 1u8));
    // Go's [8]byte is a pointer-free 8-byte key too.
    assert!(!lookup_hashes(*b"8 bytes!", 1u8));
}

#[test]
fn go_strings_take_faststr() {
    assert!(!lookup_hashes("key", 1u8));
}

#[test]
fn other_keys_take_the_generic_functions() {
    // Rust's String is a 3-word struct to Go, not a string.
    assert!(lookup_hashes(String::from("key"), 1u8));
    assert!(lookup_hashes(*b"7 bytes", 1u8));
    assert!(lookup_hashes(*b"nine byte", 1u8));
    // Go has _fast32 for these; gomap documents that it uses the generic functions.
    assert!(lookup_hashes(7i32, 1u8));
    assert!(lookup_hashes((1u8, 2u8), 1u8));
}

#[test]
fn elems_over_128_bytes_send_every_key_to_the_generic_functions() {
    let big = || Indirect::new([3u8; 200]);
    assert!(lookup_hashes(7i64, big()));
    assert!(lookup_hashes("key", big()));
    assert!(lookup_hashes(*b"8 bytes!", big()));
    // An elem that merely contains an Indirect is stored inline.
    assert!(!lookup_hashes(7i64, Some(big())));
}
