//! Probe points of gomap programs: `// probe: NAME` marker comments in gomap's sources,
//! resolved per function copy through the line tables (docs/profile.md, "Probes").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::code_points::{self, Point};
use crate::error::Result;
use crate::loader::Binary;
use crate::map_layouts::GOMAP_PREFIX;
use crate::names;
use crate::profile::Probe;
use crate::roles::{role_of, RoleFn};
use crate::symbols::{self, FuncSym};

/// A `// probe: NAME` marker in a source file.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub name: String,
    pub file: String,
    pub line: u32,
}

/// Finds `// probe: NAME` markers in a source file: (line, name).
pub fn find_markers(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("// probe:") {
            let name = rest.trim();
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), name.to_string()));
            }
        }
    }
    out
}

fn short_fn(name: &str) -> String {
    names::last_segment(&names::strip_generics(name)).to_string()
}

/// Resolves probe markers (see docs/profile.md, "Probes").
///
/// For each marker `// probe: NAME` at line M of file F and each function copy of
/// gomap's runtime: the source function enclosing the marker is the owner of the
/// closest line before M in that copy; the probe is the first line after M owned
/// by the same source function, at its lowest address in the copy. Lines come
/// from `is_stmt` line-table rows and from call sites of inlined functions (an
/// inlined helper's call line often has no row of its own).
pub fn gomap_probes(
    bin: &Binary<'_>,
    funcs: &[FuncSym],
    roles: &BTreeMap<String, Vec<RoleFn>>,
    inlined: &[symbols::Inlined],
    warnings: &mut Vec<String>,
    unresolved: &mut Vec<Marker>,
) -> Result<BTreeMap<String, Vec<Probe>>> {
    let bin_mtime = std::fs::metadata(bin.path())
        .and_then(|m| m.modified())
        .ok();
    // Every function of gomap's runtime (roles and anything else), sorted by address.
    let rt: Vec<&FuncSym> = funcs
        .iter()
        .filter(|f| f.name.starts_with(GOMAP_PREFIX))
        .collect();
    let ranges: Vec<(u64, u64)> = rt.iter().map(|f| (f.address, f.address + f.size)).collect();
    // Owners by their last path segment without generics: markers name source functions.
    let mut per_fn = code_points::points(bin, &ranges, inlined)?;
    for p in per_fn.values_mut().flatten() {
        p.owner = p.owner.as_deref().map(short_fn);
    }
    // Marker files: every file with lines in the runtime functions.
    let files: BTreeSet<std::sync::Arc<str>> =
        per_fn.values().flatten().map(|p| p.file.clone()).collect();
    let mut markers: Vec<(std::sync::Arc<str>, u32, String)> = Vec::new();
    // For each marker: the first line after it that looks like code (to warn when it has none).
    let mut next_code: HashMap<(std::sync::Arc<str>, u32), u32> = HashMap::new();
    for f in files {
        if f.contains("/rustc/") || f.contains("/.cargo/registry/") {
            continue;
        }
        let src_mtime = std::fs::metadata(f.as_ref())
            .and_then(|m| m.modified())
            .ok();
        if let (Some(s), Some(b)) = (src_mtime, bin_mtime) {
            if s > b {
                warnings.push(format!(
                    "source {f} is newer than the binary: probe lines may not match the code; rebuild the binary"
                ));
            }
        }
        match std::fs::read_to_string(f.as_ref()) {
            Ok(text) => {
                let src: Vec<&str> = text.lines().collect();
                for (line, name) in find_markers(&text) {
                    let code = (line as usize..src.len()).find(|&i| {
                        let t = src[i].trim();
                        !t.is_empty() && !t.starts_with("//")
                    });
                    if let Some(c) = code {
                        next_code
                            .insert((f.clone(), line), u32::try_from(c + 1).unwrap_or(u32::MAX));
                    }
                    markers.push((f.clone(), line, name));
                }
            }
            Err(e) => warnings.push(format!("cannot read source {f} for probe markers: {e}")),
        }
    }
    let mut out: BTreeMap<String, Vec<Probe>> = BTreeMap::new();
    for (file, marker, name) in &markers {
        for (&fi, points) in &per_fn {
            let in_file: Vec<&Point> = points.iter().filter(|p| p.file == *file).collect();
            // The source function enclosing the marker owns the closest line before it.
            let Some(before) = in_file
                .iter()
                .filter(|p| p.line < *marker)
                .max_by_key(|p| p.line)
            else {
                continue;
            };
            let Some(owner) = before.owner.as_deref() else {
                continue;
            };
            let owned: Vec<&&Point> = in_file
                .iter()
                .filter(|p| p.line > *marker && p.owner.as_deref() == Some(owner))
                .collect();
            let Some(line) = owned.iter().map(|p| p.line).min() else {
                continue;
            };
            let Some(address) = owned
                .iter()
                .filter(|p| p.line == line)
                .map(|p| p.address)
                .min()
            else {
                continue;
            };
            let f = rt[fi];
            out.entry(name.clone()).or_default().push(Probe {
                role: role_of(roles, &f.symbol),
                function: f.name.clone(),
                symbol: f.symbol.clone(),
                dwarf_name: roles
                    .values()
                    .flatten()
                    .find(|r| r.symbol == f.symbol)
                    .and_then(|r| r.dwarf_name.clone()),
                file: file.to_string(),
                line,
                marker_line: *marker,
                address,
                params: Vec::new(),
                cfa: None,
            });
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|p| (p.address, p.marker_line));
        list.dedup_by_key(|p| p.address);
    }
    let mut moved: BTreeSet<String> = BTreeSet::new();
    for (name, list) in &out {
        for p in list {
            let key = (std::sync::Arc::from(p.file.as_str()), p.marker_line);
            if let Some(&code) = next_code.get(&key) {
                if code != p.line {
                    moved.insert(format!(
                        "probe `{name}` at {}:{}: the statement on line {code} has no code, so the probe is at line {} instead; move the marker before a statement that compiles to code",
                        p.file, p.marker_line, p.line
                    ));
                }
            }
        }
    }
    warnings.extend(moved);
    for (file, line, name) in &markers {
        if !out.get(name).is_some_and(|l| {
            l.iter()
                .any(|p| p.file.as_str() == file.as_ref() && p.marker_line == *line)
        }) {
            unresolved.push(Marker {
                name: name.clone(),
                file: file.to_string(),
                line: *line,
            });
        }
    }
    Ok(out)
}
