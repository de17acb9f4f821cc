//! The canonical frame address (CFA) at each pc, from call frame information.
//!
//! Go describes stack-resident parameters relative to the CFA (`DW_OP_fbreg` with frame base
//! `DW_OP_call_frame_cfa`), which breakpoint conditions cannot name. The CFA rule at a pc, from
//! `.debug_frame` (Go, compressed like the other debug sections) or `.eh_frame` (Rust), is
//! "register + offset" (`rsp + 8` at a Go function's entry, `rsp + framesize + 8` once the
//! prologue has run), so `{"cfa": K}` at that pc is memory at `register + offset + K`.
//! Rules that are expressions are left out.

use std::borrow::Cow;

use gimli::{BaseAddresses, CieOrFde, RunTimeEndian, UnwindContext, UnwindSection};
use object::{Object, ObjectSection};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::loader::{Binary, R};
use crate::locations::Arch;

/// The CFA rule at one pc: CFA = value of `register` + `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CfaRule {
    pub register: String,
    pub offset: i64,
}

/// A CFA rule over the pcs `[low, high)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CfaRange {
    pub low: u64,
    pub high: u64,
    pub register: String,
    pub offset: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    DebugFrame,
    EhFrame,
}

/// The call frame information of a binary, indexed by function.
pub struct Cfi<'d> {
    data: Cow<'d, [u8]>,
    kind: Kind,
    bases: BaseAddresses,
    endian: RunTimeEndian,
    address_size: u8,
    arch: Arch,
    /// (first pc, end pc, FDE offset), sorted.
    index: Vec<(u64, u64, usize)>,
}

impl<'d> Cfi<'d> {
    /// Loads `.debug_frame`, else `.eh_frame`; `None` when the binary has neither.
    pub fn load(bin: &Binary<'d>) -> Result<Option<Cfi<'d>>> {
        let obj = bin.object();
        let endian = if obj.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let corrupt = |name: &str, e: object::Error| Error::CorruptElf {
            path: bin.path().to_path_buf(),
            detail: format!("section {name}: {e}"),
        };
        let (section, kind) = match obj.section_by_name(".debug_frame") {
            Some(s) => (s, Kind::DebugFrame),
            None => match obj.section_by_name(".eh_frame") {
                Some(s) => (s, Kind::EhFrame),
                None => return Ok(None),
            },
        };
        let name = section.name().unwrap_or("?").to_string();
        let data = section
            .compressed_data()
            .and_then(|c| c.decompress())
            .map_err(|e| corrupt(&name, e))?;
        let mut bases = BaseAddresses::default();
        if kind == Kind::EhFrame {
            bases = bases.set_eh_frame(section.address());
            if let Some(text) = obj.section_by_name(".text") {
                bases = bases.set_text(text.address());
            }
            if let Some(hdr) = obj.section_by_name(".eh_frame_hdr") {
                bases = bases.set_eh_frame_hdr(hdr.address());
            }
        }
        let mut cfi = Cfi {
            data,
            kind,
            bases,
            endian,
            address_size: bin.address_size(),
            arch: Arch::of(obj),
            index: Vec::new(),
        };
        cfi.index = match kind {
            Kind::DebugFrame => index(&cfi.debug_frame(), &cfi.bases),
            Kind::EhFrame => index(&cfi.eh_frame(), &cfi.bases),
        };
        Ok(Some(cfi))
    }

    fn reader(&self) -> R<'_> {
        gimli::EndianSlice::new(&self.data, self.endian)
    }

    fn debug_frame(&self) -> gimli::DebugFrame<R<'_>> {
        let mut s = gimli::DebugFrame::from(self.reader());
        s.set_address_size(self.address_size);
        s
    }

    fn eh_frame(&self) -> gimli::EhFrame<R<'_>> {
        let mut s = gimli::EhFrame::from(self.reader());
        s.set_address_size(self.address_size);
        s
    }

    /// The CFA rules over `[low, high)` (a function's range), in pc order.
    pub fn ranges(&self, low: u64, high: u64) -> Vec<CfaRange> {
        let i = self.index.partition_point(|e| e.0 <= low);
        let Some(&(start, end, offset)) = i.checked_sub(1).and_then(|i| self.index.get(i)) else {
            return Vec::new();
        };
        if low >= end || start > low {
            return Vec::new();
        }
        let rows = match self.kind {
            Kind::DebugFrame => rows(&self.debug_frame(), &self.bases, offset, self.arch),
            Kind::EhFrame => rows(&self.eh_frame(), &self.bases, offset, self.arch),
        };
        let mut out: Vec<CfaRange> = Vec::new();
        for mut r in rows {
            r.low = r.low.max(low);
            r.high = r.high.min(high);
            if r.low >= r.high {
                continue;
            }
            // Rows that only change other registers' rules repeat the CFA rule: join them.
            match out.last_mut() {
                Some(last)
                    if last.high == r.low
                        && last.register == r.register
                        && last.offset == r.offset =>
                {
                    last.high = r.high
                }
                _ => out.push(r),
            }
        }
        out
    }

    /// The CFA rule at `pc`.
    pub fn at(&self, pc: u64) -> Option<CfaRule> {
        self.ranges(pc, pc.saturating_add(1))
            .into_iter()
            .next()
            .map(|r| CfaRule {
                register: r.register,
                offset: r.offset,
            })
    }
}

fn index<'a, S: UnwindSection<R<'a>>>(section: &S, bases: &BaseAddresses) -> Vec<(u64, u64, usize)>
where
    S::Offset: gimli::UnwindOffset<usize>,
{
    let mut out = Vec::new();
    let mut entries = section.entries(bases);
    // A malformed entry ends the index: what was read before it stays usable.
    while let Ok(Some(entry)) = entries.next() {
        if let CieOrFde::Fde(partial) = entry {
            if let Ok(fde) = partial.parse(S::cie_from_offset) {
                let start = fde.initial_address();
                out.push((start, start.saturating_add(fde.len()), fde.offset()));
            }
        }
    }
    out.sort_unstable();
    out
}

fn rows<'a, S: UnwindSection<R<'a>>>(
    section: &S,
    bases: &BaseAddresses,
    offset: usize,
    arch: Arch,
) -> Vec<CfaRange>
where
    S::Offset: gimli::UnwindOffset<usize>,
{
    let mut out = Vec::new();
    let Ok(fde) = section.fde_from_offset(bases, offset.into(), S::cie_from_offset) else {
        return out;
    };
    let mut ctx = Box::new(UnwindContext::new());
    let Ok(mut table) = fde.rows(section, bases, &mut ctx) else {
        return out;
    };
    while let Ok(Some(row)) = table.next_row() {
        if let gimli::CfaRule::RegisterAndOffset { register, offset } = row.cfa() {
            if let Some(name) = arch.register_name(register.0) {
                out.push(CfaRange {
                    low: row.start_address(),
                    high: row.end_address(),
                    register: name,
                    offset: *offset,
                });
            }
        }
    }
    out
}
