//! `mapscope variables BIN ADDR...`: the parameters and local variables in scope at a pc, with
//! their places there, for debuggers that cannot read them themselves (LLDB has no Go support:
//! `frame variable` finds nothing in a Go frame).
//!
//! ```no_run
//! let file = mapscope::loader::MappedFile::open("prog".as_ref())?;
//! let bin = mapscope::loader::Binary::parse(&file)?;
//! for at in mapscope::variables::at(&bin, &[0x40f7d0])? {
//!     for frame in &at.frames {
//!         for v in &frame.variables {
//!             println!("{} {} {:?}", frame.function, v.name, v.location);
//!         }
//!     }
//! }
//! # Ok::<(), mapscope::Error>(())
//! ```
//!
//! For each address: the compilation unit whose ranges contain it, the concrete function there,
//! and every inlined call containing it (each a frame, innermost first, as debuggers show inline
//! frames). A frame's variables are its parameters and locals, plus those of the lexical blocks
//! that contain the address; blocks that do not are out of scope. Places are the closed set of
//! [`crate::locations`] at exactly that pc; `{"cfa": K}` is resolved with `cfa`, the frame's CFA
//! rule at that pc. The work per address is one unit's DIEs, so a call takes milliseconds.

use std::collections::HashSet;

use gimli::{AttributeValue, DebugInfoOffset};
use serde::Serialize;

use crate::cfi::{CfaRule, Cfi};
use crate::dies::Units;
use crate::error::{Error, Result};
use crate::loader::{Binary, R};
use crate::locations::{self, Arch, FrameBase, Loc};
use crate::symbols::demangle;
use crate::types::{attr_str, ref_offset, TypeIndex};

/// A parameter or local variable at one address.
#[derive(Debug, Clone, Serialize)]
pub struct Variable {
    pub name: String,
    /// `param` or `local`.
    pub kind: &'static str,
    /// The DWARF name of its type (`map[string]int`, `*runtime.hmap`, `i64`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Bytes of its type, when DWARF tells.
    pub size: Option<u64>,
    /// Its place at this address; null when it has none here (optimised out, not yet live, or
    /// not expressible in the closed set).
    pub location: Option<Loc>,
}

/// One frame of the inline chain at an address.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    /// The function's name (Go: `runtime.mapassign_fast64`; Rust: demangled path).
    pub function: String,
    /// True for code inlined into the frame below it.
    pub inlined: bool,
    pub variables: Vec<Variable>,
}

/// The answer for one address.
#[derive(Debug, Clone, Serialize)]
pub struct AtAddress {
    pub address: u64,
    /// The concrete (outermost) function containing the address.
    pub function: String,
    /// The CFA rule at this address, to resolve `{"cfa": K}` places.
    pub cfa: Option<CfaRule>,
    /// Innermost first; the last frame is `function` itself.
    pub frames: Vec<Frame>,
}

/// Variables in scope at each of `addrs` (link-time addresses).
pub fn at(bin: &Binary<'_>, addrs: &[u64]) -> Result<Vec<AtAddress>> {
    let dwarf = bin.dwarf();
    let index = TypeIndex::new(bin)?;
    let mut units = Units::new(&dwarf)?;
    let cfi = Cfi::load(bin)?;
    let arch = Arch::of(bin.object());
    addrs
        .iter()
        .map(|&addr| one(&dwarf, &mut units, &index, cfi.as_ref(), arch, addr))
        .collect()
}

/// Answers addresses read from `input`, one per line, with one JSON line each on `output`,
/// loading the binary once: `{"address": N, ...}` as [`at`] gives, or
/// `{"query": LINE, "error": MESSAGE}`. Ends at the end of the input.
pub fn serve(
    bin: &Binary<'_>,
    input: &mut dyn std::io::BufRead,
    output: &mut dyn std::io::Write,
) -> Result<()> {
    let dwarf = bin.dwarf();
    let index = TypeIndex::new(bin)?;
    let mut units = Units::new(&dwarf)?;
    let cfi = Cfi::load(bin)?;
    let arch = Arch::of(bin.object());
    let io = |e: std::io::Error| Error::Output(e.to_string());
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(io)? == 0 {
            return Ok(());
        }
        let query = line.trim();
        if query.is_empty() {
            continue;
        }
        let answer = match crate::lines::parse_addr(query) {
            None => Err(Error::Usage(format!(
                "`{query}` is not an address (0x... or decimal)"
            ))),
            Some(addr) => one(&dwarf, &mut units, &index, cfi.as_ref(), arch, addr),
        };
        let text = match answer {
            Ok(a) => serde_json::to_string(&a),
            Err(e) => {
                serde_json::to_string(&serde_json::json!({"query": query, "error": e.to_string()}))
            }
        }
        .map_err(|e| Error::Output(e.to_string()))?;
        writeln!(output, "{text}").map_err(io)?;
        output.flush().map_err(io)?;
    }
}

