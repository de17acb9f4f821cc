//! Line tables: address → file:line with the inline chain (via addr2line), and
//! FILE:LINE → the addresses a debugger would use (via a parallel scan of every
//! line program).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gimli::UnitHeader;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::loader::{Binary, R};
use crate::scan;
use crate::symbols::{self, FuncSym};

/// Address → source lookups (a thin wrapper over `addr2line`).
pub struct Context<'a> {
    inner: addr2line::Context<R<'a>>,
    /// Split units by DWO id: addr2line asks for them to name the functions of an
    /// address in a skeleton unit.
    split: HashMap<u64, Arc<gimli::Dwarf<R<'a>>>>,
}

/// One frame of an address's inline chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Frame {
    /// Function name (demangled, no hash).
    pub function: Option<String>,
    /// Source file.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
    /// Source column.
    pub column: Option<u32>,
}

impl<'a> Context<'a> {
    /// Builds the lookup context for a binary.
    pub fn new(bin: &'a Binary<'_>) -> Result<Context<'a>> {
        let mut sources = bin.dwarf_sources()?.into_iter();
        let main = match sources.next() {
            Some(s) => s.dwarf,
            None => bin.dwarf(),
        };
        let mut split = HashMap::new();
        for s in sources {
            let ids = crate::split::dwo_ids(&s.dwarf);
            let dwarf = Arc::new(s.dwarf);
            for id in ids {
                split.insert(id, dwarf.clone());
            }
        }
        Ok(Context {
            inner: addr2line::Context::from_dwarf(main)?,
            split,
        })
    }

    /// The file and line of an address (innermost, i.e. after inlining).
    pub fn location(&self, addr: u64) -> Option<(String, u32)> {
        let loc = self.inner.find_location(addr).ok()??;
        Some((loc.file?.to_string(), loc.line?))
    }

    /// The inline chain at `addr`, innermost frame first.
    pub fn frames(&self, addr: u64) -> Result<Vec<Frame>> {
        let mut out = Vec::new();
        let mut lookup = self.inner.find_frames(addr);
        let found = loop {
            match lookup {
                addr2line::LookupResult::Output(r) => break r,
                addr2line::LookupResult::Load { load, continuation } => {
                    let dwo = self.split.get(&load.dwo_id.0).cloned();
                    lookup = addr2line::LookupContinuation::resume(continuation, dwo);
                }
            }
        };
        let mut iter = match found {
            Ok(i) => i,
            Err(_) => return Ok(out),
        };
        while let Ok(Some(f)) = iter.next() {
            let function = f
                .function
                .as_ref()
                .and_then(|n| n.raw_name().ok())
                .map(|n| symbols::demangle(&n));
            let (file, line, column) = match &f.location {
                Some(l) => (l.file.map(str::to_string), l.line, l.column),
                None => (None, None, None),
            };
            out.push(Frame {
                function,
                file,
                line,
                column,
            });
        }
        Ok(out)
    }
}

/// File and line of `addr` without building a full addr2line context: find the
/// unit through `.debug_aranges`, then decode only that unit's line program until
/// the row covering `addr`. Returns `None` when aranges do not cover `addr`.
pub fn quick_location(bin: &Binary<'_>, addr: u64) -> Option<(String, u32)> {
    let dwarf = bin.dwarf();
    let mut headers = dwarf.debug_aranges.headers();
    let mut unit_off = None;
    'outer: while let Ok(Some(h)) = headers.next() {
        let mut entries = h.entries();
        while let Ok(Some(e)) = entries.next() {
            if addr >= e.address() && addr < e.address().saturating_add(e.length()) {
                unit_off = Some(h.debug_info_offset());
                break 'outer;
            }
        }
    }
    let header = dwarf.debug_info.header_from_offset(unit_off?).ok()?;
    let unit = dwarf.unit(header).ok()?;
    let program = unit.line_program.clone()?;
    let mut rows = program.rows();
    let mut prev: Option<(u64, u64, u64)> = None; // (address, file index, line)
    while let Ok(Some((hdr, row))) = rows.next_row() {
        if let Some((pa, pf, pl)) = prev {
            if pa <= addr && addr < row.address() && pl != 0 {
                let f = hdr.file(pf)?;
                return Some((file_path(&dwarf, &unit, hdr, f), u32::try_from(pl).ok()?));
            }
        }
        prev = if row.end_sequence() {
            None
        } else {
            Some((
                row.address(),
                row.file_index(),
                row.line().map(|l| l.get()).unwrap_or(0),
            ))
        };
    }
    None
}

