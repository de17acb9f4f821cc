//! Keys that own memory, removed or replaced while an iterator walks an old bucket array.
//!
//! Evacuation copies an entry's bytes to the new array and, while an iterator may use the old
//! array, leaves the old copy in place; the iterator later hashes and compares that copy to find
//! where the entry went (Go's `mapaccessK`). If the map dropped the key in between (an update
//! of an equal key, a delete, a clear), the copy would point at freed memory. These tests use a
//! key that records its own drop in memory that is never freed, so reading a dropped key fails
//! here every time, whatever the allocator does with the freed memory.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use gomap::{Map, MapKey};

thread_local! {
    /// `Tracked` values alive on this thread (each test runs on its own thread).
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// A key that owns memory and says whether it has been dropped.
#[derive(Debug)]
struct Tracked {
    id: u32,
    /// Leaked on purpose: it stays readable after the key is dropped.
    alive: &'static AtomicBool,
}

impl Tracked {
    fn new(id: u32) -> Self {
        LIVE.with(|n| n.set(n.get() + 1));
        Tracked {
            id,
            alive: Box::leak(Box::new(AtomicBool::new(true))),
        }
    }

    fn id(&self) -> u32 {
        assert!(
            self.alive.load(Relaxed),
            "key {} read after it was dropped",
            self.id
        );
        self.id
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.id())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert!(
            self.alive.swap(false, Relaxed),
            "key {} dropped twice",
            self.id
        );
        LIVE.with(|n| n.set(n.get() - 1));
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}
impl Eq for Tracked {}

impl MapKey for Tracked {
    // Equal keys are different objects, as equal Go strings can be different memory.
    const NEEDS_KEY_UPDATE: bool = true;
    fn hash_with(&self, h: u64) -> u64 {
        gomap::hash_u64(u64::from(self.id()), h as u32)
    }
}

/// What the writes do while the iterator is stopped.
#[derive(Clone, Copy, PartialEq)]
enum Writes {
    /// Rewrite every original key (an update of an equal key), deleting every third instead.
    RewriteAndDelete,
    /// Insert new keys (which evacuates more old buckets), then clear the map and refill it.
    InsertThenClear,
}

/// Fills a map up to its growth threshold, starts an iterator, makes the next insert start a
/// grow, and then does `writes`, stepping the iterator between writes. Checks Go's guarantees
/// (no key twice, every key present throughout produced, current values), that no key is read
/// after its drop (the `Tracked` assertions), and that the keys kept for the iterator go with it.
fn iterate_across_grow(seed: u32, writes: Writes) {
    const N: u32 = 52; // the most entries 8 buckets hold without growing
    let before = live();
    let m = Map::<Tracked, u32>::with_seed(0, seed);
    let mut model = HashMap::new();
    for k in 0..N {
        m.insert(Tracked::new(k), k);
        model.insert(k, k);
    }
    assert!(!m.stats().growing);
    let mut it = m.iter();
    let mut produced = HashSet::new();
    let mut must_see: HashSet<u32> = model.keys().copied().collect();
    let mut check = |item: Option<(Tracked, u32)>, model: &HashMap<u32, u32>| {
        let Some((k, v)) = item else { return false };
        assert_eq!(
            model.get(&k.id()),
            Some(&v),
            "stale value for key {}",
            k.id()
        );
        assert!(produced.insert(k.id()), "key {} produced twice", k.id());
        true
    };
    check(it.next(), &model);
    m.insert(Tracked::new(N), N);
    model.insert(N, N);
    assert!(
        m.stats().growing,
        "the insert past the threshold starts a grow"
    );
    match writes {
        Writes::RewriteAndDelete => {
            for k in (0..N).rev() {
                if k % 3 == 0 {
                    m.remove(&Tracked::new(k));
                    model.remove(&k);
                    must_see.remove(&k);
                } else {
                    m.insert(Tracked::new(k), k + 1000);
                    model.insert(k, k + 1000);
                }
                check(it.next(), &model);
            }
        }
        Writes::InsertThenClear => {
            for k in N + 1..N + 4 {
                m.insert(Tracked::new(k), k);
                model.insert(k, k);
                check(it.next(), &model);
            }
            m.clear();
            model.clear();
            must_see.clear();
            for k in 100..200 {
                m.insert(Tracked::new(k), k);
                model.insert(k, k);
            }
        }
    }
    while check(it.next(), &model) {}
    drop(it);
    assert_eq!(
        live() - before,
        model.len() as isize,
        "keys kept for the iterator are dropped with it"
    );
    for k in must_see {
        assert!(
            produced.contains(&k),
            "key {k} present throughout, never produced"
        );
    }
    let got: HashMap<u32, u32> = m.iter().map(|(k, v)| (k.id(), v)).collect();
    assert_eq!(got, model);
}

#[test]
fn an_iterator_across_a_grow_never_reads_a_rewritten_or_deleted_key() {
    for seed in 0..40 {
        let before = live();
        iterate_across_grow(seed, Writes::RewriteAndDelete);
        assert_eq!(
            live(),
            before,
            "seed {seed}: every key dropped with the map"
        );
    }
}

#[test]
fn an_iterator_across_a_grow_and_a_clear_never_reads_a_cleared_key() {
    for seed in 0..40 {
        let before = live();
        iterate_across_grow(seed, Writes::InsertThenClear);
        assert_eq!(
            live(),
            before,
            "seed {seed}: every key dropped with the map"
        );
    }
}

/// Without an iterator living across a grow, no stale copy can be read, and a removed or
/// replaced key is dropped at once, not kept until the map goes.
#[test]
fn removed_keys_are_dropped_at_once_when_no_iterator_crossed_a_grow() {
    let before = live();
    let m = Map::<Tracked, u32>::with_seed(0, 7);
    for k in 0..2000 {
        m.insert(Tracked::new(k), k);
    }
    // An iterator that ends before the next grow leaves no stale copies behind.
    assert_eq!(m.iter().count(), 2000);
    for k in 0..2000 {
        m.insert(Tracked::new(k), k + 1);
    }
    for k in 0..1500 {
        m.remove(&Tracked::new(k));
    }
    assert_eq!(live() - before, 500, "only the keys in the map are alive");
    m.clear();
    assert_eq!(live(), before);
}
