//! Functions: the ELF symbol table (demangled), source locations from the line
//! tables, and inlined instances from `DW_TAG_inlined_subroutine` entries.

use std::collections::HashMap;

use gimli::constants as dw;
use gimli::{AttributeValue, UnitHeader};
use object::{Object, ObjectSymbol, SymbolKind};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::lines;
use crate::loader::{Binary, R};
use crate::scan;
use crate::types::attr_str;

/// A function symbol.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FuncSym {
    /// Demangled name without the hash suffix (Go names unchanged).
    pub name: String,
    /// The raw symbol name.
    pub symbol: String,
    /// Start address.
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A function with its source location.
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    #[serde(flatten)]
    pub sym: FuncSym,
    /// Source file of the function's first instruction.
    pub file: Option<String>,
    /// Source line of the function's first instruction.
    pub line: Option<u32>,
    /// The DWARF name with generic arguments (`...::hash_grow<i64, i64>`), when known.
    pub dwarf_name: Option<String>,
}

/// One place where a function was inlined.
#[derive(Debug, Clone, Serialize)]
pub struct Inlined {
    /// The inlined function's name.
    pub function: String,
    /// Entry address of the inlined code (`DW_AT_entry_pc`, else `DW_AT_low_pc`,
    /// else the start of its first range): where a debugger stops.
    pub address: u64,
    /// Bytes of inlined code (sum of its ranges).
    pub size: u64,
    /// Where the call was (file).
    pub call_file: Option<String>,
    /// Where the call was (line).
    pub call_line: Option<u64>,
    /// The function (or inlined function) that contains the call.
    pub caller: Option<String>,
}

/// Result of `mapscope symbols`.
#[derive(Debug, Clone, Serialize)]
pub struct Symbols {
    pub functions: Vec<Function>,
    pub inlined: Vec<Inlined>,
}

/// Demangles a Rust symbol without its hash; other names are returned as-is.
pub fn demangle(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(d) => format!("{d:#}"),
        Err(_) => name.to_string(),
    }
}

/// A `symbols` pattern, prepared once so that matching costs time linear in the
/// pattern and the symbol table, not their product.
struct Pattern<'p> {
    text: &'p str,
    whole: memchr::memmem::Finder<'p>,
    /// Identifiers of the pattern that must appear verbatim in the mangled name:
    /// distinct, longest (most selective) first, at most [`MAX_IDENTS`].
    idents: Vec<memchr::memmem::Finder<'p>>,
}

/// More identifiers would make the cheap test cost more than demangling.
const MAX_IDENTS: usize = 8;

impl<'p> Pattern<'p> {
    fn new(text: &'p str) -> Pattern<'p> {
        let mut idents: Vec<&str> = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .filter(|s| !s.is_empty())
            .collect();
        idents.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        idents.dedup();
        idents.truncate(MAX_IDENTS);
        Pattern {
            text,
            whole: memchr::memmem::Finder::new(text.as_bytes()),
            idents: idents
                .into_iter()
                .map(|i| memchr::memmem::Finder::new(i.as_bytes()))
                .collect(),
        }
    }

    /// Cheap test that a raw symbol may demangle to something containing the
    /// pattern: its identifiers appear verbatim in the mangled name.
    fn may_match(&self, raw: &str) -> bool {
        self.idents
            .iter()
            .all(|f| f.needle().len() <= raw.len() && f.find(raw.as_bytes()).is_some())
    }

    /// Does a demangled name contain the pattern?
    fn matches(&self, name: &str) -> bool {
        name.len() >= self.text.len() && self.whole.find(name.as_bytes()).is_some()
    }
}

/// Function symbols as (address, size, raw name), sorted by address, without
/// demangling (cheap; for address → function lookups).
pub fn function_ranges<'d>(bin: &Binary<'d>) -> Vec<(u64, u64, &'d str)> {
    let obj = bin.symbol_object();
    let mut out: Vec<(u64, u64, &'d str)> = obj
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && !s.is_undefined() && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?)))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// All function symbols (sorted by address, deduplicated), optionally filtered by
/// a substring of the demangled name.
pub fn functions(bin: &Binary<'_>, pattern: Option<&str>) -> Vec<FuncSym> {
    let obj = bin.symbol_object();
    let pattern = pattern.map(Pattern::new);
    let mut out: Vec<FuncSym> = Vec::new();
    let mut push = |sym: object::Symbol<'_, '_>| {
        if sym.kind() != SymbolKind::Text || sym.is_undefined() || sym.address() == 0 {
            return;
        }
        let Ok(raw) = sym.name() else { return };
        if let Some(p) = &pattern {
            if !p.may_match(raw) {
                return;
            }
        }
        let name = demangle(raw);
        if let Some(p) = &pattern {
            if !p.matches(&name) {
                return;
            }
        }
        out.push(FuncSym {
            name,
            symbol: raw.to_string(),
            address: sym.address(),
            size: sym.size(),
        });
    };
    let mut any = false;
    for s in obj.symbols() {
        any = true;
        push(s);
    }
    if !any {
        for s in obj.dynamic_symbols() {
            push(s);
        }
    }
    out.sort_by(|a, b| (a.address, &a.symbol).cmp(&(b.address, &b.symbol)));
    out.dedup_by(|a, b| a.address == b.address && a.symbol == b.symbol);
    out
}