/// A line-table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub address: u64,
    pub file: Arc<str>,
    pub line: u32,
    pub is_stmt: bool,
    /// Index of the row's unit among `.debug_info`'s units (section order).
    pub unit: usize,
}

/// Full path of a line-program file entry: comp_dir / directory / name.
pub fn file_path<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    header: &gimli::LineProgramHeader<R<'a>>,
    file: &gimli::FileEntry<R<'a>>,
) -> String {
    let s = |v| {
        dwarf
            .attr_string(unit, v)
            .ok()
            .map(|r| String::from_utf8_lossy(r.slice()).into_owned())
    };
    let name = s(file.path_name()).unwrap_or_default();
    if name.starts_with('/') {
        return name;
    }
    let mut path = String::new();
    if let Some(dir) = file.directory(header).and_then(s) {
        path = dir;
    }
    if !path.starts_with('/') {
        if let Some(comp) = unit
            .comp_dir
            .map(|c| String::from_utf8_lossy(c.slice()).into_owned())
        {
            path = if path.is_empty() {
                comp
            } else {
                format!("{comp}/{path}")
            };
        }
    }
    if path.is_empty() {
        name
    } else {
        format!("{}/{}", path.trim_end_matches('/'), name)
    }
}

/// Does `path` end with `suffix` on a `/` boundary (or equal it)?
pub fn path_matches(path: &str, suffix: &str) -> bool {
    let suffix = suffix.trim_start_matches("./");
    path == suffix
        || (path.ends_with(suffix)
            && path.as_bytes().get(path.len() - suffix.len() - 1) == Some(&b'/'))
}

/// Collects line rows from every unit, keeping those whose file passes `file_ok`
/// and whose row passes `row_ok(address, line)`.
pub fn rows(
    bin: &Binary<'_>,
    file_ok: &(dyn Fn(&str) -> bool + Sync),
    row_ok: &(dyn Fn(u64, u32) -> bool + Sync),
) -> Result<Vec<Row>> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let code = bin.code_ranges();
    let row_ok = |a: u64, l: u32| Binary::in_code(&code, a) && row_ok(a, l);
    let tables = crate::walk::Tables::new();
    let per_unit = scan::par_units(&headers, |i, h| {
        unit_rows(&dwarf, &tables, i, h, file_ok, &row_ok)
    })?;
    Ok(per_unit.into_iter().flatten().collect())
}

fn unit_rows<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    tables: &crate::walk::Tables,
    index: usize,
    header: &UnitHeader<R<'a>>,
    file_ok: &(dyn Fn(&str) -> bool + Sync),
    row_ok: &(dyn Fn(u64, u32) -> bool + Sync),
) -> Result<Vec<Row>> {
    // The unit from its root entry only (its abbreviations parsed by `walk`, not gimli);
    // anything unusual: gimli's way, which gives the same unit or the error.
    let unit = match tables
        .get(dwarf, header)
        .and_then(|t| crate::walk::line_unit(dwarf, *header, &t))
    {
        Ok(u) => u,
        Err(_) => dwarf.unit(*header)?,
    };
    let Some(program) = unit.line_program.clone() else {
        return Ok(Vec::new());
    };
    // Resolve the file table first: a unit naming no wanted file needs no row decoding.
    let mut files: HashMap<u64, Option<Arc<str>>> = HashMap::new();
    {
        let hdr = program.header();
        let base: u64 = if hdr.version() >= 5 { 0 } else { 1 };
        for (i, f) in hdr.file_names().iter().enumerate() {
            let p = file_path(dwarf, &unit, hdr, f);
            files.insert(base + i as u64, file_ok(&p).then(|| Arc::from(p.as_str())));
        }
        if files.values().all(Option::is_none) {
            return Ok(Vec::new());
        }
    }
    let mut out = Vec::new();
    let mut rows = program.rows();
    while let Some((hdr, row)) = rows.next_row()? {
        if row.end_sequence() {
            continue;
        }
        let Some(line) = row.line() else { continue };
        let line = u32::try_from(line.get()).unwrap_or(u32::MAX);
        if !row_ok(row.address(), line) {
            continue;
        }
        let idx = row.file_index();
        let file = files
            .entry(idx)
            .or_insert_with(|| {
                let f = hdr.file(idx)?;
                let p = file_path(dwarf, &unit, hdr, f);
                file_ok(&p).then(|| Arc::from(p.as_str()))
            })
            .clone();
        if let Some(file) = file {
            out.push(Row {
                address: row.address(),
                file,
                line,
                is_stmt: row.is_stmt(),
                unit: index,
            });
        }
    }
    Ok(out)
}