/// The answer for one address.
fn one<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    units: &mut Units<'_, 'a>,
    index: &TypeIndex<'_>,
    cfi: Option<&Cfi<'_>>,
    arch: Arch,
    addr: u64,
) -> Result<AtAddress> {
    let not_found = || Error::NotFound(format!("no function contains {addr:#x}"));
    let Some(ui) = units.containing(addr)? else {
        return Err(not_found());
    };
    let unit = units.unit(ui)?;
    let Some(mut found) = scope_chain(dwarf, unit, addr, arch)? else {
        return Err(not_found());
    };
    if found.needs_prologue {
        let entry = found.entry;
        found.prologue_end = crate::frames::unit_prologues(unit, &HashSet::from([entry]))?
            .into_iter()
            .find(|(e, _)| *e == entry)
            .map(|(_, bp)| bp);
    }
    let mut frames = Vec::new();
    let mut names = Vec::new();
    for f in &mut found.frames {
        names.push(frame_name(dwarf, units, f)?);
        add_abstract_vars(units, f)?;
    }
    for (f, name) in found.frames.iter().zip(&names).rev() {
        let mut variables = Vec::new();
        for v in &f.vars {
            variables.push(variable(dwarf, units, ui, v, &found, addr, arch, index)?);
        }
        frames.push(Frame {
            function: name.clone(),
            inlined: f.inlined,
            variables,
        });
    }
    Ok(AtAddress {
        address: addr,
        function: names.first().cloned().unwrap_or_default(),
        cfa: cfi.and_then(|c| c.at(addr)),
        frames,
    })
}

/// A variable DIE in scope, before its place is evaluated.
enum VarDie {
    /// A DIE of the concrete code (in the unit of the address), with its abstract origin.
    Concrete {
        offset: gimli::UnitOffset,
        kind: &'static str,
        origin: Option<DebugInfoOffset>,
    },
    /// A variable of an inlined function's abstract instance that its concrete instance omits:
    /// in scope, with no place (DWARF 5 section 3.3.8.2; gdb lists them as optimised out).
    Abstract {
        offset: DebugInfoOffset,
        kind: &'static str,
    },
}

/// A function or inlined call on the chain.
struct ChainFrame {
    /// Its own name, else the abstract origin to take the name from.
    name: Option<String>,
    origin: Option<DebugInfoOffset>,
    /// `DW_AT_abstract_origin` only: the abstract instance whose variables are in scope too.
    abstract_origin: Option<DebugInfoOffset>,
    inlined: bool,
    vars: Vec<VarDie>,
}

/// The chain at an address in one unit, outermost first.
struct Chain {
    frames: Vec<ChainFrame>,
    /// Entry of the concrete function.
    entry: u64,
    base: FrameBase,
    /// Ranges of the concrete function (the scope of single-expression locations).
    scope: Vec<(u64, u64)>,
    /// Some variable has a single-expression location, which holds only after the prologue.
    needs_prologue: bool,
    prologue_end: Option<u64>,
}

fn contains(ranges: &[(u64, u64)], addr: u64) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= addr && addr < hi)
}

/// Walks one unit's tree down to `addr`: the concrete subprogram containing it, then the lexical
/// blocks and inlined subroutines containing it.
fn scope_chain<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    addr: u64,
    _arch: Arch,
) -> Result<Option<Chain>> {
    let mut tree = unit.entries_tree(None)?;
    let root = tree.root()?;
    let mut chain = Chain {
        frames: Vec::new(),
        entry: 0,
        base: FrameBase::Unknown,
        scope: Vec::new(),
        needs_prologue: false,
        prologue_end: None,
    };
    let mut children = root.children();
    while let Some(child) = children.next()? {
        if find_in(dwarf, unit, child, addr, &mut chain, &mut Vec::new())? {
            return Ok(Some(chain));
        }
    }
    Ok(None)
}

