//! Where source lines begin in given functions: the `is_stmt` rows of the line tables inside
//! each function, and the call sites of functions inlined into it (an inlined call's line often
//! has no row of its own: its code is the callee's). Probe resolution (gomap markers, Go
//! statement patterns) picks addresses among these points.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::lines::{self, Context};
use crate::loader::Binary;
use crate::symbols::Inlined;

/// A place in a function copy where a source line begins.
#[derive(Debug, Clone)]
pub struct Point {
    pub address: u64,
    pub file: Arc<str>,
    pub line: u32,
    /// The source function the line is written in (the innermost function at the address, or
    /// the caller of an inlined call), as named by the debug info.
    pub owner: Option<String>,
}

/// Points of each function `[start, end)` in `ranges` (sorted, disjoint), by index in `ranges`.
pub fn points(
    bin: &Binary<'_>,
    ranges: &[(u64, u64)],
    inlined: &[Inlined],
) -> Result<HashMap<usize, Vec<Point>>> {
    let fn_index = |addr: u64| -> Option<usize> {
        let i = ranges.partition_point(|r| r.0 <= addr);
        (i > 0 && addr < ranges[i - 1].1).then(|| i - 1)
    };
    let rows = lines::rows(bin, &|_| true, &|a, _| fn_index(a).is_some())?;
    let ctx = Context::new(bin)?;
    let owner_at = |addr: u64| -> Option<String> {
        ctx.frames(addr)
            .ok()
            .and_then(|fr| fr.into_iter().next())
            .and_then(|f| f.function)
    };
    let mut per_fn: HashMap<usize, Vec<Point>> = HashMap::new();
    for r in rows.iter().filter(|r| r.is_stmt) {
        if let Some(i) = fn_index(r.address) {
            per_fn.entry(i).or_default().push(Point {
                address: r.address,
                file: r.file.clone(),
                line: r.line,
                owner: owner_at(r.address),
            });
        }
    }
    for site in inlined {
        let (Some(i), Some(file), Some(line)) =
            (fn_index(site.address), &site.call_file, site.call_line)
        else {
            continue;
        };
        per_fn.entry(i).or_default().push(Point {
            address: site.address,
            file: Arc::from(file.as_str()),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            owner: site.caller.clone(),
        });
    }
    Ok(per_fn)
}