/// Finds the function symbol containing `addr` in an address-sorted list.
pub fn containing(funcs: &[FuncSym], addr: u64) -> Option<&FuncSym> {
    let i = funcs.partition_point(|f| f.address <= addr);
    let f = funcs.get(i.checked_sub(1)?)?;
    (addr < f.address + f.size.max(1)).then_some(f)
}

fn containing_range<'s>(ranges: &[(u64, u64, &'s str)], addr: u64) -> Option<(u64, &'s str)> {
    let i = ranges.partition_point(|f| f.0 <= addr);
    let &(start, size, name) = ranges.get(i.checked_sub(1)?)?;
    (addr < start + size.max(1)).then_some((start, name))
}

/// A breakpoint location for a FILE:LINE query.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Location {
    pub address: u64,
    pub function: Option<String>,
    pub file: String,
    pub line: u32,
}

/// The answer to one query.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// `ADDR` → inline chain, innermost first.
    Address {
        query: String,
        address: u64,
        frames: Vec<Frame>,
    },
    /// `FILE:LINE` → one address per function.
    Line {
        query: String,
        requested_line: u32,
        line: u32,
        locations: Vec<Location>,
    },
}

/// Parses `0x`-prefixed hex or decimal.
pub fn parse_addr(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        s.parse().ok()
    } else {
        None
    }
}

/// Resolves FILE:LINE to the addresses gdb's `break FILE:LINE` uses: the line (or
/// the next line with code), then the lowest `is_stmt` address of it in each block
/// — each function, each inlined copy of a function, and each lexical block that
/// declares names — so that every inlined copy gets its own location.
pub fn line_locations(bin: &Binary<'_>, file: &str, line: u32) -> Result<(u32, Vec<Location>)> {
    let rows = rows(bin, &|p| path_matches(p, file), &|_, l| l >= line)?;
    let Some(target) = rows.iter().map(|r| r.line).min() else {
        return Err(Error::NotFound(format!(
            "no code for {}:{line} (no file matches, or no line at or after it)",
            crate::escape::text(file)
        )));
    };
    let at: Vec<&Row> = rows.iter().filter(|r| r.line == target).collect();
    let stmt: Vec<&Row> = at.iter().copied().filter(|r| r.is_stmt).collect();
    let chosen = if stmt.is_empty() { at } else { stmt };
    let blocks = blocks_of(bin, &chosen)?;
    let funcs = symbols::function_ranges(bin);
    let mut per_block: BTreeMap<BlockKey, &Row> = BTreeMap::new();
    for r in chosen {
        let key = match blocks.get(&(r.unit, r.address)) {
            Some(&die) => BlockKey::Die(r.unit, die),
            // No DIE covers the address: one location per function symbol and file.
            None => BlockKey::Symbol(
                containing_range(&funcs, r.address).map(|f| f.0),
                r.file.clone(),
            ),
        };
        let e = per_block.entry(key).or_insert(r);
        if r.address < e.address {
            *e = r;
        }
    }
    let mut locs: Vec<Location> = per_block
        .into_values()
        .map(|r| Location {
            address: r.address,
            function: containing_range(&funcs, r.address).map(|f| symbols::demangle(f.1)),
            file: r.file.to_string(),
            line: r.line,
        })
        .collect();
    locs.sort_by_key(|l| l.address);
    locs.dedup_by_key(|l| l.address);
    Ok((target, locs))
}

/// What gdb keeps one location of: a block DIE (unit index, offset in the unit), or,
/// where no DIE covers the address, a function symbol's start and the file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum BlockKey {
    Die(usize, usize),
    Symbol(Option<u64>, Arc<str>),
}