/// `mapscope symbols`: functions matching `pattern`, with locations, and (when
/// `inlined`) the places where matching functions were inlined.
pub fn lookup(bin: &Binary<'_>, pattern: Option<&str>, inlined: bool) -> Result<Symbols> {
    let syms = functions(bin, pattern);
    // A few functions: decode only their units' line programs (fast on huge binaries);
    // many: one addr2line context for all.
    let quick = syms.len() <= 16;
    let mut ctx: Option<lines::Context<'_>> = None;
    let (inl, dwarf_names) = if inlined {
        let addrs: Vec<u64> = syms.iter().map(|s| s.address).collect();
        scan_functions_for(bin, pattern, &addrs)?
    } else {
        (Vec::new(), HashMap::new())
    };
    let functions: Vec<Function> = syms
        .into_iter()
        .map(|sym| {
            let loc = quick
                .then(|| lines::quick_location(bin, sym.address))
                .flatten()
                .or_else(|| {
                    if ctx.is_none() {
                        ctx = lines::Context::new(bin).ok();
                    }
                    ctx.as_ref().and_then(|c| c.location(sym.address))
                });
            Function {
                file: loc.as_ref().map(|l| l.0.clone()),
                line: loc.map(|l| l.1),
                dwarf_name: dwarf_names.get(&sym.address).cloned(),
                sym,
            }
        })
        .collect();
    if functions.is_empty() && inl.is_empty() {
        if inlined {
            // Only some units were read: a corrupt file is reported as such, not as "not found".
            lines::validate(bin)?;
        }
        return Err(Error::NotFound(match pattern {
            Some(p) => format!("no function matches `{}`", crate::escape::text(p)),
            None => "the binary has no function symbols".to_string(),
        }));
    }
    Ok(Symbols {
        functions,
        inlined: inl,
    })
}

/// One unit's inlined instances, and (start address, DWARF name) of its functions.
type UnitFunctions = (Vec<Inlined>, Vec<(u64, String)>);

/// Qualified name, linkage name, and the origin/specification a subprogram refers to.
type SubprogramName<'a> = (
    Option<String>,
    Option<&'a str>,
    Option<gimli::DebugInfoOffset>,
);

struct RawInline {
    origin: gimli::DebugInfoOffset,
    address: u64,
    size: u64,
    call_file: Option<u64>,
    call_line: Option<u64>,
    caller: Option<gimli::DebugInfoOffset>,
}

/// Scans all units for inlined subroutines whose function name contains `pattern`.
pub fn inlined_instances(bin: &Binary<'_>, pattern: Option<&str>) -> Result<Vec<Inlined>> {
    Ok(scan_functions(bin, pattern)?.0)
}

/// One DWARF scan: inlined instances matching `pattern`, and the DWARF name
/// (namespace path + `DW_AT_name`, which carries generic arguments in Rust, e.g.
/// `gomap::runtime::grow::hash_grow<i64, i64>`) of every concrete function by its
/// start address.
pub fn scan_functions(
    bin: &Binary<'_>,
    pattern: Option<&str>,
) -> Result<(Vec<Inlined>, HashMap<u64, String>)> {
    scan_units(bin, pattern, None)
}

