//! The layouts must be Go 1.19's on x86-64 (REFERENCE.md §1, read from a Go binary's DWARF).

use std::mem::{align_of, offset_of, size_of};

use gomap::runtime::{Bucket, Hiter, Hmap, MapExtra};

#[test]
fn header_matches_go_hmap() {
    type H = Hmap<i64, i64>;
    assert_eq!(size_of::<H>(), 48);
    assert_eq!(offset_of!(H, count), 0);
    assert_eq!(offset_of!(H, flags), 8);
    assert_eq!(offset_of!(H, B), 9);
    assert_eq!(offset_of!(H, noverflow), 10);
    assert_eq!(offset_of!(H, hash0), 12);
    assert_eq!(offset_of!(H, buckets), 16);
    assert_eq!(offset_of!(H, oldbuckets), 24);
    assert_eq!(offset_of!(H, nevacuate), 32);
    assert_eq!(offset_of!(H, extra), 40);
    // The header does not depend on the key and elem types.
    assert_eq!(size_of::<Hmap<String, [u8; 100]>>(), 48);
}

#[test]
fn extra_matches_go_mapextra() {
    type E = MapExtra<i64, i64>;
    assert_eq!(size_of::<E>(), 24);
    assert_eq!(offset_of!(E, overflow), 0);
    assert_eq!(offset_of!(E, oldoverflow), 8);
    assert_eq!(offset_of!(E, next_overflow), 16);
}

/// Go's bucket: tophash[8], keys[8], elems[8], then the overflow pointer at the end, aligned to 8.
fn go_bucket(key_size: usize, elem_size: usize) -> (usize, usize, usize, usize) {
    let keys = 8;
    let elems = keys + 8 * key_size;
    let overflow = (elems + 8 * elem_size).next_multiple_of(8);
    (keys, elems, overflow, overflow + 8)
}

macro_rules! check_bucket {
    ($k:ty, $v:ty) => {{
        type B = Bucket<$k, $v>;
        let (keys, elems, overflow, size) = go_bucket(size_of::<$k>(), size_of::<$v>());
        assert_eq!(offset_of!(B, tophash), 0, stringify!(Bucket<$k, $v>));
        assert_eq!(offset_of!(B, keys), keys, stringify!(Bucket<$k, $v>));
        assert_eq!(offset_of!(B, elems), elems, stringify!(Bucket<$k, $v>));
        assert_eq!(offset_of!(B, overflow), overflow, stringify!(Bucket<$k, $v>));
        assert_eq!(size_of::<B>(), size, stringify!(Bucket<$k, $v>));
        assert_eq!(align_of::<B>(), 8);
    }};
}

#[test]
fn int64_bucket_is_144_bytes_with_overflow_at_136() {
    assert_eq!(size_of::<Bucket<i64, i64>>(), 144);
    assert_eq!(offset_of!(Bucket<i64, i64>, overflow), 136);
    assert_eq!(offset_of!(Bucket<i64, i64>, elems), 72);
}

#[test]
fn other_buckets_follow_go_rules() {
    check_bucket!(i64, i64);
    check_bucket!(i32, i8); // 8 + 32 + 8 = 48, overflow 48, size 56
    check_bucket!(u8, u8); // elems end at 24
    check_bucket!(i64, ()); // a set: no elem bytes
    check_bucket!(&'static str, i64); // Go's string header is 16 bytes too
    check_bucket!([u8; 3], u16); // odd sizes pad before the overflow pointer
    check_bucket!(gomap::Indirect<[u8; 200]>, [u8; 128]); // pointer key, largest inline elem
}

#[test]
fn indirect_is_a_pointer() {
    assert_eq!(size_of::<gomap::Indirect<[u8; 4096]>>(), 8);
}

#[test]
fn hiter_is_twelve_words_like_go() {
    assert_eq!(size_of::<Hiter<i64, i64>>(), 12 * 8);
}

#[test]
fn str_keys_are_go_string_headers() {
    // The _faststr functions read and write a `&str` slot as Go's string header.
    let s: &'static str = "hello";
    // SAFETY: a `&str` is two words; which word is which is what this test checks.
    let words: [usize; 2] = unsafe { std::mem::transmute(s) };
    assert_eq!(words, [s.as_ptr() as usize, s.len()]);
}