/// The innermost block DIE of each row's address, by (unit index, address). Only the
/// rows' units are read, and only the subtrees whose ranges contain a row.
fn blocks_of(bin: &Binary<'_>, rows: &[&Row]) -> Result<HashMap<(usize, u64), usize>> {
    let mut per_unit: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for r in rows {
        per_unit.entry(r.unit).or_default().push(r.address);
    }
    for addrs in per_unit.values_mut() {
        addrs.sort_unstable();
        addrs.dedup();
    }
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let wanted: Vec<(usize, Vec<u64>)> = per_unit.into_iter().collect();
    let found = scan::par_items(&wanted, |(i, addrs)| {
        let Some(header) = headers.get(*i) else {
            return Ok(Vec::new());
        };
        let unit = dwarf.unit(*header)?;
        let mut best: Vec<Option<(usize, usize)>> = vec![None; addrs.len()];
        let mut tree = unit.entries_tree(None)?;
        block_walk(&dwarf, &unit, tree.root()?, 0, addrs, &mut best)?;
        Ok(addrs
            .iter()
            .zip(best)
            .filter_map(|(&a, b)| Some(((*i, a), b?.1)))
            .collect::<Vec<_>>())
    })?;
    Ok(found.into_iter().flatten().collect())
}

/// Tags whose DIEs gdb turns into blocks: functions and inlined copies always, lexical
/// blocks when they declare names.
fn is_scope(tag: gimli::DwTag) -> bool {
    matches!(
        tag,
        gimli::DW_TAG_subprogram | gimli::DW_TAG_inlined_subroutine | gimli::DW_TAG_lexical_block
    )
}

/// Names declared in a scope make a lexical block a block of its own.
fn declares_name(tag: gimli::DwTag) -> bool {
    matches!(
        tag,
        gimli::DW_TAG_variable
            | gimli::DW_TAG_label
            | gimli::DW_TAG_typedef
            | gimli::DW_TAG_structure_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type
            | gimli::DW_TAG_class_type
    )
}

/// Does this DIE carry a name, its own or its origin's?
fn named(entry: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>) -> Result<bool> {
    Ok(entry.attr(gimli::DW_AT_name)?.is_some()
        || entry.attr(gimli::DW_AT_abstract_origin)?.is_some()
        || entry.attr(gimli::DW_AT_specification)?.is_some())
}