/// [`scan_functions`] for a `symbols` query: the inlined instances matching `pattern` and
/// the DWARF names of the functions at `addrs`, reading only the units that can hold
/// them (see [`candidate_units`]).
pub fn scan_functions_for(
    bin: &Binary<'_>,
    pattern: Option<&str>,
    addrs: &[u64],
) -> Result<(Vec<Inlined>, HashMap<u64, String>)> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let wanted = pattern.and_then(|p| candidate_units(bin, &dwarf, &headers, p, addrs));
    scan_units(bin, pattern, wanted)
}

/// [`scan_functions`] for the functions at `addrs` only: every inlined instance in the units
/// that hold their code (an inlined instance is a child of the function it was inlined
/// into, so it lives in that function's unit) and their DWARF names. The profile's roles
/// need no more, and on a Rust debug build the other units are most of the DWARF.
pub fn scan_functions_at(
    bin: &Binary<'_>,
    addrs: &[u64],
) -> Result<(Vec<Inlined>, HashMap<u64, String>)> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    scan_units(bin, None, scan::units_holding(&dwarf, &headers, addrs))
}

fn scan_units(
    bin: &Binary<'_>,
    pattern: Option<&str>,
    wanted: Option<Vec<bool>>,
) -> Result<(Vec<Inlined>, HashMap<u64, String>)> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let mut per_unit = scan::par_units(&headers, |i, h| {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.get(i).copied().unwrap_or(true))
        {
            return Ok((Vec::new(), Vec::new()));
        }
        let unit = dwarf.unit(*h)?;
        inline_unit(&dwarf, &unit, h, (&dwarf, &unit), pattern)
    })?;
    per_unit.extend(split_functions(bin, &dwarf, &headers, pattern)?);
    let mut out = Vec::new();
    let mut names = HashMap::new();
    // Skip code the linker discarded (its DWARF remains, at addresses near 0).
    let code = bin.code_ranges();
    for (inl, n) in per_unit {
        out.extend(
            inl.into_iter()
                .filter(|i| Binary::in_code(&code, i.address)),
        );
        names.extend(n.into_iter().filter(|(a, _)| Binary::in_code(&code, *a)));
    }
    out.sort_by(|a, b| (&a.function, a.address).cmp(&(&b.function, b.address)));
    Ok((out, names))
}

/// More candidate names than this: a scan of every unit is as quick as finding them.
const MAX_CANDIDATE_NAMES: usize = 256;

/// The units of `.debug_info` that can hold an inlined instance of a function whose name
/// contains `pattern`, or the concrete function at one of `addrs`; `None` when every
/// unit must be read. An inlined instance is named by its origin's DIE in the same unit,
/// whose linkage name (or name) then contains the pattern's identifiers: find those
/// strings in `.debug_str`, then the units whose bytes hold their offsets (a
/// `DW_FORM_strp` value; a chance match only adds a unit), or the pattern itself (an
/// inline `DW_FORM_string`, as Go writes). DWARF 5 units with string offsets tables are
/// always read; the units of `addrs` come from `.debug_aranges`, else from the units'
/// own ranges. Not seen: a function without a linkage name whose pattern match spans
/// its enclosing namespaces (`crate::f` for a `#[no_mangle] fn f`); search for `f`.
fn candidate_units<'a>(
    bin: &Binary<'_>,
    dwarf: &gimli::Dwarf<R<'a>>,
    headers: &[UnitHeader<R<'a>>],
    pattern: &str,
    addrs: &[u64],
) -> Option<Vec<bool>> {
    let pat = Pattern::new(pattern);
    // An identifier found verbatim in any name that can match: a path segment, not a word
    // the demangler writes (v0 mangling encodes `{closure#0}`, `i64`, `dyn` otherwise).
    let longest = pat
        .idents
        .iter()
        .map(|f| f.needle())
        .find(|i| verbatim_ident(i))?;
    let info = bin.section(gimli::SectionId::DebugInfo);
    let strs = bin.section(gimli::SectionId::DebugStr);
    let starts = scan::unit_starts(headers);
    let mut wanted = vec![false; headers.len()];
    let has_str_offsets = !bin.section(gimli::SectionId::DebugStrOffsets).is_empty();
    for (i, h) in headers.iter().enumerate() {
        if h.version() >= 5 && has_str_offsets {
            wanted[i] = true;
        }
    }
    // Names in .debug_str that can match.
    let mut names: Vec<usize> = Vec::new();
    let mut next = 0;
    for hit in memchr::memmem::find_iter(strs, longest) {
        if hit < next {
            continue;
        }
        let start = memchr::memrchr(0, &strs[..hit]).map_or(0, |z| z + 1);
        let end = memchr::memchr(0, &strs[hit..]).map_or(strs.len(), |z| hit + z);
        next = end;
        let Ok(text) = std::str::from_utf8(&strs[start..end]) else {
            continue;
        };
        let can_match = if legacy_mangled(text) {
            pat.may_match(text) && pat.matches(&demangle(text))
        } else if text.starts_with("_R") {
            pat.matches(&demangle(text))
        } else {
            pat.matches(text)
        };
        if can_match {
            names.push(start);
            if names.len() > MAX_CANDIDATE_NAMES {
                return None;
            }
        }
    }
    // Any 64-bit unit would hold 8-byte offsets: read them all.
    if headers.iter().any(|h| h.format() == gimli::Format::Dwarf64) {
        return None;
    }
    let big_endian = matches!(bin.endian(), gimli::RunTimeEndian::Big);
    let inline: Vec<&[u8]> = if pattern.is_empty() {
        Vec::new()
    } else {
        vec![pattern.as_bytes()]
    };
    let named = crate::prefilter::units_with_names(info, &starts, &names, &inline, big_endian)?;
    for (w, n) in wanted.iter_mut().zip(named) {
        *w |= n;
    }
    scan::mark_units_of(dwarf, headers, &starts, addrs, &mut wanted)?;
    Some(wanted)
}

