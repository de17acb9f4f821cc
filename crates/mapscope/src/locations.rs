//! Where a variable lives at a given pc, in a small closed set of forms a debugger can evaluate
//! without a language parser.
//!
//! DWARF describes a variable's place either by one location expression (rustc at opt-level 0)
//! or by a location list: address ranges, each with its own expression (Go since 1.17, whose
//! register ABI moves arguments from registers to stack slots, and every optimised build). Only
//! expressions of one operation are kept, because those are the ones a breakpoint condition can
//! read with a register and a memory access:
//!
//! | DWARF | [`Loc`] | JSON |
//! | --- | --- | --- |
//! | `DW_OP_regN` | the register holds the value | `{"register": "rbx"}` |
//! | `DW_OP_bregN K`, or `DW_OP_fbreg K` with a register frame base | memory at register + K | `{"register": "rsp", "offset": K}` |
//! | `DW_OP_fbreg K` with frame base `DW_OP_call_frame_cfa` (Go), or `DW_OP_call_frame_cfa` | memory at CFA + K | `{"cfa": K}` |
//! | `DW_OP_addr A` | memory at link-time address A (statics) | `{"address": A}` |
//! | one of the above, `DW_OP_piece N`, repeated | the value's bytes in parts, in order (how Go keeps a string in two registers) | `{"pieces": [{"size": N, "register": "rax"}, ...]}` |
//!
//! Everything else is left out, never approximated: pieces that are optimised out or that are
//! not whole bytes, entry values, computed values (`DW_OP_stack_value`), empty expressions
//! (optimised out). A range left out means "no known place here", which a debugger must treat as
//! optimised out.

use gimli::{AttributeValue, Operation};
use serde::Serialize;

use crate::error::Result;
use crate::loader::R;

/// A place, in the closed set of forms above.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Loc {
    /// Memory at register + offset.
    Memory { register: String, offset: i64 },
    /// The value is the register itself.
    Register { register: String },
    /// Memory at the canonical frame address + offset (see `cfa` in the profile).
    Cfa { cfa: i64 },
    /// Memory at a link-time address (add the load bias for PIE binaries).
    Address { address: u64 },
    /// The value's bytes in consecutive parts, each at a place of its own.
    Pieces { pieces: Vec<Piece> },
}

/// One part of a [`Loc::Pieces`] value: `size` bytes at `location` (never itself pieces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Piece {
    pub size: u64,
    #[serde(flatten)]
    pub location: Loc,
}

impl Loc {
    /// Register or register + offset: the forms the profile's older `location` key allows.
    pub fn is_register_based(&self) -> bool {
        matches!(self, Loc::Memory { .. } | Loc::Register { .. })
    }
}

/// One entry of a location list: `location` holds for pcs in `[low, high)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocRange {
    pub low: u64,
    pub high: u64,
    pub location: Loc,
}

/// The frame base of a subprogram (`DW_AT_frame_base`), as far as `DW_OP_fbreg` needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameBase {
    /// The register's value (`DW_OP_regN`, rustc).
    Register(u16),
    /// Register + offset (`DW_OP_bregN K`).
    RegisterOffset(u16, i64),
    /// The canonical frame address (`DW_OP_call_frame_cfa`, Go and clang).
    Cfa,
    /// Absent or not one of the above: `DW_OP_fbreg` cannot be expressed.
    Unknown,
}

/// Register numbering of the binary's architecture, for names as debuggers spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    Other,
}

impl Arch {
    /// The architecture of an ELF object.
    pub fn of(obj: &object::File<'_>) -> Arch {
        use object::Object;
        match obj.architecture() {
            object::Architecture::X86_64 => Arch::X86_64,
            object::Architecture::Aarch64 => Arch::Aarch64,
            _ => Arch::Other,
        }
    }

    /// A DWARF register number's name (`rax`, `rsp`, `xmm0`; `x0`, `sp`), when known.
    pub fn register_name(self, n: u16) -> Option<String> {
        match self {
            Arch::X86_64 => {
                const GPR: [&str; 17] = [
                    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
                    "r11", "r12", "r13", "r14", "r15", "rip",
                ];
                match n {
                    0..=16 => Some(GPR[usize::from(n)].to_string()),
                    17..=32 => Some(format!("xmm{}", n - 17)),
                    _ => None,
                }
            }
            Arch::Aarch64 => match n {
                0..=30 => Some(format!("x{n}")),
                31 => Some("sp".to_string()),
                _ => None,
            },
            Arch::Other => None,
        }
    }
}

