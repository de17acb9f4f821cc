//! A structural check of a quiescent map, for tests and for detecting silent corruption.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;

use crate::runtime::{
    b_log2, bucket_at, bucket_mask, buckets, count, evacuated, flags, hash0, nevacuate,
    noldbuckets, oldbuckets, overflow, top, tophash, Bucket, Hmap, MapType, BUCKET_CNT, EMPTY_REST,
    EVACUATED_EMPTY, HASH_WRITING, MIN_TOP_HASH, SAME_SIZE_GROW,
};

/// A broken invariant, with enough detail to find it in a bucket dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantError(pub String);

impl fmt::Display for InvariantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "map invariant broken: {}", self.0)
    }
}

impl std::error::Error for InvariantError {}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(InvariantError(format!($($msg)*)));
        }
    };
}

/// Checks the invariants of the crate docs on a map no thread is using.
pub(crate) unsafe fn check<K: Eq + Hash, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
) -> Result<(), InvariantError> {
    ensure!(
        flags(h) & HASH_WRITING == 0,
        "hashWriting is set on an idle map"
    );
    let b = b_log2(h);
    let mut seen = HashSet::new();
    let mut live = 0usize;
    let old = oldbuckets(h);
    if old.is_null() {
        ensure!(
            flags(h) & SAME_SIZE_GROW == 0,
            "sameSizeGrow is set but the map is not growing"
        );
    } else {
        let n_old = noldbuckets(h);
        ensure!(
            nevacuate(h) < n_old,
            "nevacuate {} but only {n_old} old buckets",
            nevacuate(h)
        );
        for i in 0..n_old {
            let ob = bucket_at(old, i);
            if evacuated(ob) {
                check_all_evacuated(ob, i)?;
                continue;
            }
            ensure!(
                i >= nevacuate(h),
                "old bucket {i} is below nevacuate but not evacuated"
            );
            let old_mask = n_old - 1;
            live += check_chain(t, h, ob, i, old_mask, "old", &mut seen)?;
        }
    }
    let array = buckets(h);
    if !array.is_null() {
        for i in 0..1usize << b {
            live += check_chain(
                t,
                h,
                bucket_at(array, i),
                i,
                bucket_mask(b),
                "new",
                &mut seen,
            )?;
        }
    }
    ensure!(
        count(h) as usize == live,
        "count is {} but {live} slots are live",
        count(h)
    );
    Ok(())
}

/// Every slot of an evacuated old bucket's chain holds an evacuated state.
unsafe fn check_all_evacuated<K, V>(
    mut b: *mut Bucket<K, V>,
    index: usize,
) -> Result<(), InvariantError> {
    while !b.is_null() {
        for i in 0..BUCKET_CNT {
            let th = top(b, i);
            ensure!(
                (crate::runtime::EVACUATED_X..=EVACUATED_EMPTY).contains(&th),
                "old bucket {index} is partly evacuated: slot {i} has tophash {th}"
            );
        }
        b = overflow(b);
    }
    Ok(())
}

/// Checks one chain: states in order, live keys in the right bucket with the right tophash and
/// live nowhere else. Returns the number of live slots.
unsafe fn check_chain<'m, K: Eq + Hash, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    mut b: *mut Bucket<K, V>,
    index: usize,
    mask: usize,
    which: &str,
    seen: &mut HashSet<&'m K>,
) -> Result<usize, InvariantError> {
    let mut live = 0;
    let mut rest = false;
    while !b.is_null() {
        for i in 0..BUCKET_CNT {
            let th = top(b, i);
            if rest {
                ensure!(th == EMPTY_REST, "{which} bucket {index}: slot {i} follows an empty-rest slot but has tophash {th}");
                continue;
            }
            if th == EMPTY_REST {
                rest = true;
                continue;
            }
            if th < MIN_TOP_HASH {
                ensure!(
                    th == crate::runtime::EMPTY_ONE,
                    "{which} bucket {index}: slot {i} has state {th} outside an evacuated bucket"
                );
                continue;
            }
            let k: &'m K = &*crate::runtime::key_ptr(b, i);
            let hash = t.hash(k, hash0(h));
            ensure!(
                hash as usize & mask == index,
                "{which} bucket {index}: slot {i} holds a key of bucket {}",
                hash as usize & mask
            );
            ensure!(
                tophash(hash) == th,
                "{which} bucket {index}: slot {i} has tophash {th}, its key's is {}",
                tophash(hash)
            );
            ensure!(
                seen.insert(k),
                "{which} bucket {index}: slot {i} holds a key that is live elsewhere too"
            );
            live += 1;
        }
        b = overflow(b);
    }
    Ok(live)
}