/// Does the DIE at `origin` (the abstract lexical block of an inlined copy) declare names?
/// gdb gives a concrete block the names of its abstract origin too.
fn origin_declares(
    unit: &gimli::Unit<R<'_>>,
    entry: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
) -> Result<bool> {
    let Some(gimli::AttributeValue::UnitRef(off)) =
        entry.attr_value(gimli::DW_AT_abstract_origin)?
    else {
        return Ok(false);
    };
    let mut tree = unit.entries_tree(Some(off))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(c) = children.next()? {
        let e = c.entry();
        if declares_name(e.tag()) && named(e)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Nesting beyond which [`block_walk`] stops descending (bounds its recursion).
const MAX_DEPTH: usize = 512;

/// Visits `node`'s subtree, descending into scopes only where their ranges contain one
/// of `addrs`; records in `best` the deepest block containing each address.
fn block_walk<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    node: gimli::EntriesTreeNode<'_, '_, '_, R<'a>>,
    depth: usize,
    addrs: &[u64],
    best: &mut [Option<(usize, usize)>],
) -> Result<()> {
    if depth > MAX_DEPTH {
        // Deeper than any compiler nests scopes: a hostile file; stop descending.
        return Ok(());
    }
    let entry = node.entry();
    let tag = entry.tag();
    let offset = entry.offset().0;
    let mut inside: Vec<usize> = Vec::new();
    let scope = is_scope(tag);
    let mut is_block = false;
    if scope {
        let ranges = crate::locations::die_ranges(dwarf, unit, entry)?;
        if ranges.is_empty() && tag != gimli::DW_TAG_lexical_block {
            // A declaration, or code that was dropped: nothing of ours inside.
            return Ok(());
        }
        for (i, &a) in addrs.iter().enumerate() {
            if ranges.iter().any(|&(lo, hi)| lo <= a && a < hi) {
                inside.push(i);
            }
        }
        if inside.is_empty() && !ranges.is_empty() {
            return Ok(());
        }
        // A lexical block without addresses is transparent (its children are the
        // enclosing scope's).
        is_block = !ranges.is_empty()
            && (tag != gimli::DW_TAG_lexical_block || origin_declares(unit, entry)?);
    }
    let mut children = node.children();
    while let Some(child) = children.next()? {
        let e = child.entry();
        if is_scope(e.tag()) {
            block_walk(dwarf, unit, child, depth + 1, addrs, best)?;
        } else if scope && !is_block && declares_name(e.tag()) && named(e)? {
            is_block = !inside.is_empty();
        } else if !scope
            && !matches!(
                e.tag(),
                gimli::DW_TAG_formal_parameter
                    | gimli::DW_TAG_variable
                    | gimli::DW_TAG_member
                    | gimli::DW_TAG_template_type_parameter
            )
        {
            // Namespaces, types and the unit itself may hold functions.
            block_walk(dwarf, unit, child, depth + 1, addrs, best)?;
        }
    }
    if is_block {
        for i in inside {
            if best[i].map_or(true, |(d, _)| d < depth) {
                best[i] = Some((depth, offset));
            }
        }
    }
    Ok(())
}

/// `mapscope lines`: answers each query (address or FILE:LINE).
pub fn query(bin: &Binary<'_>, queries: &[String]) -> Result<Vec<Answer>> {
    let mut ctx: Option<Context<'_>> = None;
    let mut out = Vec::new();
    for q in queries {
        if let Some(addr) = parse_addr(q) {
            if ctx.is_none() {
                validate_roots(bin)?;
            }
            if !in_code(bin, addr) {
                return Err(Error::NotFound(format!(
                    "address {} is not in any code section of the binary",
                    crate::escape::text(q)
                )));
            }
            if ctx.is_none() {
                ctx = Some(Context::new(bin)?);
            }
            let frames = match &ctx {
                Some(c) => c.frames(addr)?,
                None => Vec::new(),
            };
            if frames.is_empty() {
                validate(bin)?;
                return Err(Error::NotFound(format!(
                    "no line information for address {}",
                    crate::escape::text(q)
                )));
            }
            out.push(Answer::Address {
                query: q.clone(),
                address: addr,
                frames,
            });
        } else if let Some((file, line)) = q.rsplit_once(':') {
            let line: u32 = line.parse().map_err(|_| {
                Error::Usage(format!(
                    "`{}` is neither an address nor FILE:LINE",
                    crate::escape::text(q)
                ))
            })?;
            let (actual, locations) = line_locations(bin, file, line)?;
            out.push(Answer::Line {
                query: q.clone(),
                requested_line: line,
                line: actual,
                locations,
            });
        } else {
            return Err(Error::Usage(format!(
                "`{}` is neither an address (0x...) nor FILE:LINE",
                crate::escape::text(q)
            )));
        }
    }
    Ok(out)
}

/// Is `addr` inside an executable section?
fn in_code(bin: &Binary<'_>, addr: u64) -> bool {
    Binary::in_code(&bin.code_ranges(), addr)
}

/// Parses every unit's header and root entry (cheap): addr2line silently skips
/// broken units, and a corrupt file should be reported as such.
pub fn validate_roots(bin: &Binary<'_>) -> Result<()> {
    let dwarf = bin.dwarf();
    for h in scan::unit_headers(&dwarf)? {
        dwarf.unit(h)?;
    }
    Ok(())
}

/// Parses every unit's header and root entry, so that corrupt DWARF is reported
/// as such rather than as "not found".
pub fn validate(bin: &Binary<'_>) -> Result<()> {
    let dwarf = bin.dwarf();
    for h in scan::unit_headers(&dwarf)? {
        let unit = dwarf.unit(h)?;
        let mut entries = unit.entries_raw(None)?;
        while !entries.is_empty() {
            if let Some(abbrev) = entries.read_abbreviation()? {
                entries.skip_attributes(abbrev.attributes())?;
            }
        }
    }
    Ok(())
}

/// Renders answers as text.
pub fn render(answers: &[Answer]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for a in answers {
        match a {
            Answer::Address { query, frames, .. } => {
                let _ = writeln!(s, "{query}:");
                for (i, f) in frames.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "  {}{} at {}:{}",
                        if i == 0 { "" } else { "(inlined into) " },
                        f.function.as_deref().unwrap_or("??"),
                        f.file.as_deref().unwrap_or("??"),
                        f.line.map(|l| l.to_string()).unwrap_or_else(|| "?".into())
                    );
                }
            }
            Answer::Line {
                query,
                requested_line,
                line,
                locations,
            } => {
                let note = if line != requested_line {
                    format!(" (line {line} has the code)")
                } else {
                    String::new()
                };
                let _ = writeln!(s, "{query}:{note}");
                for l in locations {
                    let _ = writeln!(
                        s,
                        "  {:#x} in {} at {}:{}",
                        l.address,
                        l.function.as_deref().unwrap_or("??"),
                        l.file,
                        l.line
                    );
                }
            }
        }
    }
    s
}
