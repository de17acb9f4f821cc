//! Running a function over every unit of `.debug_info` on all cores.
//!
//! Without a name index every DIE must be decoded, so scans are split across
//! threads: each thread pulls the next unit (largest first) until none are left.
//! Set `MAPSCOPE_THREADS=1` to scan on one thread.

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

/// Number of worker threads to use.
pub fn threads() -> usize {
    if let Some(n) = std::env::var("MAPSCOPE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.clamp(1, 64);
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
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
