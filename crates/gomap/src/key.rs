//! Key types: their default hash, and which specialised runtime path they take.
//!
//! Go's compiler picks a map's runtime functions from its type (`mapfast` in the compiler):
//! maps whose elem is over 128 bytes always use the generic `mapassign`/`mapaccess`/`mapdelete`;
//! otherwise a pointer-free 8-byte key (any `int64`, `uint64`, `[8]byte`, two `int32`s...) uses
//! the `_fast64` functions, a 4-byte one `_fast32`, a `string` `_faststr`, everything else the
//! generic ones. Here the key type makes the same choice through [`MapKey`]'s routing methods,
//! and the map type ([`MapType::indirect_elem`]) says whether the elem is one Go would store
//! behind a pointer, so `Map<i64, i64>` writes through `assign_fast64` like Go's
//! `map[int64]int64` and `Map<i64, Indirect<[u8; 200]>>` through `assign` like Go's
//! `map[int64][200]byte`.
//!
//! [`MapKey`] lists which Go key each Rust key type stands for.

use std::fmt;

use crate::hash;
use crate::runtime::{self, Hmap, MapType};

/// A type usable as a map key.
///
/// Besides its hash, a key type chooses the runtime functions its maps use, as Go's compiler
/// does: the provided methods call the generic role functions, and 8-byte and string keys
/// override them with the `_fast64` and `_faststr` ones (unless the elem is an [`Indirect`]).
///
/// Which Rust key types stand for which Go keys:
///
/// | gomap key | Go key | functions |
/// | --- | --- | --- |
/// | `i64`, `u64`, `isize`, `usize`, `[u8; 8]` | `int64`, `uint64`, `int`, `uint`, `[8]byte` | `_fast64` |
/// | `&'static str` (a data pointer and a length) | `string` | `_faststr` |
/// | `String` (pointer, capacity, length: 24 bytes) | none; like a 3-word struct | generic |
/// | `i32`, `u32`, `char` | `int32`, `uint32`, `rune` | generic (Go: `_fast32`) |
/// | other `[u8; N]`, small integers, `bool`, pairs | the same-sized Go keys | generic |
///
/// `String` is not Go's `string`: its bucket slots are 24 bytes, not 16, so a `Map<String, V>`
/// has other offsets than Go's `map[string]V`, and it takes the generic functions, as Go does
/// for a key that is a struct of three words. Use `&'static str` keys to get Go's string maps.
pub trait MapKey: Eq + Clone {
    /// The key's hash under `h` (Go's `hasher(key, h)`): a map seed widened to 64 bits, or the
    /// hash of the fields before this one when keys are composed.
    fn hash_with(&self, h: u64) -> u64;

    /// The default hash of the key under `seed` (the map's `hash0`).
    fn go_hash(&self, seed: u32) -> u64 {
        self.hash_with(u64::from(seed))
    }

    /// Whether the key holds pointers (Go: `t.key.ptrdata != 0`). Go zeroes a deleted key only
    /// then, and a bucket with pointers in its keys or elems is cleared after evacuation. Rust
    /// cannot see pointers in a type; owning types (those that need drop) count as holding
    /// them, and key types that hold borrowed pointers say so.
    const HAS_POINTERS: bool = std::mem::needs_drop::<Self>();

    /// Whether equal keys can differ in their bytes, so that an assign that finds the key stores
    /// the new one over it (Go's `needkeyupdate`: strings, floats, interfaces and what contains
    /// them). Integer and byte-array keys: no.
    const NEEDS_KEY_UPDATE: bool = false;

    /// Stores `key` over the equal key in `slot` if [`MapKey::NEEDS_KEY_UPDATE`] (the generic
    /// assign's update of an existing entry), and returns the key it displaced, for the runtime
    /// to drop: an old bucket may still hold a copy of it (see `MapType::drop_key`).
    ///
    /// # Safety
    /// `slot` holds a live key equal to `key`.
    #[doc(hidden)]
    unsafe fn update_key(slot: *mut Self, key: Self) -> Option<Self> {
        if Self::NEEDS_KEY_UPDATE {
            Some(std::ptr::replace(slot, key))
        } else {
            None
        }
    }

