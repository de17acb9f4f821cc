//! What a debugger needs to stop in a function and test its arguments there: the address after
//! the prologue, where each parameter lives at every pc, and the CFA rule at every pc.
//!
//! Breakpoint conditions in the front-ends compare parameters by their DWARF places rather than
//! by name: a debugger cannot see a function's parameters from inside code inlined into it (which
//! is where rustc's prologue ends in gomap's roles), and lldb has no Rust or Go expression parser.
//! Places are in the closed set of [`crate::locations`]; Go's `{"cfa": K}` places become
//! register-relative with the function's CFA rules ([`crate::cfi`]).

use std::collections::{HashMap, HashSet};

use gimli::UnitHeader;
use serde::Serialize;

use crate::cfi::{CfaRange, Cfi};
use crate::error::Result;
use crate::loader::{Binary, R};
use crate::locations::{self, Arch, FrameBase, Loc, LocRange};
use crate::scan;
use crate::types::{ref_offset, TypeIndex};

/// A formal parameter of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Param {
    pub name: String,
    /// Size in bytes of its type.
    pub size: u64,
    /// The DWARF name of its type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its place from `breakpoint_address` to the end of the function, when one register or
    /// register + offset place holds for all of that (unoptimised Rust); else null.
    pub location: Option<Loc>,
    /// Its places by pc range (link-time addresses, half-open); pcs not covered have no known
    /// place (not yet set, dead, or optimised out).
    pub locations: Vec<LocRange>,
    #[serde(skip)]
    type_offset: Option<u64>,
}

/// Frame facts of one function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FrameInfo {
    /// The first address after the prologue (the line table's `prologue_end`, else the first
    /// statement on a later line), where parameters are at their places.
    pub breakpoint_address: Option<u64>,
    pub params: Vec<Param>,
    /// CFA rules over the function's pcs (from call frame information), empty when unknown.
    pub cfa: Vec<CfaRange>,
    /// End of the function's code (highest address + 1 of its ranges).
    #[serde(skip)]
    pub end: u64,
}

/// Frame facts of the functions starting at `entries`, keyed by entry address.
pub fn frame_info(bin: &Binary<'_>, entries: &[u64]) -> Result<HashMap<u64, FrameInfo>> {
    let wanted: HashSet<u64> = entries.iter().copied().collect();
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let arch = Arch::of(bin.object());
    // A function's DIE and line rows are in the unit whose code holds it: read only those.
    let units = scan::units_holding(&dwarf, &headers, entries);
    let read = |i: usize| {
        units
            .as_ref()
            .map_or(true, |u| u.get(i).copied().unwrap_or(true))
    };
    let prologues: HashMap<u64, u64> = scan::par_units(&headers, |i, h| {
        if !read(i) {
            return Ok(Vec::new());
        }
        unit_prologues(&dwarf.unit(*h)?, &wanted)
    })?
    .into_iter()
    .flatten()
    .collect();
    let per_unit = scan::par_units(&headers, |i, h| {
        if !read(i) {
            return Ok(Vec::new());
        }
        unit_frames(&dwarf, h, &wanted, &prologues, arch)
    })?;
    let mut out: HashMap<u64, FrameInfo> = per_unit.into_iter().flatten().collect();
    // Types may live in other units (Go's DW_FORM_ref_addr): resolve them by random access.
    let index = TypeIndex::new(bin)?;
    let cfi = Cfi::load(bin)?;
    for (entry, fi) in out.iter_mut() {
        for p in &mut fi.params {
            if let Some(t) = p.type_offset {
                p.type_name = index.type_name(t);
                p.size = index.type_size(t).unwrap_or(u64::from(bin.address_size()));
            }
        }
        if let Some(cfi) = &cfi {
            fi.cfa = cfi.ranges(*entry, fi.end);
        }
    }
    Ok(out)
}

fn unit_frames<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: &UnitHeader<R<'a>>,
    wanted: &HashSet<u64>,
    prologues: &HashMap<u64, u64>,
    arch: Arch,
) -> Result<Vec<(u64, FrameInfo)>> {
    let unit = dwarf.unit(*header)?;
    let mut out = Vec::new();
    let mut tree = unit.entries_tree(None)?;
    let root = tree.root()?;
    walk(dwarf, &unit, root, wanted, prologues, arch, &mut out)?;
    Ok(out)
}

