//! What a debugger needs to stop in a function and test its arguments there: the address after
//! the prologue, and where each parameter lives in the frame.
//!
//! Breakpoint conditions in the front-ends compare parameters by their DWARF places rather than
//! by name: a debugger cannot see a function's parameters from inside code inlined into it (which
//! is where rustc's prologue ends in gomap's roles), and lldb has no Rust or Go expression parser.
//! A place is a register, or a stack slot at a fixed offset from a register (`DW_OP_fbreg` with a
//! register frame base, as in unoptimised builds). Anything else (location lists in optimised
//! code, a CFA frame base) is reported as unknown, never guessed.

use std::collections::{HashMap, HashSet};

use gimli::{AttributeValue, Operation, UnitHeader};
use serde::Serialize;

use crate::error::Result;
use crate::loader::{Binary, R};
use crate::scan;

/// Where a parameter lives after the prologue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    /// A register name as debuggers spell it (`rsp`, `rdi`, ...).
    pub register: String,
    /// Offset from the register's value when the parameter is in memory; absent when the
    /// parameter is the register itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// A formal parameter of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Param {
    pub name: String,
    /// Size in bytes (pointers: the address size).
    pub size: u64,
    /// Its place after the prologue, when DWARF gives a simple one.
    pub location: Option<Place>,
}

/// Frame facts of one function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FrameInfo {
    /// The first address after the prologue (the line table's `prologue_end`, else the first
    /// statement on a later line), where parameters are at their places.
    pub breakpoint_address: Option<u64>,
    pub params: Vec<Param>,
}

/// Frame facts of the functions starting at `entries`, keyed by entry address.
pub fn frame_info(bin: &Binary<'_>, entries: &[u64]) -> Result<HashMap<u64, FrameInfo>> {
    let wanted: HashSet<u64> = entries.iter().copied().collect();
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let addr_size = u64::from(bin.address_size());
    let per_unit = scan::par_units(&headers, |_, h| unit_frames(&dwarf, h, &wanted, addr_size))?;
    let mut out: HashMap<u64, FrameInfo> = per_unit.into_iter().flatten().collect();
    for (entry, address) in prologue_ends(bin, &wanted)? {
        out.entry(entry).or_default().breakpoint_address = Some(address);
    }
    Ok(out)
}

fn unit_frames<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: &UnitHeader<R<'a>>,
    wanted: &HashSet<u64>,
    addr_size: u64,
) -> Result<Vec<(u64, FrameInfo)>> {
    let unit = dwarf.unit(*header)?;
    let mut out = Vec::new();
    let mut tree = unit.entries_tree(None)?;
    let root = tree.root()?;
    walk(dwarf, &unit, root, wanted, addr_size, &mut out)?;
    Ok(out)
}

fn walk<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    node: gimli::EntriesTreeNode<'_, '_, '_, R<'a>>,
    wanted: &HashSet<u64>,
    addr_size: u64,
    out: &mut Vec<(u64, FrameInfo)>,
) -> Result<()> {
    let entry = node.entry();
    if entry.tag() == gimli::DW_TAG_subprogram {
        if let Some(AttributeValue::Addr(low)) = entry.attr_value(gimli::DW_AT_low_pc)? {
            if wanted.contains(&low) {
                let base = frame_base(entry)?;
                let mut params = Vec::new();
                let mut children = node.children();
                while let Some(child) = children.next()? {
                    let e = child.entry();
                    if e.tag() == gimli::DW_TAG_formal_parameter {
                        params.push(param(dwarf, unit, e, base.as_deref(), addr_size)?);
                    }
                }
                out.push((
                    low,
                    FrameInfo {
                        breakpoint_address: None,
                        params,
                    },
                ));
                return Ok(());
            }
        }
    }
    let mut children = node.children();
    while let Some(child) = children.next()? {
        walk(dwarf, unit, child, wanted, addr_size, out)?;
    }
    Ok(())
}

