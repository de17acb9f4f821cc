//! Reproduces each of gomap's misuse checks deterministically, in one thread, by doing to the
//! header what a racing thread would do at that moment. Used by the tests to check messages, exit
//! status and where each check sits.
//!
//! Usage: gomap-misuse CASE   (run without CASE to list the cases)

use std::process::ExitCode;
use std::sync::atomic::{AtomicPtr, Ordering};

use gomap::runtime::{Hmap, HASH_WRITING};
use gomap::Map;

/// What `clearing_hasher` clears the writing flag of.
static VICTIM: AtomicPtr<Hmap<u64, u64>> = AtomicPtr::new(std::ptr::null_mut());

/// A hash that, like a second writer finishing its write, clears `hashWriting` on the victim.
/// Hashing happens again inside evacuation, after the writer set the flag.
fn clearing_hasher(k: &u64, seed: u32) -> u64 {
    let h = VICTIM.load(Ordering::Relaxed);
    if !h.is_null() {
        // SAFETY: the victim map outlives every call (it is leaked below).
        unsafe { (*h).flags &= !HASH_WRITING };
    }
    gomap::hash_u64(*k, seed)
}

/// Sets `hashWriting` as a writer in another thread would.
fn another_writer_is_inside<K, V>(m: &Map<K, V>) {
    // SAFETY: the header lives as long as the map; this is the misuse being reproduced.
    unsafe { (*m.header().cast_mut()).flags |= HASH_WRITING };
}

/// A map of `n` entries whose next insert starts a doubling grow.
fn filled(n: u64) -> Map<u64, u64> {
    let m = Map::with_seed(0, 1);
    for k in 0..n {
        m.insert(k, k);
    }
    m
}

const CASES: &[(&str, &str)] = &[
    (
        "assign-entry",
        "insert while another writer is inside (entry check of assign_fast64)",
    ),
    (
        "assign-generic-entry",
        "the same through the generic assign",
    ),
    ("assign-str-entry", "the same through assign_faststr"),
    (
        "assign-end",
        "another writer clears the flag mid-insert (end check)",
    ),
    ("delete-entry", "delete while another writer is inside"),
    ("clear-entry", "clear while another writer is inside"),
    (
        "access-entry",
        "lookup while a writer is inside (access2_fast64)",
    ),
    ("access1-entry", "the same through access1_fast64"),
    (
        "iterate",
        "iteration step while a writer is inside (iter_next)",
    ),
];

fn main() -> ExitCode {
    let Some(case) = std::env::args().nth(1) else {
        eprintln!("usage: gomap-misuse CASE\ncases:");
        for (name, what) in CASES {
            eprintln!("  {name:22} {what}");
        }
        return ExitCode::from(2);
    };
    match case.as_str() {
        "assign-entry" => {
            let m = filled(3);
            another_writer_is_inside(&m);
            m.insert(100, 1);
        }
        "assign-generic-entry" => {
            let m = Map::<u32, u32>::with_seed(0, 1);
            m.insert(1, 1);
            another_writer_is_inside(&m);
            m.insert(2, 2);
        }
        "assign-str-entry" => {
            let m = Map::<&'static str, u32>::with_seed(0, 1);
            m.insert("a", 1);
            another_writer_is_inside(&m);
            m.insert("b", 2);
        }
        "assign-end" => {
            // 8 entries in one bucket: the 9th insert doubles, and its growth work rehashes the
            // old entries after the flag is set; the hasher clears it as a racing writer would.
            let m: &'static Map<u64, u64> =
                Box::leak(Box::new(Map::with_hasher(0, 1, clearing_hasher)));
            for k in 0..8 {
                m.insert(k, k);
            }
            VICTIM.store(m.header().cast_mut(), Ordering::Relaxed);
            m.insert(8, 8);
        }
        "delete-entry" => {
            let m = filled(3);
            another_writer_is_inside(&m);
            m.remove(&1);
        }
        "clear-entry" => {
            let m = filled(3);
            another_writer_is_inside(&m);
            m.clear();
        }
        "access-entry" => {
            let m = filled(3);
            another_writer_is_inside(&m);
            let _ = m.get(&1);
        }
        "access1-entry" => {
            let m = filled(3);
            another_writer_is_inside(&m);
            let _ = m.get_or_zero(&1);
        }
        "iterate" => {
            let m = filled(20);
            let mut it = m.iter();
            let _ = it.next();
            another_writer_is_inside(&m);
            let _ = it.next();
        }
        other => {
            eprintln!("gomap-misuse: unknown case {other:?} (run without arguments for the list)");
            return ExitCode::from(2);
        }
    }
    println!("no misuse detected");
    ExitCode::SUCCESS
}
