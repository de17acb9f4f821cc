//! gomap's default hash spreads keys over buckets as evenly as Go's own hash.
//!
//! The same keys go into a Go 1.19 map (hashed by Go, with AES on x86-64) and into a gomap map
//! (hashed by gomap's default hash), with no size hint, to exactly 6.5 entries per bucket. Both
//! maps' bucket statistics must be what a uniform random hash predicts, within 5 standard
//! deviations: buckets with an overflow chain ("overfull": more than 8 entries), empty buckets,
//! and `noverflow`, which after inserts alone is the number of overflow buckets,
//! sum over buckets of ceil(n / 8) - 1.
//!
//! With a uniform hash the entries per bucket are Poisson(6.5) for these sizes (binomial with
//! many keys and a small chance per bucket). Two workloads: the sequential `int64` keys 1..212992
//! in 2^15 buckets (gomap's previous hash left about 8100 buckets overfull and 260 empty, where
//! 6844 and 49 are expected), and 53248 string keys "k1", "k2"... (every 7th a long one) in 2^13.

mod go;

use gomap::runtime::Bucket;
use gomap::{Map, MapKey};

/// Bucket statistics of one map.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    b: u8,
    overfull: f64,
    empty: f64,
    noverflow: f64,
}

/// Mean and standard deviation of a statistic under a uniform hash.
#[derive(Debug)]
struct Prediction {
    mean: f64,
    sd: f64,
}

impl Prediction {
    /// The sum over `buckets` buckets of `f(n)`, n ~ Poisson(`lambda`) independently.
    fn of(buckets: f64, lambda: f64, f: impl Fn(u32) -> f64) -> Prediction {
        let (mut mean, mut square) = (0.0, 0.0);
        let mut p = (-lambda).exp(); // P(n = 0)
        for n in 0..200u32 {
            mean += p * f(n);
            square += p * f(n) * f(n);
            p *= lambda / f64::from(n + 1);
        }
        Prediction {
            mean: buckets * mean,
            sd: (buckets * (square - mean * mean)).sqrt(),
        }
    }

    fn check(&self, what: &str, observed: f64) {
        let z = (observed - self.mean) / self.sd;
        assert!(
            z.abs() <= 5.0,
            "{what}: {observed} where a uniform hash gives {:.0} ± {:.0} ({z:+.1} standard \
             deviations)",
            self.mean,
            self.sd
        );
    }
}

/// Checks `spread` (of `keys` keys) against a uniform hash's prediction.
fn check_uniform(what: &str, spread: Spread, keys: usize) {
    let buckets = f64::from(1u32 << spread.b);
    let lambda = keys as f64 / buckets;
    let indicator = |yes: bool| if yes { 1.0 } else { 0.0 };
    Prediction::of(buckets, lambda, |n| indicator(n > 8))
        .check(&format!("{what}: overfull buckets"), spread.overfull);
    Prediction::of(buckets, lambda, |n| indicator(n == 0))
        .check(&format!("{what}: empty buckets"), spread.empty);
    Prediction::of(buckets, lambda, |n| {
        (f64::from(n) / 8.0).ceil().max(1.0) - 1.0
    })
    .check(&format!("{what}: noverflow"), spread.noverflow);
}

/// Go's statistics for `keys` keys of `kind` (mapdiff's stats mode).
fn go_spread(kind: &str, keys: usize) -> Option<Spread> {
    let bin = go::mapdiff()?;
    let out = go::run(
        &bin,
        &["-mode", "stats", "-keys", kind, "-ops", &keys.to_string()],
        &[],
    );
    let field = |name: &str| -> f64 {
        out.split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {name} in {out:?}"))
            .parse()
            .unwrap()
    };
    Some(Spread {
        b: field("B") as u8,
        overfull: field("overfull"),
        empty: field("empty"),
        noverflow: field("noverflow"),
    })
}

/// gomap's statistics for the map `m`, which is not growing.
fn gomap_spread<K, V>(m: &Map<K, V>) -> Spread {
    let s = m.stats();
    assert!(!s.growing);
    let (mut overfull, mut empty) = (0.0, 0.0);
    // SAFETY: the map is alive and idle.
    unsafe {
        let array: *const Bucket<K, V> = (*m.header()).buckets;
        for i in 0..1usize << s.b {
            let first = array.add(i);
            if !(*first).overflow.is_null() {
                overfull += 1.0;
            }
            let mut live = 0;
            let mut b = first;
            while !b.is_null() {
                live += (*b).tophash.iter().filter(|&&t| t >= 5).count();
                b = (*b).overflow;
            }
            if live == 0 {
                empty += 1.0;
            }
        }
    }
    Spread {
        b: s.b,
        overfull,
        empty,
        noverflow: f64::from(s.noverflow),
    }
}

/// Inserts `keys` into gomap maps with two seeds and into Go's map, and checks all three.
fn compare<K: MapKey>(kind: &str, keys: Vec<K>, b: u8) {
    for seed in [1, 2] {
        let m = Map::<K, u32>::with_seed(0, seed);
        for k in &keys {
            m.insert(k.clone(), 0);
        }
        let ours = gomap_spread(&m);
        assert_eq!(ours.b, b);
        check_uniform(&format!("gomap {kind} (seed {seed})"), ours, keys.len());
    }
    if let Some(go) = go_spread(kind, keys.len()) {
        assert_eq!(go.b, b);
        check_uniform(&format!("Go {kind}"), go, keys.len());
    }
}

#[test]
fn sequential_int64_keys_spread_like_go() {
    compare("fast64", (1..=212_992i64).collect(), 15);
}

#[test]
fn string_keys_spread_like_go() {
    // mapdiff's string keys: "k" + id, or a long key for every 7th id.
    let keys: Vec<&'static str> = (1..=53_248u64)
        .map(|id| {
            let text = if id % 7 == 0 {
                format!("a key of more than thirty-two bytes, {id}")
            } else {
                format!("k{id}")
            };
            &*Box::leak(text.into_boxed_str())
        })
        .collect();
    compare("faststr", keys, 13);
}