/// With split DWARF the functions are in the split units, and their addresses
/// (`DW_AT_addr_base`) and line tables in the skeleton units of the binary.
fn split_functions<'a>(
    bin: &'a Binary<'_>,
    main: &gimli::Dwarf<R<'a>>,
    headers: &[UnitHeader<R<'a>>],
    pattern: Option<&str>,
) -> Result<Vec<UnitFunctions>> {
    let srcs = bin.dwarf_sources()?;
    if srcs.len() < 2 {
        return Ok(Vec::new());
    }
    let mut skeletons: HashMap<u64, gimli::Unit<R<'a>>> = HashMap::new();
    for h in headers {
        if let Ok(u) = main.unit(*h) {
            if let Some(id) = u.dwo_id {
                skeletons.insert(id.0, u);
            }
        }
    }
    let mut out = Vec::new();
    for src in &srcs[1..] {
        let mut units = src.dwarf.units();
        while let Some(h) = units.next()? {
            let mut unit = src.dwarf.unit(h)?;
            let Some(sk) = unit.dwo_id.and_then(|id| skeletons.get(&id.0)) else {
                continue;
            };
            unit.copy_relocated_attributes(sk);
            out.push(inline_unit(&src.dwarf, &unit, &h, (main, sk), pattern)?);
        }
    }
    Ok(out)
}