/// Descends into `node` if it contains `addr`; returns whether the concrete function was found.
fn find_in<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    node: gimli::EntriesTreeNode<'_, '_, '_, R<'a>>,
    addr: u64,
    chain: &mut Chain,
    path: &mut Vec<String>,
) -> Result<bool> {
    let depth = path.len();
    let e = node.entry();
    let tag = e.tag();
    match tag {
        gimli::DW_TAG_subprogram if chain.frames.is_empty() => {
            let ranges = locations::die_ranges(dwarf, unit, e)?;
            if !contains(&ranges, addr) {
                return Ok(false);
            }
            chain.entry = ranges.first().map_or(0, |r| r.0);
            // DWARF 5 (Go 1.26): DW_FORM_addrx, an index into .debug_addr.
            if let Some(low) = e.attr_value(gimli::DW_AT_low_pc)? {
                if let Some(low) = dwarf.attr_address(unit, low)? {
                    chain.entry = low;
                }
            }
            chain.base =
                locations::frame_base(e.attr_value(gimli::DW_AT_frame_base)?, unit.encoding());
            chain.scope = ranges;
            // The DWARF name qualified by its namespaces, as the profile's `dwarf_name` (it
            // carries Rust's generic arguments, which the linkage name does not).
            let own = e
                .attr_value(gimli::DW_AT_name)?
                .and_then(|v| attr_str(dwarf, unit, v));
            let name = match own {
                Some(n) if !path.is_empty() => Some(format!("{}::{n}", path.join("::"))),
                Some(n) => Some(n.to_string()),
                None => function_name(dwarf, unit, e)?,
            };
            chain.frames.push(ChainFrame {
                name,
                origin: origin_of(unit, e)?,
                abstract_origin: abstract_origin(unit, e)?,
                inlined: false,
                vars: Vec::new(),
            });
            collect(dwarf, unit, node, addr, chain, 0)?;
            Ok(true)
        }
        gimli::DW_TAG_namespace
        | gimli::DW_TAG_structure_type
        | gimli::DW_TAG_union_type
        | gimli::DW_TAG_enumeration_type
            if chain.frames.is_empty() && depth < 64 =>
        {
            // rustc nests functions in namespaces and impl types.
            let name = e
                .attr_value(gimli::DW_AT_name)?
                .and_then(|v| attr_str(dwarf, unit, v))
                .unwrap_or("{anon}");
            path.push(name.to_string());
            let mut children = node.children();
            let mut found = false;
            while let Some(child) = children.next()? {
                if find_in(dwarf, unit, child, addr, chain, path)? {
                    found = true;
                    break;
                }
            }
            path.pop();
            Ok(found)
        }
        _ => Ok(false),
    }
}