/// Operations of a location expression decode alike whatever the unit's address size or
/// format, except `DW_OP_addr`, which needs the unit's encoding: callers pass it.
fn ops<'a>(
    expr: gimli::Expression<R<'a>>,
    encoding: gimli::Encoding,
) -> Option<Vec<Operation<R<'a>>>> {
    let mut out = Vec::new();
    let mut it = expr.operations(encoding);
    loop {
        match it.next() {
            Ok(Some(op)) => out.push(op),
            Ok(None) => return Some(out),
            Err(_) => return None,
        }
    }
}

/// Parses a subprogram's `DW_AT_frame_base`.
pub fn frame_base(value: Option<AttributeValue<R<'_>>>, encoding: gimli::Encoding) -> FrameBase {
    let Some(AttributeValue::Exprloc(expr)) = value else {
        return FrameBase::Unknown;
    };
    match ops(expr, encoding).as_deref() {
        Some([Operation::Register { register }]) => FrameBase::Register(register.0),
        Some(
            [Operation::RegisterOffset {
                register, offset, ..
            }],
        ) => FrameBase::RegisterOffset(register.0, *offset),
        Some([Operation::CallFrameCFA]) => FrameBase::Cfa,
        _ => FrameBase::Unknown,
    }
}

/// Evaluates one location expression into the closed set, or `None` when it is not expressible.
pub fn eval(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    expr: gimli::Expression<R<'_>>,
    base: FrameBase,
    arch: Arch,
) -> Option<Loc> {
    let all = ops(expr, unit.encoding())?;
    if all.iter().any(|op| matches!(op, Operation::Piece { .. })) {
        return pieces(dwarf, unit, &all, base, arch);
    }
    one(dwarf, unit, &all, base, arch)
}

/// A composite: every part one operation followed by a whole-byte `DW_OP_piece`.
fn pieces(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    all: &[Operation<R<'_>>],
    base: FrameBase,
    arch: Arch,
) -> Option<Loc> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, op) in all.iter().enumerate() {
        if let Operation::Piece {
            size_in_bits,
            bit_offset: None,
        } = op
        {
            if size_in_bits % 8 != 0 || i == start {
                return None; // a part of bits, or an optimised-out part
            }
            let location = one(dwarf, unit, &all[start..i], base, arch)?;
            parts.push(Piece {
                size: size_in_bits / 8,
                location,
            });
            start = i + 1;
        } else if matches!(op, Operation::Piece { .. }) {
            return None;
        }
    }
    (start == all.len() && !parts.is_empty()).then_some(Loc::Pieces { pieces: parts })
}

