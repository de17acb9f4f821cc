//! Single-threaded stress run for memory checkers (`make valgrind`): owned keys and values
//! (String, Indirect) through growth, same-size grows, deletes, clears, iteration across growth
//! and drop, compared with std's HashMap at the end of each phase.
//!
//! Usage: stress [OPS]   (default 100000)

use std::collections::HashMap;

use gomap::{Indirect, Map};

/// A small deterministic generator, so every run does the same work.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

fn check<
    K: gomap::MapKey + std::hash::Hash + std::fmt::Debug,
    V: Clone + PartialEq + std::fmt::Debug,
>(
    phase: &str,
    m: &Map<K, V>,
    model: &HashMap<K, V>,
) {
    let got: HashMap<K, V> = m.iter().collect();
    assert_eq!(&got, model, "{phase}: contents differ");
    if let Err(e) = m.check_invariants() {
        panic!("{phase}: {e}");
    }
}

fn main() {
    let ops: u64 = match std::env::args().nth(1) {
        None => 100_000,
        Some(s) => match s.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("stress: OPS must be a whole number, got {s:?}");
                std::process::exit(2);
            }
        },
    };
    let mut rng = Lcg(7);

    // String -> String: every slot owns heap memory, so a missed or double drop shows.
    let m = Map::<String, String>::with_seed(0, 3);
    let mut model = HashMap::new();
    for i in 0..ops {
        let k = format!("key-{}", rng.next(ops / 4 + 1));
        match rng.next(10) {
            0..=5 => {
                let v = format!("value-{i}");
                m.insert(k.clone(), v.clone());
                model.insert(k, v);
            }
            6..=8 => {
                m.remove(&k);
                model.remove(&k);
            }
            _ => assert_eq!(m.get(&k), model.get(&k).cloned()),
        }
        if i % 20_000 == 0 {
            // An iterator that lives across writes, then a full comparison.
            let mut it = m.iter();
            let _ = it.next();
            m.insert(format!("during-{i}"), "x".into());
            model.insert(format!("during-{i}"), "x".into());
            let _ = it.next();
            check("strings", &m, &model);
        }
    }
    check("strings", &m, &model);
    m.clear();
    model.clear();
    check("strings after clear", &m, &model);
    for i in 0..1000 {
        m.insert(format!("again-{i}"), i.to_string());
        model.insert(format!("again-{i}"), i.to_string());
    }
    check("strings refilled", &m, &model);
    drop(m);

    // u64 -> Indirect<[u64; 32]>: a 256-byte elem stored behind a pointer.
    let m = Map::<u64, Indirect<[u64; 32]>>::with_seed(0, 5);
    let mut model = HashMap::new();
    for i in 0..ops / 2 {
        let k = rng.next(ops / 8 + 1);
        if rng.next(3) == 0 {
            m.remove(&k);
            model.remove(&k);
        } else {
            let v = Indirect::new([i; 32]);
            m.insert(k, v.clone());
            model.insert(k, v);
        }
    }
    check("indirect", &m, &model);
    println!("stress: ok ({ops} operations)");
}