    /// Inserts or overwrites (Go's `mapassign` family).
    ///
    /// # Safety
    /// `h` is a live header of a map built with `t`.
    #[doc(hidden)]
    unsafe fn assign<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: Self, value: V) {
        runtime::assign(t, h, key, value)
    }

    /// Looks up, reporting presence (Go's `mapaccess2` family).
    ///
    /// # Safety
    /// As for [`MapKey::assign`].
    #[doc(hidden)]
    unsafe fn access2<V>(
        t: &MapType<Self, V>,
        h: *mut Hmap<Self, V>,
        key: &Self,
    ) -> (*const V, bool) {
        runtime::access2(t, h, key)
    }

    /// Looks up (Go's `mapaccess1` family).
    ///
    /// # Safety
    /// As for [`MapKey::assign`].
    #[doc(hidden)]
    unsafe fn access1<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: &Self) -> *const V {
        runtime::access1(t, h, key)
    }

    /// Removes (Go's `mapdelete` family).
    ///
    /// # Safety
    /// As for [`MapKey::assign`].
    #[doc(hidden)]
    unsafe fn delete<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: &Self) {
        runtime::delete(t, h, key)
    }
}

/// Overrides of the [`MapKey`] routing methods with one family of role functions, taken when
/// `$key_fits` (a constant: whether this key type qualifies) holds and the map's elem is stored
/// inline; otherwise the generic functions, as Go's compiler decides.
macro_rules! route {
    ($key_fits:expr; $assign:ident, $access1:ident, $access2:ident, $delete:ident) => {
        unsafe fn assign<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: Self, value: V) {
            if $key_fits && !t.indirect_elem {
                runtime::$assign(t, h, key, value)
            } else {
                runtime::assign(t, h, key, value)
            }
        }
        unsafe fn access2<V>(
            t: &MapType<Self, V>,
            h: *mut Hmap<Self, V>,
            key: &Self,
        ) -> (*const V, bool) {
            if $key_fits && !t.indirect_elem {
                runtime::$access2(t, h, key)
            } else {
                runtime::access2(t, h, key)
            }
        }
        unsafe fn access1<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: &Self) -> *const V {
            if $key_fits && !t.indirect_elem {
                runtime::$access1(t, h, key)
            } else {
                runtime::access1(t, h, key)
            }
        }
        unsafe fn delete<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: &Self) {
            if $key_fits && !t.indirect_elem {
                runtime::$delete(t, h, key)
            } else {
                runtime::delete(t, h, key)
            }
        }
    };
}

/// Keys the `_fast64` functions compare as 64-bit integers.
pub trait Fast64Key: MapKey {
    /// The key's bits.
    fn bits(&self) -> u64;
}

/// Keys the `_faststr` functions compare as strings: a Go string header, a data pointer and a
/// length.
///
/// The functions read and write key slots as headers, never as keys: Go's delete sets a slot's
/// data pointer to nil and keeps its length, which is no valid Rust key.
pub trait FastStrKey: MapKey {
    /// The key's text.
    fn as_str(&self) -> &str;

    /// The data pointer and length of the string header in a key slot.
    ///
    /// # Safety
    /// `slot` points at a key slot of a live bucket.
    unsafe fn header(slot: *const Self) -> (*const u8, usize);

    /// Sets the data pointer of the string header in a key slot to nil, keeping its length
    /// (Go's `k.str = nil` on delete).
    ///
    /// # Safety
    /// `slot` points at a key slot of a live bucket.
    unsafe fn nil_data(slot: *mut Self);
}

/// Hash of a 64-bit word under `seed` (Go's `memhash64` of an 8-byte key under `hash0`).
#[inline(always)]
pub fn hash_u64(x: u64, seed: u32) -> u64 {
    hash::memhash64(x, u64::from(seed))
}

/// Hash of a byte string under `seed` (Go's `memhash`, and `strhash` of a string's bytes).
#[inline]
pub fn hash_bytes(bytes: &[u8], seed: u32) -> u64 {
    hash::memhash(bytes, u64::from(seed))
}

macro_rules! fast64_key {
    ($($t:ty),*) => {$(
        impl MapKey for $t {
            #[inline(always)]
            fn hash_with(&self, h: u64) -> u64 {
                hash::memhash64(*self as u64, h)
            }
            route!(true; assign_fast64, access1_fast64, access2_fast64, delete_fast64);
        }
        impl Fast64Key for $t {
            #[inline(always)]
            fn bits(&self) -> u64 {
                *self as u64
            }
        }
    )*};
}
fast64_key!(i64, u64, isize, usize);

/// Keys Go hashes by their bytes (`memhash8`, `memhash16`, `memhash32`).
macro_rules! small_int_key {
    ($($t:ty),*) => {$(
        impl MapKey for $t {
            #[inline(always)]
            fn hash_with(&self, h: u64) -> u64 {
                hash::memhash(&self.to_le_bytes(), h)
            }
        }
    )*};
}
// Go has `_fast32` for 4-byte keys; this crate routes them through the generic functions.
small_int_key!(i8, u8, i16, u16, i32, u32);

impl MapKey for char {
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash32(u32::from(*self), h)
    }
}

impl MapKey for bool {
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(&[u8::from(*self)], h)
    }
}

