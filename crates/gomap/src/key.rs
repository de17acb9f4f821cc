//! Key types: their default hash, and which specialised runtime path they take.
//!
//! Go's compiler sends maps with 4- or 8-byte pointer-free keys to `_fast32`/`_fast64` functions
//! and string-keyed maps to `_faststr`. Here the key type makes the same choice through
//! [`MapKey`]'s routing methods, so `Map<i64, _>` writes through `assign_fast64` like Go's `map[int64]T`.

use std::fmt;

use crate::hash;
use crate::runtime::{self, Hmap, MapType};

/// A type usable as a map key.
///
/// Besides its hash, a key type chooses the runtime functions its maps use, as Go's compiler
/// does: the provided methods call the generic role functions, and 8-byte integer and string
/// keys override them with the `_fast64` and `_faststr` ones.
pub trait MapKey: Eq + Clone {
    /// The key's hash under `h` (Go's `hasher(key, h)`): a map seed widened to 64 bits, or the
    /// hash of the fields before this one when keys are composed.
    fn hash_with(&self, h: u64) -> u64;

    /// The default hash of the key under `seed` (the map's `hash0`).
    fn go_hash(&self, seed: u32) -> u64 {
        self.hash_with(u64::from(seed))
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

/// Overrides of the [`MapKey`] routing methods with one family of role functions.
macro_rules! route {
    ($assign:ident, $access1:ident, $access2:ident, $delete:ident) => {
        unsafe fn assign<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: Self, value: V) {
            runtime::$assign(t, h, key, value)
        }
        unsafe fn access2<V>(
            t: &MapType<Self, V>,
            h: *mut Hmap<Self, V>,
            key: &Self,
        ) -> (*const V, bool) {
            runtime::$access2(t, h, key)
        }
        unsafe fn access1<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: &Self) -> *const V {
            runtime::$access1(t, h, key)
        }
        unsafe fn delete<V>(t: &MapType<Self, V>, h: *mut Hmap<Self, V>, key: &Self) {
            runtime::$delete(t, h, key)
        }
    };
}

/// Keys the `_fast64` functions compare as 64-bit integers.
pub trait Fast64Key: MapKey {
    /// The key's bits.
    fn bits(&self) -> u64;
}

/// Keys the `_faststr` functions compare as strings.
pub trait FastStrKey: MapKey {
    /// The key's text.
    fn as_str(&self) -> &str;
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
            route!(assign_fast64, access1_fast64, access2_fast64, delete_fast64);
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

impl MapKey for String {
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(self.as_bytes(), h)
    }
    route!(
        assign_faststr,
        access1_faststr,
        access2_faststr,
        delete_faststr
    );
}

impl FastStrKey for String {
    fn as_str(&self) -> &str {
        self
    }
}

impl MapKey for &'static str {
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(self.as_bytes(), h)
    }
    route!(
        assign_faststr,
        access1_faststr,
        access2_faststr,
        delete_faststr
    );
}

impl FastStrKey for &'static str {
    fn as_str(&self) -> &str {
        self
    }
}

impl<const N: usize> MapKey for [u8; N] {
    fn hash_with(&self, h: u64) -> u64 {
        hash::memhash(self, h)
    }
}

/// A pair hashes like a Go struct of two fields: the second field's hash is seeded with the
/// first's.
impl<A: MapKey, B: MapKey> MapKey for (A, B) {
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
    fn hash_with(&self, h: u64) -> u64 {
        self.0.hash_with(h)
    }
}