/// Collects the variables of a function, block or inlined call containing `addr`, and descends
/// into the nested blocks and inlined calls that contain it.
fn collect<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    node: gimli::EntriesTreeNode<'_, '_, '_, R<'a>>,
    addr: u64,
    chain: &mut Chain,
    depth: usize,
) -> Result<()> {
    let mut children = node.children();
    while let Some(child) = children.next()? {
        let e = child.entry();
        match e.tag() {
            gimli::DW_TAG_formal_parameter | gimli::DW_TAG_variable => {
                if matches!(
                    e.attr_value(gimli::DW_AT_location)?,
                    Some(AttributeValue::Exprloc(_))
                ) {
                    chain.needs_prologue = true;
                }
                let kind = if e.tag() == gimli::DW_TAG_formal_parameter {
                    "param"
                } else {
                    "local"
                };
                let origin = abstract_origin(unit, e)?;
                if let Some(f) = chain.frames.last_mut() {
                    f.vars.push(VarDie::Concrete {
                        offset: e.offset(),
                        kind,
                        origin,
                    });
                }
            }
            gimli::DW_TAG_lexical_block if depth < 64 => {
                let ranges = locations::die_ranges(dwarf, unit, e)?;
                if contains(&ranges, addr) {
                    collect(dwarf, unit, child, addr, chain, depth + 1)?;
                }
            }
            gimli::DW_TAG_inlined_subroutine if depth < 64 => {
                let ranges = locations::die_ranges(dwarf, unit, e)?;
                if contains(&ranges, addr) {
                    chain.frames.push(ChainFrame {
                        name: function_name(dwarf, unit, e)?,
                        origin: origin_of(unit, e)?,
                        abstract_origin: abstract_origin(unit, e)?,
                        inlined: true,
                        vars: Vec::new(),
                    });
                    collect(dwarf, unit, child, addr, chain, depth + 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A function's own name: its linkage name demangled (Rust), else `DW_AT_name` (Go writes
/// qualified names there).
fn function_name<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'a>>,
) -> Result<Option<String>> {
    if let Some(v) = e
        .attr_value(gimli::DW_AT_linkage_name)?
        .or(e.attr_value(gimli::DW_AT_MIPS_linkage_name)?)
    {
        if let Some(s) = attr_str(dwarf, unit, v) {
            return Ok(Some(demangle(s)));
        }
    }
    Ok(e.attr_value(gimli::DW_AT_name)?
        .and_then(|v| attr_str(dwarf, unit, v))
        .map(str::to_string))
}

/// The DIE a function or variable takes its name and type from (`DW_AT_abstract_origin`, else
/// `DW_AT_specification`), as a section offset: Go refers across units.
fn origin_of(
    unit: &gimli::Unit<R<'_>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
) -> Result<Option<DebugInfoOffset>> {
    for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        if let Some(v) = e.attr_value(at)? {
            if let Some(o) = ref_offset(&unit.header, &v) {
                return Ok(Some(o));
            }
        }
    }
    Ok(None)
}

/// `DW_AT_abstract_origin` as a section offset.
fn abstract_origin(
    unit: &gimli::Unit<R<'_>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
) -> Result<Option<DebugInfoOffset>> {
    Ok(e.attr_value(gimli::DW_AT_abstract_origin)?
        .and_then(|v| ref_offset(&unit.header, &v)))
}

/// Adds the variables of a frame's abstract instance that the concrete instance leaves out.
fn add_abstract_vars(units: &mut Units<'_, '_>, f: &mut ChainFrame) -> Result<()> {
    let Some(origin) = f.abstract_origin else {
        return Ok(());
    };
    let Some((i, uoff)) = units.locate(origin) else {
        return Ok(());
    };
    let present: HashSet<DebugInfoOffset> = f
        .vars
        .iter()
        .filter_map(|v| match v {
            VarDie::Concrete { origin, .. } => *origin,
            VarDie::Abstract { .. } => None,
        })
        .collect();
    let unit = units.unit(i)?;
    let mut tree = unit.entries_tree(Some(uoff))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(child) = children.next()? {
        let e = child.entry();
        let kind = match e.tag() {
            gimli::DW_TAG_formal_parameter => "param",
            gimli::DW_TAG_variable => "local",
            _ => continue,
        };
        let Some(off) = e.offset().to_debug_info_offset(&unit.header) else {
            continue;
        };
        if !present.contains(&off) {
            f.vars.push(VarDie::Abstract { offset: off, kind });
        }
    }
    Ok(())
}

/// The name of a chain frame, following abstract origins (possibly into other units).
fn frame_name(
    dwarf: &gimli::Dwarf<R<'_>>,
    units: &mut Units<'_, '_>,
    f: &ChainFrame,
) -> Result<String> {
    if let Some(n) = &f.name {
        return Ok(n.clone());
    }
    let mut origin = f.origin;
    for _ in 0..8 {
        let Some(off) = origin else { break };
        let Some((i, uoff)) = units.locate(off) else {
            break;
        };
        let unit = units.unit(i)?;
        let e = unit.entry(uoff)?;
        if let Some(n) = function_name(dwarf, unit, &e)? {
            return Ok(n);
        }
        origin = origin_of(unit, &e)?;
    }
    Ok("??".to_string())
}

#[allow(clippy::too_many_arguments)]
fn variable<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    units: &mut Units<'_, 'a>,
    ui: usize,
    v: &VarDie,
    chain: &Chain,
    addr: u64,
    arch: Arch,
    index: &TypeIndex<'_>,
) -> Result<Variable> {
    let (ui, offset, kind, concrete) = match *v {
        VarDie::Concrete { offset, kind, .. } => (ui, offset, kind, true),
        VarDie::Abstract { offset, kind } => match units.locate(offset) {
            Some((i, o)) => (i, o, kind, false),
            None => return Err(Error::Dwarf(format!("no unit holds DIE {:#x}", offset.0))),
        },
    };
    let unit = units.unit(ui)?;
    let e = unit.entry(offset)?;
    let location = if concrete {
        let locs = locations::die_locations(
            dwarf,
            unit,
            &e,
            chain.base,
            arch,
            &chain.scope,
            chain.prologue_end,
        )?;
        locations::at(&locs, addr).cloned()
    } else {
        None
    };
    // Name and type may live on the abstract origin (inlined calls), possibly in another unit.
    let mut name = e
        .attr_value(gimli::DW_AT_name)?
        .and_then(|v| attr_str(dwarf, unit, v))
        .map(str::to_string);
    let mut ty = e
        .attr_value(gimli::DW_AT_type)?
        .and_then(|t| ref_offset(&unit.header, &t));
    let mut origin = e
        .attr_value(gimli::DW_AT_abstract_origin)?
        .and_then(|o| ref_offset(&unit.header, &o));
    for _ in 0..8 {
        if name.is_some() && ty.is_some() {
            break;
        }
        let Some(off) = origin.take() else { break };
        let Some((oi, ooff)) = units.locate(off) else {
            break;
        };
        let ounit = units.unit(oi)?;
        let oe = ounit.entry(ooff)?;
        if name.is_none() {
            name = oe
                .attr_value(gimli::DW_AT_name)?
                .and_then(|v| attr_str(dwarf, ounit, v))
                .map(str::to_string);
        }
        if ty.is_none() {
            ty = oe
                .attr_value(gimli::DW_AT_type)?
                .and_then(|t| ref_offset(&ounit.header, &t));
        }
        origin = oe
            .attr_value(gimli::DW_AT_abstract_origin)?
            .and_then(|o| ref_offset(&ounit.header, &o));
    }
    let (type_name, size) = match ty {
        Some(t) => (index.type_name(t.0 as u64), index.type_size(t.0 as u64)),
        None => ("void".to_string(), None),
    };
    Ok(Variable {
        name: name.unwrap_or_default(),
        kind,
        type_name,
        size,
        location,
    })
}

/// Renders answers as text.
/// A place in words: `in rax`, `at rsp+8`, `at cfa-16`, `in pieces: 8 in rax, 8 in rbx`.
fn describe(place: &Loc) -> String {
    match place {
        Loc::Register { register } => format!("in {register}"),
        Loc::Memory { register, offset } => format!("at {register}{offset:+}"),
        Loc::Cfa { cfa } => format!("at cfa{cfa:+}"),
        Loc::Address { address } => format!("at {address:#x}"),
        Loc::Pieces { pieces } => {
            let parts: Vec<String> = pieces
                .iter()
                .map(|p| format!("{} {}", p.size, describe(&p.location)))
                .collect();
            format!("in pieces: {}", parts.join(", "))
        }
    }
}

pub fn render(answers: &[AtAddress]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for a in answers {
        let cfa = a
            .cfa
            .as_ref()
            .map(|c| format!(" (cfa = {}{:+})", c.register, c.offset))
            .unwrap_or_default();
        let _ = writeln!(s, "{:#x} in {}{cfa}:", a.address, a.function);
        for f in &a.frames {
            let what = if f.inlined { "inlined " } else { "" };
            let _ = writeln!(s, "  {what}{}:", f.function);
            for v in &f.variables {
                let place = v
                    .location
                    .as_ref()
                    .map_or("optimised out here".to_string(), describe);
                let size = v.size.map(|n| format!(" ({n} bytes)")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "    {:<5} {} {}{size} {place}",
                    v.kind, v.name, v.type_name
                );
            }
        }
    }
    s
}
