//! Running a function over every unit of `.debug_info` on all cores.
//!
//! Without a name index every DIE must be decoded, so scans are split across
//! threads: each thread pulls the next unit (largest first) until none are left.
//! The number of threads is the number of idle cores (the cores this process may run
//! on, less the other runnable tasks), at least one: on a busy machine a second thread
//! only competes with the work already there. Set `MAPSCOPE_THREADS=N` to choose.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gimli::UnitHeader;

use crate::error::{Error, Result};
use crate::loader::R;

/// All unit headers of `.debug_info`, in section order.
pub fn unit_headers<'a>(dwarf: &gimli::Dwarf<R<'a>>) -> Result<Vec<UnitHeader<R<'a>>>> {
    let mut out = Vec::new();
    let mut iter = dwarf.units();
    while let Some(h) = iter.next()? {
        out.push(h);
    }
    Ok(out)
}

/// Each unit's offset in `.debug_info`, in the order of `headers`.
pub fn unit_starts<'a>(headers: &[UnitHeader<R<'a>>]) -> Vec<usize> {
    headers
        .iter()
        .map(|h| h.offset().as_debug_info_offset().map_or(0, |o| o.0))
        .collect()
}

/// The units whose code holds one of `addrs` (the units to read for facts about the
/// functions at those addresses), or `None` when that cannot be told: read them all.
pub fn units_holding<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    headers: &[UnitHeader<R<'a>>],
    addrs: &[u64],
) -> Option<Vec<bool>> {
    let mut wanted = vec![false; headers.len()];
    mark_units_of(dwarf, headers, &unit_starts(headers), addrs, &mut wanted)?;
    Some(wanted)
}

/// Marks in `wanted` the units whose code holds one of `addrs`: from `.debug_aranges`, else
/// from the units' own ranges. `None` when a unit cannot be read (read them all).
pub fn mark_units_of<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    headers: &[UnitHeader<R<'a>>],
    starts: &[usize],
    addrs: &[u64],
    wanted: &mut [bool],
) -> Option<()> {
    let mut sorted: Vec<u64> = addrs.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut found = vec![false; sorted.len()];
    let mut aranges = dwarf.debug_aranges.headers();
    while let Ok(Some(h)) = aranges.next() {
        let unit = h.debug_info_offset().0;
        let mut entries = h.entries();
        while let Ok(Some(e)) = entries.next() {
            let lo = sorted.partition_point(|&a| a < e.address());
            let hi = sorted.partition_point(|&a| a < e.address().saturating_add(e.length()));
            if lo < hi {
                found[lo..hi].iter_mut().for_each(|f| *f = true);
                if let Ok(u) = starts.binary_search(&unit) {
                    wanted[u] = true;
                }
            }
        }
    }
    let missing: Vec<u64> = sorted
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(a, _)| *a)
        .collect();
    if !missing.is_empty() {
        for (i, h) in headers.iter().enumerate() {
            if wanted[i] {
                continue;
            }
            let Ok(unit) = dwarf.unit(*h) else {
                return None;
            };
            let Ok(mut ranges) = dwarf.unit_ranges(&unit) else {
                return None;
            };
            while let Ok(Some(r)) = ranges.next() {
                if missing.iter().any(|&a| r.begin <= a && a < r.end) {
                    wanted[i] = true;
                    break;
                }
            }
        }
    }
    Some(())
}

/// Number of worker threads to use: `MAPSCOPE_THREADS`, else the idle cores (at most 8).
pub fn threads() -> usize {
    if let Some(n) = std::env::var("MAPSCOPE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.clamp(1, 64);
    }
    // The cores of our affinity mask (cgroup quotas included).
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if cores <= 1 {
        return 1;
    }
    let busy = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| busy_cores(&s))
        .unwrap_or(0);
    idle_threads(cores, busy)
}

/// Other tasks keeping cores busy, from `/proc/loadavg`: the runnable tasks right now
/// (less this one), capped by the 1-minute load average, so that neither a passing burst
/// nor a stale average alone takes a core away.
fn busy_cores(loadavg: &str) -> Option<usize> {
    let mut fields = loadavg.split_whitespace();
    let load1: f64 = fields.next()?.parse().ok()?;
    let running: usize = fields.nth(2)?.split('/').next()?.parse().ok()?;
    let now = running.saturating_sub(1);
    let avg = if load1.is_finite() && load1 > 0.0 {
        load1.round() as usize
    } else {
        0
    };
    Some(now.min(avg))
}

/// Threads for `cores` usable cores of which `busy` run other work: the idle ones, at least 1.
fn idle_threads(cores: usize, busy: usize) -> usize {
    cores.saturating_sub(busy).clamp(1, cores.max(1))
}

/// Calls `f(index, header)` for every unit, in parallel, and returns the results
/// in unit order. The first error wins.
pub fn par_units<'a, T, F>(headers: &[UnitHeader<R<'a>>], f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize, &UnitHeader<R<'a>>) -> Result<T> + Sync,
{
    // Largest units first, so that the threads finish together.
    let mut order: Vec<usize> = (0..headers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(headers[i].length_including_self()));
    par_ordered(headers, &order, |i| f(i, &headers[i]))
}

/// Calls `f(item)` for every item, in parallel, and returns the results in order.
/// The first error wins.
pub fn par_items<I, T, F>(items: &[I], f: F) -> Result<Vec<T>>
where
    I: Sync,
    T: Send,
    F: Fn(&I) -> Result<T> + Sync,
{
    let order: Vec<usize> = (0..items.len()).collect();
    par_ordered(items, &order, |i| f(&items[i]))
}

/// Runs `f(i)` for each index of `items`, handing them out to the threads in `order`.
fn par_ordered<I, T, F>(items: &[I], order: &[usize], f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let n = threads().min(items.len().max(1));
    if n <= 1 {
        return (0..items.len()).map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<T>)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    let r = f(i);
                    let failed = r.is_err();
                    local.push((i, r));
                    if failed {
                        // Make the other threads stop early too.
                        next.store(order.len(), Ordering::Relaxed);
                        break;
                    }
                }
                if let Ok(mut g) = results.lock() {
                    g.extend(local);
                }
            });
        }
    });
    let mut results = results
        .into_inner()
        .map_err(|_| Error::Dwarf("worker thread failed".into()))?;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_cores() {
        // Idle machine: this process is the only runnable task.
        assert_eq!(busy_cores("0.20 0.30 0.40 1/95 123"), Some(0));
        assert_eq!(idle_threads(2, 0), 2);
        // The other core busy for a while: one thread.
        assert_eq!(busy_cores("1.02 1.00 0.90 2/95 123"), Some(1));
        assert_eq!(idle_threads(2, 1), 1);
        // A burst of runnable tasks, the average low: not taken as busy.
        assert_eq!(busy_cores("0.10 0.30 0.40 9/95 123"), Some(0));
        // Busy for a while but idle now: all cores.
        assert_eq!(busy_cores("3.00 3.00 3.00 1/95 123"), Some(0));
        // Overloaded: never fewer than one thread.
        assert_eq!(idle_threads(2, 7), 1);
        assert_eq!(idle_threads(8, 3), 5);
        // Unreadable: no answer (the caller assumes idle).
        assert_eq!(busy_cores("garbage"), None);
        assert_eq!(busy_cores(""), None);
    }
}