/// One unit's functions. `line_table` is the unit whose line table the call
/// sites' file numbers refer to: the unit itself, or a split unit's skeleton.
fn inline_unit<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    header: &UnitHeader<R<'a>>,
    line_table: (&gimli::Dwarf<R<'a>>, &gimli::Unit<R<'a>>),
    pattern: Option<&str>,
) -> Result<UnitFunctions> {
    let mut starts: Vec<(u64, gimli::DebugInfoOffset)> = Vec::new();
    let mut entries = header.entries_raw(&unit.abbreviations, None)?;
    let mut scopes: Vec<(isize, String)> = Vec::new();
    let mut funcs: Vec<(isize, gimli::DebugInfoOffset)> = Vec::new();
    // Subprogram offset → (qualified name, linkage name, origin/specification).
    let mut names: HashMap<gimli::DebugInfoOffset, SubprogramName<'_>> = HashMap::new();
    let mut raws: Vec<RawInline> = Vec::new();
    while !entries.is_empty() {
        let uoff = entries.next_offset();
        let depth = entries.next_depth();
        let Some(abbrev) = entries.read_abbreviation()? else {
            continue;
        };
        while scopes.last().is_some_and(|(d, _)| *d >= depth) {
            scopes.pop();
        }
        while funcs.last().is_some_and(|(d, _)| *d >= depth) {
            funcs.pop();
        }
        let tag = abbrev.tag();
        let off = uoff
            .to_debug_info_offset(header)
            .unwrap_or(gimli::DebugInfoOffset(0));
        match tag {
            dw::DW_TAG_namespace
            | dw::DW_TAG_structure_type
            | dw::DW_TAG_enumeration_type
            | dw::DW_TAG_union_type => {
                let mut name = None;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec)?;
                    if attr.name() == dw::DW_AT_name {
                        name = attr_str(dwarf, unit, attr.value());
                    }
                }
                if let (Some(n), true) = (name, abbrev.has_children()) {
                    scopes.push((depth, n.to_string()));
                }
            }
            dw::DW_TAG_subprogram => {
                let mut name = None;
                let mut linkage = None;
                let mut origin = None;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec)?;
                    match attr.name() {
                        dw::DW_AT_low_pc => {
                            if let Some(a) = dwarf.attr_address(unit, attr.value())? {
                                starts.push((a, off));
                            }
                        }
                        dw::DW_AT_name => name = attr_str(dwarf, unit, attr.value()),
                        dw::DW_AT_linkage_name | dw::DW_AT_MIPS_linkage_name => {
                            linkage = attr_str(dwarf, unit, attr.value())
                        }
                        dw::DW_AT_abstract_origin | dw::DW_AT_specification => {
                            origin = crate::types::ref_offset(header, &attr.value())
                        }
                        _ => {}
                    }
                }
                let qualified = name.map(|n| {
                    let mut s = String::new();
                    for (_, p) in &scopes {
                        s.push_str(p);
                        s.push_str("::");
                    }
                    s.push_str(n);
                    s
                });
                names.insert(off, (qualified, linkage, origin));
                if abbrev.has_children() {
                    funcs.push((depth, off));
                }
            }
            dw::DW_TAG_inlined_subroutine => {
                let mut r = RawInline {
                    origin: gimli::DebugInfoOffset(0),
                    address: 0,
                    size: 0,
                    call_file: None,
                    call_line: None,
                    caller: funcs.last().map(|(_, o)| *o),
                };
                let mut low = None;
                let mut high = None;
                let mut ranges = None;
                let mut entry_pc = None;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec)?;
                    match attr.name() {
                        dw::DW_AT_abstract_origin => {
                            if let Some(o) = crate::types::ref_offset(header, &attr.value()) {
                                r.origin = o;
                            }
                        }
                        dw::DW_AT_low_pc => low = dwarf.attr_address(unit, attr.value())?,
                        dw::DW_AT_entry_pc => entry_pc = dwarf.attr_address(unit, attr.value())?,
                        dw::DW_AT_high_pc => high = Some(attr.value()),
                        dw::DW_AT_ranges => ranges = Some(attr.value()),
                        dw::DW_AT_call_file => r.call_file = attr.udata_value(),
                        dw::DW_AT_call_line => r.call_line = attr.udata_value(),
                        _ => {}
                    }
                }
                if let Some(low) = low {
                    r.address = low;
                    r.size = match high {
                        Some(AttributeValue::Addr(h)) => h.saturating_sub(low),
                        Some(AttributeValue::DebugAddrIndex(i)) => dwarf
                            .address(unit, i)
                            .map(|h| h.saturating_sub(low))
                            .unwrap_or(0),
                        Some(v) => v.udata_value().unwrap_or(0),
                        None => 0,
                    };
                } else if let Some(rv) = ranges {
                    if let Some(ro) = dwarf.attr_ranges_offset(unit, rv)? {
                        let mut iter = dwarf.ranges(unit, ro)?;
                        let mut first = None;
                        while let Some(range) = iter.next()? {
                            first.get_or_insert(range.begin);
                            r.size += range.end.saturating_sub(range.begin);
                        }
                        r.address = first.unwrap_or(0);
                    }
                }
                if let Some(e) = entry_pc {
                    r.address = e;
                }
                raws.push(r);
                if abbrev.has_children() {
                    funcs.push((depth, off));
                    names.insert(off, (None, None, Some(r_origin(&raws))));
                }
            }
            _ => entries.skip_attributes(abbrev.attributes())?,
        }
    }
    let resolve = |mut off: gimli::DebugInfoOffset| -> Option<String> {
        for _ in 0..8 {
            let (q, l, o) = names.get(&off)?;
            if let Some(l) = l {
                return Some(demangle(l));
            }
            if let Some(q) = q {
                return Some(q.clone());
            }
            off = (*o)?;
        }
        None
    };
    let resolve_qualified = |mut off: gimli::DebugInfoOffset| -> Option<String> {
        for _ in 0..8 {
            let (q, _, o) = names.get(&off)?;
            if let Some(q) = q {
                return Some(q.clone());
            }
            off = (*o)?;
        }
        None
    };
    let dwarf_names: Vec<(u64, String)> = starts
        .iter()
        .filter(|(a, _)| *a != 0)
        .filter_map(|(a, o)| resolve_qualified(*o).map(|n| (*a, n)))
        .collect();
    let file_name = |idx: u64| -> Option<String> {
        let (ldwarf, lunit) = line_table;
        let program = lunit.line_program.as_ref()?;
        let hdr = program.header();
        let f = hdr.file(idx)?;
        Some(crate::lines::file_path(ldwarf, lunit, hdr, f))
    };
    // The matching name of each origin, worked out once per origin: a linkage name whose
    // identifiers are not all in it is not demangled.
    let pat = pattern.map(Pattern::new);
    let ascii = pattern.is_some_and(|p| p.is_ascii());
    let mut matching: HashMap<gimli::DebugInfoOffset, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for r in raws {
        let function = matching
            .entry(r.origin)
            .or_insert_with(|| {
                let mut off = r.origin;
                for _ in 0..8 {
                    let (q, l, o) = names.get(&off)?;
                    let name = match (l, q) {
                        (Some(l), _) => {
                            if ascii
                                && legacy_mangled(l)
                                && pat.as_ref().is_some_and(|p| !p.may_match(l))
                            {
                                return None;
                            }
                            demangle(l)
                        }
                        (None, Some(q)) => q.clone(),
                        (None, None) => {
                            off = (*o)?;
                            continue;
                        }
                    };
                    return pat
                        .as_ref()
                        .map_or(true, |p| p.matches(&name))
                        .then_some(name);
                }
                None
            })
            .clone();
        let Some(function) = function else {
            continue;
        };
        out.push(Inlined {
            function,
            address: r.address,
            size: r.size,
            call_file: r.call_file.and_then(file_name),
            call_line: r.call_line,
            caller: r.caller.and_then(resolve),
        });
    }
    Ok((out, dwarf_names))
}

