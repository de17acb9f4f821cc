//! Growth triggers and mechanics, with hash functions that put keys where the test wants them.

use gomap::runtime::SAME_SIZE_GROW;
use gomap::Map;

/// Low bits = the key, so consecutive keys spread evenly over buckets; top byte = the key too.
fn spread(k: &u64, _seed: u32) -> u64 {
    k.wrapping_mul(0x0100_0000_0000_0001)
}

/// Every key in bucket 0 (of any size), with distinct tophashes.
fn bucket_zero(k: &u64, _seed: u32) -> u64 {
    (k.wrapping_add(5) << 56) | (k << 20)
}

#[test]
fn growth_starts_at_go_thresholds() {
    let m = Map::<u64, u64>::with_hasher(0, 1, spread);
    let mut starts = Vec::new();
    let mut b = m.stats().b;
    for k in 0..200u64 {
        let count_before = m.len();
        m.insert(k, k);
        let s = m.stats();
        if s.b != b {
            assert_eq!(s.b, b + 1, "a doubling adds one to B");
            starts.push(count_before);
            b = s.b;
        }
        m.check_invariants().unwrap();
    }
    assert_eq!(starts, vec![8, 13, 26, 52, 104]);
}

#[test]
fn size_hint_picks_smallest_b_within_load_factor() {
    for (hint, b) in [
        (0, 0),
        (8, 0),
        (9, 1),
        (13, 1),
        (14, 2),
        (26, 2),
        (27, 3),
        (104, 4),
        (105, 5),
    ] {
        let m = Map::<u64, u64>::with_seed(hint, 7);
        assert_eq!(m.stats().b, b, "hint {hint}");
    }
}

#[test]
fn writes_evacuate_at_most_two_old_buckets_and_reads_none() {
    // Start with B = 4 (16 buckets), full enough that the next insert doubles.
    let m = Map::<u64, u64>::with_hasher(100, 1, spread);
    assert_eq!(m.stats().b, 4);
    let mut k = 0;
    while !m.stats().growing {
        m.insert(k, k);
        k += 1;
    }
    assert_eq!(m.stats().b, 5);
    // Reads do not move the evacuation mark.
    let before = m.stats().nevacuate;
    for r in 0..k {
        assert_eq!(m.get(&r), Some(r));
    }
    assert_eq!(m.stats().nevacuate, before);
    // Each write moves it by at most 2 (plus buckets already evacuated out of order).
    let mut writes = 0;
    while m.stats().growing {
        m.insert(1000 + writes, 0);
        writes += 1;
        m.check_invariants().unwrap();
    }
    assert!(
        writes >= 8 - 1,
        "16 old buckets need at least 8 writes, took {writes}"
    );
}

#[test]
fn delete_does_growth_work() {
    let m = Map::<u64, u64>::with_hasher(100, 1, spread);
    let mut k = 0;
    while !m.stats().growing {
        m.insert(k, k);
        k += 1;
    }
    let before = m.stats().nevacuate;
    m.remove(&0);
    assert!(
        m.stats().nevacuate > before || !m.stats().growing,
        "delete evacuated nothing"
    );
    m.check_invariants().unwrap();
}

/// Keys in groups of 12, group g in bucket g mod 4 (of a 4-bucket map).
fn groups_of_12(k: &u64, _seed: u32) -> u64 {
    (k.wrapping_add(5) << 56) | ((k / 12) % 4)
}

#[test]
fn overflow_chains_trigger_same_size_grow() {
    // B = 2. Overfill one bucket (12 keys need an overflow bucket), empty it, move to the next
    // bucket: overflow buckets accumulate while the count stays low, until there are as many
    // overflow buckets as buckets.
    let m = Map::<u64, u64>::with_hasher(20, 3, groups_of_12);
    assert_eq!(m.stats().b, 2);
    let mut saw_same_size = false;
    let mut next = 0u64;
    for _round in 0..10 {
        let keys: Vec<u64> = (next..next + 12).collect();
        next += 12;
        for &k in &keys {
            m.insert(k, k);
            let s = m.stats();
            saw_same_size |= s.flags & SAME_SIZE_GROW != 0;
            assert_eq!(s.b, 2, "a same-size grow keeps B");
            m.check_invariants().unwrap();
        }
        for &k in &keys {
            m.remove(&k);
            m.check_invariants().unwrap();
        }
    }
    assert!(saw_same_size, "no same-size grow started");
}

#[test]
fn delete_marks_trailing_slots_empty_rest() {
    let m = Map::<u64, u64>::with_hasher(0, 3, bucket_zero);
    for k in 0..20 {
        m.insert(k, k);
    }
    for k in (0..20).rev() {
        m.remove(&k);
        m.check_invariants().unwrap();
    }
    assert!(m.is_empty());
    // All slots are empty-rest again: a fresh insert lands in slot 0 of bucket 0.
    let h = m.header();
    m.insert(99, 1);
    unsafe {
        let b = (*h).buckets;
        assert_eq!(
            (*b).tophash[0],
            gomap::runtime::tophash(bucket_zero(&99, 0))
        );
        assert_eq!((*b).tophash[1], gomap::runtime::EMPTY_REST);
    }
}

#[test]
fn clear_keeps_b_and_empties() {
    let m = Map::<String, u64>::with_seed(0, 9);
    for k in 0..500u64 {
        m.insert(format!("key-{k}"), k);
    }
    let b = m.stats().b;
    m.clear();
    assert_eq!(m.len(), 0);
    assert_eq!(m.stats().b, b);
    assert!(!m.stats().growing);
    assert_eq!(m.iter().count(), 0);
    m.insert("again".to_string(), 1);
    assert_eq!(m.get(&"again".to_string()), Some(1));
    m.check_invariants().unwrap();
}

/// [`bucket_zero`] for `String` keys that hold numbers.
#[allow(clippy::ptr_arg)] // a hasher of String keys takes &String
fn one_bucket_str(k: &String, _seed: u32) -> u64 {
    let n: u64 = k.parse().unwrap();
    bucket_zero(&n, 0)
}

#[test]
fn overflow_lists_are_kept_only_for_buckets_without_pointers() {
    // Go's garbage collector finds overflow buckets of buckets with pointers through the
    // buckets; only pointer-free ones are listed in extra.overflow.
    let plain = Map::<u64, u64>::with_hasher(0, 1, bucket_zero);
    let owning = Map::<String, u64>::with_hasher(0, 1, one_bucket_str);
    for k in 0..20u64 {
        plain.insert(k, k);
        owning.insert(k.to_string(), k);
    }
    // SAFETY: the maps are alive and idle.
    unsafe {
        let e = (*plain.header()).extra;
        assert!(!e.is_null());
        let listed = (*(*e).overflow).lock().unwrap().len();
        assert!(listed > 0);
        assert_eq!(listed, usize::from(plain.stats().noverflow));
        assert!(owning.stats().noverflow > 0);
        assert!((*owning.header()).extra.is_null(), "no extra fields needed");
    }
    // Iterating creates the list for pointer-free buckets only, as Go's mapiterinit does.
    let fresh = Map::<String, u64>::with_seed(0, 1);
    fresh.insert("a".into(), 1);
    assert_eq!(fresh.iter().count(), 1);
    // SAFETY: as above.
    assert!(unsafe { (*fresh.header()).extra.is_null() });
}
