//! Random access to DIEs across units: lazily parsed units, the unit of a section offset
//! (Go refers across units with `DW_FORM_ref_addr`), and the unit containing an address.

use std::collections::HashMap;

use gimli::{DebugInfoOffset, UnitHeader};

use crate::error::Result;
use crate::loader::R;

/// Unit headers with lazily parsed units.
pub struct Units<'d, 'a> {
    dwarf: &'d gimli::Dwarf<R<'a>>,
    headers: Vec<UnitHeader<R<'a>>>,
    parsed: HashMap<usize, gimli::Unit<R<'a>>>,
}

impl<'d, 'a> Units<'d, 'a> {
    pub fn new(dwarf: &'d gimli::Dwarf<R<'a>>) -> Result<Self> {
        Ok(Units {
            dwarf,
            headers: crate::scan::unit_headers(dwarf)?,
            parsed: HashMap::new(),
        })
    }

    pub fn unit(&mut self, i: usize) -> Result<&gimli::Unit<R<'a>>> {
        if !self.parsed.contains_key(&i) {
            let u = self.dwarf.unit(self.headers[i])?;
            self.parsed.insert(i, u);
        }
        Ok(&self.parsed[&i])
    }

    /// The unit whose ranges contain `addr`: `.debug_aranges` when present (rustc), else each
    /// unit's root ranges (Go writes no aranges).
    pub fn containing(&mut self, addr: u64) -> Result<Option<usize>> {
        let mut aranges = self.dwarf.debug_aranges.headers();
        let mut from_aranges = None;
        while let Ok(Some(h)) = aranges.next() {
            let mut entries = h.entries();
            while let Ok(Some(e)) = entries.next() {
                if e.address() <= addr && addr < e.address().saturating_add(e.length()) {
                    from_aranges = Some(h.debug_info_offset());
                }
            }
            if from_aranges.is_some() {
                break;
            }
        }
        if let Some(off) = from_aranges {
            if let Some(i) = self
                .headers
                .iter()
                .position(|h| h.offset().as_debug_info_offset() == Some(off))
            {
                return Ok(Some(i));
            }
        }
        // Not in aranges (Go writes none; rustc omits some units): ask every unit.
        let dwarf = self.dwarf;
        for i in 0..self.headers.len() {
            let unit = self.unit(i)?;
            let mut ranges = dwarf.unit_ranges(unit)?;
            while let Some(r) = ranges.next()? {
                if r.begin <= addr && addr < r.end {
                    return Ok(Some(i));
                }
            }
        }
        Ok(None)
    }

    /// The unit index and unit offset of a `.debug_info` offset.
    pub fn locate(&self, off: DebugInfoOffset) -> Option<(usize, gimli::UnitOffset)> {
        let i = self
            .headers
            .partition_point(|h| h.offset().as_debug_info_offset().is_some_and(|o| o <= off));
        let i = i.checked_sub(1)?;
        let uoff = off.to_unit_offset(&self.headers[i])?;
        Some((i, uoff))
    }
}