fn walk<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    node: gimli::EntriesTreeNode<'_, '_, '_, R<'a>>,
    wanted: &HashSet<u64>,
    prologues: &HashMap<u64, u64>,
    arch: Arch,
    out: &mut Vec<(u64, FrameInfo)>,
) -> Result<()> {
    let entry = node.entry();
    if entry.tag() == gimli::DW_TAG_subprogram {
        // DWARF 5 (Go 1.26) writes low_pc as an index into .debug_addr (DW_FORM_addrx).
        let low = match entry.attr_value(gimli::DW_AT_low_pc)? {
            Some(v) => dwarf.attr_address(unit, v)?,
            None => None,
        };
        if let Some(low) = low {
            if wanted.contains(&low) {
                let base = locations::frame_base(
                    entry.attr_value(gimli::DW_AT_frame_base)?,
                    unit.encoding(),
                );
                let scope = locations::die_ranges(dwarf, unit, entry)?;
                let end = scope.iter().map(|r| r.1).max().unwrap_or(low);
                let bp = prologues.get(&low).copied();
                let mut params = Vec::new();
                let mut children = node.children();
                while let Some(child) = children.next()? {
                    let e = child.entry();
                    if e.tag() == gimli::DW_TAG_formal_parameter {
                        params.push(param(dwarf, unit, e, base, arch, &scope, bp, end)?);
                    }
                }
                out.push((
                    low,
                    FrameInfo {
                        breakpoint_address: bp,
                        params,
                        cfa: Vec::new(),
                        end,
                    },
                ));
                return Ok(());
            }
        }
    }
    let mut children = node.children();
    while let Some(child) = children.next()? {
        walk(dwarf, unit, child, wanted, prologues, arch, out)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn param<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'a>>,
    base: FrameBase,
    arch: Arch,
    scope: &[(u64, u64)],
    bp: Option<u64>,
    end: u64,
) -> Result<Param> {
    let name = match e.attr_value(gimli::DW_AT_name)? {
        Some(v) => dwarf.attr_string(unit, v)?.to_string_lossy().into_owned(),
        None => String::new(),
    };
    let type_offset = e
        .attr_value(gimli::DW_AT_type)?
        .and_then(|v| ref_offset(&unit.header, &v))
        .map(|o| o.0 as u64);
    let locations = locations::die_locations(dwarf, unit, e, base, arch, scope, bp)?;
    let from = bp.or_else(|| scope.first().map(|r| r.0));
    let location = from.and_then(|pc| {
        locations
            .iter()
            .find(|r| r.low <= pc && pc < r.high && r.high >= end)
            .map(|r| r.location.clone())
            .filter(Loc::is_register_based)
    });
    Ok(Param {
        name,
        size: 0,
        type_name: String::new(),
        location,
        locations,
        type_offset,
    })
}

/// For each wanted function entry in one unit's line program, the first address after its
/// prologue.
pub fn unit_prologues(unit: &gimli::Unit<R<'_>>, wanted: &HashSet<u64>) -> Result<Vec<(u64, u64)>> {
    let Some(program) = unit.line_program.clone() else {
        return Ok(Vec::new());
    };
    // Per sequence, the rows from a wanted entry address until the function's first statement
    // after the prologue: prologue_end if the producer marks it, else a line change.
    let mut out = Vec::new();
    let mut rows = program.rows();
    let mut current: Option<(u64, u64)> = None; // (entry, entry line)
    while let Some((_, row)) = rows.next_row()? {
        if row.end_sequence() {
            current = None;
            continue;
        }
        let line = row.line().map_or(0, |l| l.get());
        if wanted.contains(&row.address()) {
            current = Some((row.address(), line));
            if row.prologue_end() {
                out.push((row.address(), row.address()));
                current = None;
            }
        } else if let Some((entry, entry_line)) = current {
            if row.prologue_end() || (row.is_stmt() && line != entry_line && line != 0) {
                out.push((entry, row.address()));
                current = None;
            }
        }
        if out.len() == wanted.len() && current.is_none() {
            break; // all found: the rest of a large unit's program need not be decoded
        }
    }
    Ok(out)
}