/// Hashed by its text, like a Go string; stored and searched as a 24-byte generic key (see the
/// module docs).
impl MapKey for String {
    const NEEDS_KEY_UPDATE: bool = true;
    #[inline]
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(self.as_bytes(), h)
    }
}

impl MapKey for &'static str {
    // A borrowed pointer: nothing to drop, but Go's string header holds a pointer.
    const HAS_POINTERS: bool = true;
    const NEEDS_KEY_UPDATE: bool = true;
    #[inline]
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(self.as_bytes(), h)
    }
    route!(true; assign_faststr, access1_faststr, access2_faststr, delete_faststr);
}

/// A `&str` is laid out as Go's string header, data pointer first, then length (the layout test
/// checks this, and DWARF describes it so to debuggers).
impl FastStrKey for &'static str {
    fn as_str(&self) -> &str {
        self
    }

    unsafe fn header(slot: *const Self) -> (*const u8, usize) {
        let [data, len] = slot.cast::<[usize; 2]>().read();
        (data as *const u8, len)
    }

    unsafe fn nil_data(slot: *mut Self) {
        slot.cast::<usize>().write(0);
    }
}

/// Byte arrays are generic keys, except `[u8; 8]`, which Go treats as any other pointer-free
/// 8-byte key: `_fast64`.
impl<const N: usize> MapKey for [u8; N] {
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(self, h)
    }
    route!(N == 8; assign_fast64, access1_fast64, access2_fast64, delete_fast64);
}

/// Only `[u8; 8]` reaches the `_fast64` functions (see its [`MapKey`] routing); for other
/// lengths `bits` is never called.
impl<const N: usize> Fast64Key for [u8; N] {
    #[inline(always)]
    fn bits(&self) -> u64 {
        let mut word = [0u8; 8];
        let n = N.min(8);
        word[..n].copy_from_slice(&self[..n]);
        u64::from_le_bytes(word)
    }
}

/// A pair hashes like a Go struct of two fields: the second field's hash is seeded with the
/// first's.
impl<A: MapKey, B: MapKey> MapKey for (A, B) {
    const HAS_POINTERS: bool = A::HAS_POINTERS || B::HAS_POINTERS;
    const NEEDS_KEY_UPDATE: bool = A::NEEDS_KEY_UPDATE || B::NEEDS_KEY_UPDATE;
    fn hash_with(&self, h: u64) -> u64 {
        self.1.hash_with(self.0.hash_with(h))
    }
}

/// A key or elem stored behind a pointer, as Go stores keys and elems over 128 bytes.
///
/// `Map` refuses, at compile time, a key or elem type larger than 128 bytes; wrap it in
/// `Indirect` and the bucket holds an 8-byte pointer in that slot, which is Go's layout.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Indirect<T>(pub Box<T>);

impl<T> Indirect<T> {
    /// Boxes `value`.
    pub fn new(value: T) -> Self {
        Indirect(Box::new(value))
    }
}

impl<T> std::ops::Deref for Indirect<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Indirect<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: MapKey> MapKey for Indirect<T> {
    const NEEDS_KEY_UPDATE: bool = T::NEEDS_KEY_UPDATE;
    fn hash_with(&self, h: u64) -> u64 {
        self.0.hash_with(h)
    }
    /// Go copies the new key into the memory the slot points to; the pointer stays. Copies of
    /// the slot in old buckets hold that same pointer and so see the new key: nothing refers to
    /// the displaced one, which is dropped here.
    unsafe fn update_key(slot: *mut Self, key: Self) -> Option<Self> {
        drop(T::update_key(&mut *(*slot).0, *key.0));
        None
    }
}

/// Whether `V` is an [`Indirect`], i.e. an elem Go would store behind a pointer because it is
/// over 128 bytes (Go's `maptype.indirectelem()`), which sends the map to the generic functions.
///
/// Elems have no trait of their own, and stable Rust cannot specialise on a type, so this asks
/// the compiler for the type's name and compares its path with `Indirect`'s, taken from the
/// compiler too rather than written out. A test pins the answer for `Indirect` and for types
/// that only contain one.
pub(crate) fn is_indirect<V>() -> bool {
    let probe = std::any::type_name::<Indirect<()>>();
    let path = probe.strip_suffix("<()>").unwrap_or(probe);
    std::any::type_name::<V>()
        .strip_prefix(path)
        .is_some_and(|rest| rest.starts_with('<'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect_elems_are_recognised_by_type() {
        assert!(is_indirect::<Indirect<[u8; 200]>>());
        assert!(is_indirect::<Indirect<String>>());
        assert!(!is_indirect::<[u8; 200]>());
        assert!(!is_indirect::<Option<Indirect<u8>>>());
        assert!(!is_indirect::<(Indirect<u8>, u8)>());
        assert!(!is_indirect::<i64>());
    }
}