/// A legacy Rust symbol (`_ZN...17h<hash>E`): every ASCII identifier of its demangled
/// form appears verbatim in it (v0 `_R` symbols encode closures, primitive types and
/// keywords; C++ encodes `int` as `i`).
fn legacy_mangled(raw: &str) -> bool {
    let b = raw.as_bytes();
    raw.starts_with("_ZN")
        && b.len() > 23
        && b.ends_with(b"E")
        && b[b.len() - 20..].starts_with(b"17h")
        && b[b.len() - 17..b.len() - 1]
            .iter()
            .all(u8::is_ascii_hexdigit)
}

/// Is `ident` (from a pattern) written verbatim in every name whose demangled form holds
/// it? Path segments are; numbers, primitive types and words the demangler adds may not be.
fn verbatim_ident(ident: &[u8]) -> bool {
    const ADDED: &[&str] = &[
        "closure", "shim", "impl", "as", "mut", "const", "dyn", "fn", "unsafe", "extern", "for",
        "C", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
        "usize", "f16", "f32", "f64", "f128", "bool", "char", "str", "vtable",
    ];
    !ident.is_empty()
        && !ident.iter().all(u8::is_ascii_digit)
        && ident.is_ascii()
        && !ADDED.iter().any(|w| w.as_bytes() == ident)
}

fn r_origin(raws: &[RawInline]) -> gimli::DebugInfoOffset {
    raws.last()
        .map(|r| r.origin)
        .unwrap_or(gimli::DebugInfoOffset(0))
}

/// Renders the symbols as a table.
pub fn render(s: &Symbols) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for f in &s.functions {
        let loc = match (&f.file, f.line) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            _ => "??".to_string(),
        };
        let name = f.dwarf_name.as_deref().unwrap_or(&f.sym.name);
        let _ = writeln!(
            out,
            "{:#018x} {:>7} {}  {}",
            f.sym.address, f.sym.size, name, loc
        );
    }
    if !s.inlined.is_empty() {
        let _ = writeln!(out, "\ninlined instances:");
        for i in &s.inlined {
            let site = match (&i.call_file, i.call_line) {
                (Some(f), Some(l)) => format!("{f}:{l}"),
                _ => "??".to_string(),
            };
            let _ = writeln!(
                out,
                "{:#018x} {:>7} {}  called at {} in {}",
                i.address,
                i.size,
                i.function,
                site,
                i.caller.as_deref().unwrap_or("??")
            );
        }
    }
    out
}