/// The frame base register of a subprogram, when it is a plain register.
fn frame_base(entry: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>) -> Result<Option<String>> {
    let Some(AttributeValue::Exprloc(expr)) = entry.attr_value(gimli::DW_AT_frame_base)? else {
        return Ok(None);
    };
    let mut ops = expr.operations(REGISTER_OPS_ENCODING);
    Ok(match ops.next() {
        Ok(Some(Operation::Register { register })) => register_name(register.0).map(str::to_string),
        _ => None,
    })
}

/// Register and frame-offset operations decode alike whatever the unit's address size or format.
const REGISTER_OPS_ENCODING: gimli::Encoding = gimli::Encoding {
    address_size: 8,
    format: gimli::Format::Dwarf32,
    version: 4,
};

fn param<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, R<'a>>,
    frame_base: Option<&str>,
    addr_size: u64,
) -> Result<Param> {
    let name = match e.attr_value(gimli::DW_AT_name)? {
        Some(v) => dwarf.attr_string(unit, v)?.to_string_lossy().into_owned(),
        None => String::new(),
    };
    let size = match e.attr_value(gimli::DW_AT_type)? {
        Some(AttributeValue::UnitRef(off)) => type_size(unit, off, addr_size)?,
        _ => addr_size,
    };
    let location = match e.attr_value(gimli::DW_AT_location)? {
        Some(AttributeValue::Exprloc(expr)) => place(expr, unit.encoding(), frame_base),
        _ => None, // location lists: optimised code
    };
    Ok(Param {
        name,
        size,
        location,
    })
}

fn place(
    expr: gimli::Expression<R<'_>>,
    encoding: gimli::Encoding,
    frame_base: Option<&str>,
) -> Option<Place> {
    let mut ops = expr.operations(encoding);
    let first = ops.next().ok()??;
    if ops.next().ok()?.is_some() {
        return None; // pieces or computations: not a simple place
    }
    match first {
        Operation::FrameOffset { offset } => Some(Place {
            register: frame_base?.to_string(),
            offset: Some(offset),
        }),
        Operation::RegisterOffset {
            register, offset, ..
        } => Some(Place {
            register: register_name(register.0)?.to_string(),
            offset: Some(offset),
        }),
        Operation::Register { register } => Some(Place {
            register: register_name(register.0)?.to_string(),
            offset: None,
        }),
        _ => None,
    }
}

fn type_size(unit: &gimli::Unit<R<'_>>, off: gimli::UnitOffset, addr_size: u64) -> Result<u64> {
    let mut off = off;
    for _ in 0..16 {
        let e = unit.entry(off)?;
        if let Some(AttributeValue::Udata(n)) = e.attr_value(gimli::DW_AT_byte_size)? {
            return Ok(n);
        }
        match e.tag() {
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type => return Ok(addr_size),
            _ => {}
        }
        match e.attr_value(gimli::DW_AT_type)? {
            Some(AttributeValue::UnitRef(next)) => off = next,
            _ => break,
        }
    }
    Ok(addr_size)
}

/// x86-64 DWARF register numbers to names.
fn register_name(n: u16) -> Option<&'static str> {
    const NAMES: [&str; 17] = [
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15", "rip",
    ];
    NAMES.get(usize::from(n)).copied()
}

/// For each wanted function entry, the first address after its prologue, from the line table.
fn prologue_ends(bin: &Binary<'_>, wanted: &HashSet<u64>) -> Result<Vec<(u64, u64)>> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let per_unit = scan::par_units(&headers, |_, h| unit_prologues(&dwarf, h, wanted))?;
    Ok(per_unit.into_iter().flatten().collect())
}

fn unit_prologues<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: &UnitHeader<R<'a>>,
    wanted: &HashSet<u64>,
) -> Result<Vec<(u64, u64)>> {
    let unit = dwarf.unit(*header)?;
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
            continue;
        }
        if let Some((entry, entry_line)) = current {
            if row.prologue_end() || (row.is_stmt() && line != entry_line && line != 0) {
                out.push((entry, row.address()));
                current = None;
            }
        }
    }
    Ok(out)
}