/// One operation's place (not a composite).
fn one(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    ops: &[Operation<R<'_>>],
    base: FrameBase,
    arch: Arch,
) -> Option<Loc> {
    let reg = |n: u16| arch.register_name(n);
    match ops {
        [Operation::Register { register }] => Some(Loc::Register {
            register: reg(register.0)?,
        }),
        [Operation::RegisterOffset {
            register,
            offset,
            base_type,
        }] if base_type.0 == 0 => Some(Loc::Memory {
            register: reg(register.0)?,
            offset: *offset,
        }),
        [Operation::FrameOffset { offset }] => match base {
            FrameBase::Register(r) => Some(Loc::Memory {
                register: reg(r)?,
                offset: *offset,
            }),
            FrameBase::RegisterOffset(r, k) => Some(Loc::Memory {
                register: reg(r)?,
                offset: k.checked_add(*offset)?,
            }),
            FrameBase::Cfa => Some(Loc::Cfa { cfa: *offset }),
            FrameBase::Unknown => None,
        },
        [Operation::CallFrameCFA] => Some(Loc::Cfa { cfa: 0 }),
        [Operation::Address { address }] => Some(Loc::Address { address: *address }),
        [Operation::AddressIndex { index }] => Some(Loc::Address {
            address: dwarf.address(unit, *index).ok()?,
        }),
        _ => None,
    }
}

/// The location ranges of a variable or parameter DIE.
///
/// A location list gives its own ranges. A single expression holds over the whole `scope` (the
/// ranges of the enclosing function or block), clipped to start at `from` when given: compilers
/// that emit single expressions mean frame slots that exist only once the prologue has run.
/// An absent `DW_AT_location` gives no ranges.
pub fn die_locations(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    entry: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
    base: FrameBase,
    arch: Arch,
    scope: &[(u64, u64)],
    from: Option<u64>,
) -> Result<Vec<LocRange>> {
    let mut out = Vec::new();
    let Some(value) = entry.attr_value(gimli::DW_AT_location)? else {
        return Ok(out);
    };
    if let AttributeValue::Exprloc(expr) = value {
        if let Some(location) = eval(dwarf, unit, expr, base, arch) {
            for &(low, high) in scope {
                let low = from.map_or(low, |f| low.max(f));
                if low < high {
                    out.push(LocRange {
                        low,
                        high,
                        location: location.clone(),
                    });
                }
            }
        }
    } else if let Some(offset) = dwarf.attr_locations_offset(unit, value)? {
        let mut iter = dwarf.locations(unit, offset)?;
        while let Some(e) = iter.next()? {
            if e.range.begin >= e.range.end {
                continue;
            }
            if let Some(location) = eval(dwarf, unit, e.data, base, arch) {
                out.push(LocRange {
                    low: e.range.begin,
                    high: e.range.end,
                    location,
                });
            }
        }
    }
    Ok(merge(out))
}

/// Sorts ranges and joins adjacent ones with the same place.
pub fn merge(mut v: Vec<LocRange>) -> Vec<LocRange> {
    v.sort_by_key(|r| (r.low, r.high));
    let mut out: Vec<LocRange> = Vec::with_capacity(v.len());
    for r in v {
        if let Some(last) = out.last_mut() {
            if last.high == r.low && last.location == r.location {
                last.high = r.high;
                continue;
            }
        }
        out.push(r);
    }
    out
}

/// The place at `pc`, if a range covers it.
pub fn at(ranges: &[LocRange], pc: u64) -> Option<&Loc> {
    ranges
        .iter()
        .find(|r| r.low <= pc && pc < r.high)
        .map(|r| &r.location)
}

/// The address ranges of a DIE (`DW_AT_low_pc`/`DW_AT_high_pc` or `DW_AT_ranges`), sorted.
pub fn die_ranges(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &gimli::Unit<R<'_>>,
    entry: &gimli::DebuggingInformationEntry<'_, '_, R<'_>>,
) -> Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    let mut it = dwarf.die_ranges(unit, entry)?;
    while let Some(r) = it.next()? {
        if r.begin < r.end {
            out.push((r.begin, r.end));
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lr(low: u64, high: u64, location: Loc) -> LocRange {
        LocRange {
            low,
            high,
            location,
        }
    }

    #[test]
    fn merge_joins_adjacent_equal_places_only() {
        let cfa = Loc::Cfa { cfa: 0 };
        let rax = Loc::Register {
            register: "rax".into(),
        };
        let got = merge(vec![
            lr(20, 30, cfa.clone()),
            lr(0, 10, rax.clone()),
            lr(10, 20, cfa.clone()),
            lr(31, 40, cfa.clone()),
        ]);
        assert_eq!(
            got,
            vec![lr(0, 10, rax), lr(10, 30, cfa.clone()), lr(31, 40, cfa)]
        );
        assert_eq!(at(&got, 30), None);
        assert_eq!(at(&got, 29), Some(&Loc::Cfa { cfa: 0 }));
    }

    #[test]
    fn json_forms() {
        let j = |l: Loc| serde_json::to_string(&l).unwrap();
        assert_eq!(
            j(Loc::Register {
                register: "rbx".into()
            }),
            r#"{"register":"rbx"}"#
        );
        assert_eq!(
            j(Loc::Memory {
                register: "rsp".into(),
                offset: -8
            }),
            r#"{"register":"rsp","offset":-8}"#
        );
        assert_eq!(j(Loc::Cfa { cfa: 8 }), r#"{"cfa":8}"#);
        assert_eq!(j(Loc::Address { address: 16 }), r#"{"address":16}"#);
        let reg = |r: &str| Loc::Register { register: r.into() };
        let string = Loc::Pieces {
            pieces: vec![
                Piece {
                    size: 8,
                    location: reg("rax"),
                },
                Piece {
                    size: 8,
                    location: reg("rbx"),
                },
            ],
        };
        assert_eq!(
            j(string),
            r#"{"pieces":[{"size":8,"register":"rax"},{"size":8,"register":"rbx"}]}"#
        );
        assert_eq!(Arch::X86_64.register_name(17).as_deref(), Some("xmm0"));
        assert_eq!(Arch::Aarch64.register_name(31).as_deref(), Some("sp"));
    }
}
