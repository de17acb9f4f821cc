//! A fast walk over the entries of a unit, for scans that look at a few tags and skip the rest.
//!
//! Without a name index and without `DW_AT_sibling` (rustc writes neither) a scan must visit every
//! entry, and most of a scan's time went into three things that do not depend on what it looks for:
//! parsing each unit's abbreviations into gimli's general structures, parsing its line program
//! header, and skipping attributes one form at a time. Here:
//!
//! - abbreviations are parsed once per table into a compact array indexed by code, each with a
//!   skip plan: the byte size of the whole entry when every form has a fixed size (most entries),
//!   else fixed runs and variable-size forms in order;
//! - [`light_unit`] makes the [`gimli::Unit`] that string and address lookups need from the root
//!   entry only, without the line program;
//! - an entry whose tag the caller wants is read with gimli itself (attribute values are exactly
//!   gimli's), every other entry is skipped by its plan.
//!
//! The fast path handles well-formed DWARF only. Anything unusual (an unknown abbreviation code, a
//! truncated entry, a form without a plan, a table gimli would refuse) makes it return
//! [`Fallback`], and the caller runs its gimli-based path for that unit, which gives the same
//! answer, or the same error, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gimli::constants as dw;
use gimli::{AttributeSpecification, AttributeValue, UnitHeader, UnitOffset, UnitSectionOffset};

use crate::loader::R;

/// The fast path cannot handle this unit: use the gimli-based path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

impl From<gimli::Error> for Fallback {
    fn from(_: gimli::Error) -> Fallback {
        Fallback
    }
}

/// How to step over one entry's attributes.
#[derive(Debug, Clone, Copy)]
enum Skip {
    /// Every form has a fixed size: the attributes take this many bytes.
    Fixed(u32),
    /// Steps `[start, start + len)` of the table's step list.
    Steps(u32, u32),
    /// A form without a plan (`DW_FORM_indirect`, unknown forms): gimli skips it.
    Gimli,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Fixed(u32),
    Leb,
    CStr,
    Block1,
    Block2,
    Block4,
    BlockLeb,
}

/// One abbreviation.
#[derive(Debug, Clone, Copy)]
pub struct Abbr {
    pub tag: gimli::DwTag,
    /// `1 << tag` for tags below 63, else bit 63 (see [`Tags`]).
    bit: u64,
    pub children: bool,
    specs: (u32, u32),
    skip: Skip,
    present: bool,
}

/// A unit's abbreviation table, with a skip plan for each entry kind.
#[derive(Debug, Default)]
pub struct Table {
    /// By code - 1.
    abbrs: Vec<Abbr>,
    specs: Vec<AttributeSpecification>,
    steps: Vec<Step>,
}

/// Codes above this are not put in a dense array: such a table goes to gimli.
const MAX_CODE: u64 = 1 << 20;

impl Table {
    /// Parses the table at the start of `data` for units of `encoding`. Refuses what gimli
    /// would refuse (tag, name or form zero, a bad children byte, duplicate codes) and what the
    /// fast path does not handle (huge codes).
    pub fn parse(data: &[u8], encoding: gimli::Encoding) -> Result<Table, Fallback> {
        let mut r = Bytes { data, pos: 0 };
        let mut t = Table::default();
        loop {
            let code = r.uleb()?;
            if code == 0 {
                break;
            }
            if code > MAX_CODE {
                return Err(Fallback);
            }
            let tag = r.uleb()?;
            if tag == 0 || tag > u64::from(u16::MAX) {
                return Err(Fallback);
            }
            let children = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(Fallback),
            };
            let spec_start = t.specs.len();
            loop {
                let name = r.uleb()?;
                let form = r.uleb()?;
                if name > u64::from(u16::MAX) || form > u64::from(u16::MAX) {
                    return Err(Fallback);
                }
                if name == 0 {
                    if form != 0 {
                        return Err(Fallback);
                    }
                    break;
                }
                if form == 0 {
                    return Err(Fallback);
                }
                let form = gimli::DwForm(form as u16);
                let implicit = if form == dw::DW_FORM_implicit_const {
                    Some(r.sleb()?)
                } else {
                    None
                };
                t.specs.push(AttributeSpecification::new(
                    gimli::DwAt(name as u16),
                    form,
                    implicit,
                ));
            }
            let skip = t.plan(spec_start, encoding);
            let idx = (code - 1) as usize;
            if t.abbrs.len() <= idx {
                t.abbrs.resize(
                    idx + 1,
                    Abbr {
                        tag: gimli::DwTag(0),
                        bit: 0,
                        children: false,
                        specs: (0, 0),
                        skip: Skip::Gimli,
                        present: false,
                    },
                );
            }
            if t.abbrs[idx].present {
                return Err(Fallback); // a duplicate code: gimli refuses the table
            }
            t.abbrs[idx] = Abbr {
                tag: gimli::DwTag(tag as u16),
                bit: Tags::bit(gimli::DwTag(tag as u16)),
                children,
                specs: (spec_start as u32, (t.specs.len() - spec_start) as u32),
                skip,
                present: true,
            };
        }
        Ok(t)
    }

    fn plan(&mut self, spec_start: usize, encoding: gimli::Encoding) -> Skip {
        let start = self.steps.len();
        let mut fixed = 0u32;
        for spec in &self.specs[spec_start..] {
            let step = match form_size(spec.form(), encoding) {
                Some(n) => {
                    fixed += n;
                    continue;
                }
                None => match spec.form() {
                    dw::DW_FORM_udata
                    | dw::DW_FORM_sdata
                    | dw::DW_FORM_ref_udata
                    | dw::DW_FORM_strx
                    | dw::DW_FORM_GNU_str_index
                    | dw::DW_FORM_addrx
                    | dw::DW_FORM_GNU_addr_index
                    | dw::DW_FORM_loclistx
                    | dw::DW_FORM_rnglistx => Step::Leb,
                    dw::DW_FORM_string => Step::CStr,
                    dw::DW_FORM_block1 => Step::Block1,
                    dw::DW_FORM_block2 => Step::Block2,
                    dw::DW_FORM_block4 => Step::Block4,
                    dw::DW_FORM_block | dw::DW_FORM_exprloc => Step::BlockLeb,
                    _ => {
                        self.steps.truncate(start);
                        return Skip::Gimli;
                    }
                },
            };
            if fixed > 0 {
                self.steps.push(Step::Fixed(fixed));
                fixed = 0;
            }
            self.steps.push(step);
        }
        if self.steps.len() == start {
            return Skip::Fixed(fixed);
        }
        if fixed > 0 {
            self.steps.push(Step::Fixed(fixed));
        }
        Skip::Steps(start as u32, (self.steps.len() - start) as u32)
    }

    /// The abbreviation with `code`.
    #[inline]
    pub fn get(&self, code: u64) -> Option<&Abbr> {
        let a = self
            .abbrs
            .get(usize::try_from(code.checked_sub(1)?).ok()?)?;
        a.present.then_some(a)
    }

    /// The attribute specifications of `a`.
    #[inline]
    pub fn specs(&self, a: &Abbr) -> &[AttributeSpecification] {
        &self.specs[a.specs.0 as usize..(a.specs.0 + a.specs.1) as usize]
    }
}

/// Fixed sizes of forms (gimli's `get_attribute_size`).
fn form_size(form: gimli::DwForm, e: gimli::Encoding) -> Option<u32> {
    let word = u32::from(e.format.word_size());
    Some(match form {
        dw::DW_FORM_addr => u32::from(e.address_size),
        dw::DW_FORM_implicit_const | dw::DW_FORM_flag_present => 0,
        dw::DW_FORM_data1
        | dw::DW_FORM_flag
        | dw::DW_FORM_strx1
        | dw::DW_FORM_ref1
        | dw::DW_FORM_addrx1 => 1,
        dw::DW_FORM_data2 | dw::DW_FORM_ref2 | dw::DW_FORM_addrx2 | dw::DW_FORM_strx2 => 2,
        dw::DW_FORM_addrx3 | dw::DW_FORM_strx3 => 3,
        dw::DW_FORM_data4
        | dw::DW_FORM_ref_sup4
        | dw::DW_FORM_ref4
        | dw::DW_FORM_strx4
        | dw::DW_FORM_addrx4 => 4,
        dw::DW_FORM_data8 | dw::DW_FORM_ref8 | dw::DW_FORM_ref_sig8 | dw::DW_FORM_ref_sup8 => 8,
        dw::DW_FORM_data16 => 16,
        dw::DW_FORM_sec_offset
        | dw::DW_FORM_GNU_ref_alt
        | dw::DW_FORM_strp
        | dw::DW_FORM_strp_sup
        | dw::DW_FORM_GNU_strp_alt
        | dw::DW_FORM_line_strp => word,
        dw::DW_FORM_ref_addr => {
            if e.version == 2 {
                u32::from(e.address_size)
            } else {
                word
            }
        }
        _ => return None,
    })
}

struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    #[inline]
    fn u8(&mut self) -> Result<u8, Fallback> {
        let b = *self.data.get(self.pos).ok_or(Fallback)?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn uleb(&mut self) -> Result<u64, Fallback> {
        let b = self.u8()?;
        if b < 0x80 {
            return Ok(u64::from(b));
        }
        let mut v = u64::from(b & 0x7f);
        let mut shift = 7;
        loop {
            let b = self.u8()?;
            if shift >= 64 {
                return Err(Fallback);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn sleb(&mut self) -> Result<i64, Fallback> {
        let mut v = 0i64;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 {
                return Err(Fallback);
            }
            v |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }
}

/// Parsed abbreviation tables, shared by the units (and threads) of one scan: Go's units
/// all use one table.
#[derive(Default)]
pub struct Tables {
    map: Mutex<HashMap<(usize, gimli::Encoding), Arc<Table>>>,
}

impl Tables {
    pub fn new() -> Tables {
        Tables::default()
    }

    /// The table of a unit of `dwarf`.
    pub fn get(
        &self,
        dwarf: &gimli::Dwarf<R<'_>>,
        header: &UnitHeader<R<'_>>,
    ) -> Result<Arc<Table>, Fallback> {
        let off = header.debug_abbrev_offset().0;
        let key = (off, header.encoding());
        if let Some(t) = self.map.lock().map_err(|_| Fallback)?.get(&key) {
            return Ok(t.clone());
        }
        let data = gimli::Section::reader(&dwarf.debug_abbrev).slice();
        let t = Arc::new(Table::parse(data.get(off..).ok_or(Fallback)?, key.1)?);
        self.map
            .lock()
            .map_err(|_| Fallback)?
            .insert(key, t.clone());
        Ok(t)
    }
}

/// The bytes of a unit (header included) in the section it was read from.
fn unit_bytes<'a>(dwarf: &gimli::Dwarf<R<'a>>, header: &UnitHeader<R<'a>>) -> Option<&'a [u8]> {
    let (section, off) = match header.offset() {
        UnitSectionOffset::DebugInfoOffset(o) => (gimli::Section::reader(&dwarf.debug_info), o.0),
        UnitSectionOffset::DebugTypesOffset(o) => (gimli::Section::reader(&dwarf.debug_types), o.0),
    };
    section
        .slice()
        .get(off..off.checked_add(header.length_including_self())?)
}

/// An empty gimli abbreviation set: entries are positioned and read attribute by attribute,
/// with this module's specifications.
fn no_abbreviations() -> &'static gimli::Abbreviations {
    static EMPTY: std::sync::OnceLock<gimli::Abbreviations> = std::sync::OnceLock::new();
    EMPTY.get_or_init(gimli::Abbreviations::default)
}

/// A cursor over a unit's entries in section order.
pub struct Walk<'t, 'a> {
    table: &'t Table,
    header: &'t UnitHeader<R<'a>>,
    buf: &'a [u8],
    pos: usize,
    depth: isize,
    big: bool,
}

impl<'t, 'a> Walk<'t, 'a> {
    /// A cursor at the unit's root entry.
    pub fn new(
        dwarf: &gimli::Dwarf<R<'a>>,
        header: &'t UnitHeader<R<'a>>,
        table: &'t Table,
    ) -> Result<Walk<'t, 'a>, Fallback> {
        let buf = unit_bytes(dwarf, header).ok_or(Fallback)?;
        let pos = header.header_size();
        if pos > buf.len() {
            return Err(Fallback);
        }
        let big = gimli::Endianity::is_big_endian(gimli::Reader::endian(gimli::Section::reader(
            &dwarf.debug_info,
        )));
        Ok(Walk {
            table,
            header,
            buf,
            pos,
            depth: 0,
            big,
        })
    }

    /// The next entry: its offset, depth (0 for the root) and abbreviation; `None` at the end of
    /// the unit. Null entries are consumed here. The caller must then call [`Walk::skip`] or
    /// [`Walk::attrs`] for it.
    #[inline]
    pub fn next_entry(&mut self) -> Result<Option<(UnitOffset, isize, &'t Abbr)>, Fallback> {
        loop {
            if self.pos >= self.buf.len() {
                return Ok(None);
            }
            let off = self.pos;
            let b = self.buf[off];
            let code = if b < 0x80 {
                self.pos = off + 1;
                u64::from(b)
            } else {
                let mut r = Bytes {
                    data: self.buf,
                    pos: off,
                };
                let code = r.uleb()?;
                self.pos = r.pos;
                code
            };
            if code == 0 {
                self.depth -= 1;
                continue;
            }
            let a = self.table.get(code).ok_or(Fallback)?;
            let depth = self.depth;
            if a.children {
                self.depth += 1;
            }
            return Ok(Some((UnitOffset(off), depth, a)));
        }
    }

    /// The next entry with a tag in `wanted` (see [`Cursor::next_wanted`]), the others
    /// skipped in a tight loop.
    #[inline]
    pub fn next_wanted(
        &mut self,
        wanted: &Tags,
    ) -> Result<Option<(UnitOffset, isize, &'t Abbr, isize)>, Fallback> {
        let buf = self.buf;
        let abbrs = &self.table.abbrs[..];
        let mut least = isize::MAX;
        let mut pos = self.pos;
        let mut depth = self.depth;
        loop {
            let Some(&b) = buf.get(pos) else {
                self.pos = pos;
                self.depth = depth;
                return Ok(None);
            };
            let off = pos;
            let code = if b < 0x80 {
                pos += 1;
                u64::from(b)
            } else {
                let mut r = Bytes { data: buf, pos };
                let code = r.uleb()?;
                pos = r.pos;
                code
            };
            if code == 0 {
                depth -= 1;
                continue;
            }
            let a = match abbrs.get((code - 1) as usize) {
                Some(a) if a.present => a,
                _ => return Err(Fallback),
            };
            let d = depth;
            if a.children {
                depth += 1;
            }
            least = least.min(d);
            if wanted.contains_abbr(a) {
                self.pos = pos;
                self.depth = depth;
                return Ok(Some((UnitOffset(off), d, a, least)));
            }
            match a.skip {
                Skip::Fixed(n) => pos += n as usize,
                _ => {
                    self.pos = pos;
                    self.skip_planned(a)?;
                    pos = self.pos;
                }
            }
        }
    }

    /// Steps over the attributes of the entry just returned.
    #[inline]
    pub fn skip(&mut self, a: &Abbr) -> Result<(), Fallback> {
        match a.skip {
            Skip::Fixed(n) => {
                self.pos += n as usize;
                if self.pos > self.buf.len() {
                    return Err(Fallback);
                }
                Ok(())
            }
            _ => self.skip_planned(a),
        }
    }

    #[inline(never)]
    fn skip_planned(&mut self, a: &Abbr) -> Result<(), Fallback> {
        match a.skip {
            Skip::Fixed(n) => {
                self.pos += n as usize;
                if self.pos > self.buf.len() {
                    return Err(Fallback);
                }
                Ok(())
            }
            Skip::Steps(start, len) => {
                let buf = self.buf;
                let mut pos = self.pos;
                for step in &self.table.steps[start as usize..(start + len) as usize] {
                    match *step {
                        Step::Fixed(n) => pos += n as usize,
                        Step::Leb => loop {
                            let b = *buf.get(pos).ok_or(Fallback)?;
                            pos += 1;
                            if b < 0x80 {
                                break;
                            }
                        },
                        Step::CStr => {
                            let rest = buf.get(pos..).ok_or(Fallback)?;
                            pos += memchr::memchr(0, rest).ok_or(Fallback)? + 1;
                        }
                        Step::Block1 => {
                            let n = *buf.get(pos).ok_or(Fallback)?;
                            pos += 1 + n as usize;
                        }
                        Step::Block2 => {
                            let b = buf.get(pos..pos + 2).ok_or(Fallback)?;
                            pos += 2 + self.u16(b) as usize;
                        }
                        Step::Block4 => {
                            let b = buf.get(pos..pos + 4).ok_or(Fallback)?;
                            pos += 4 + self.u32(b) as usize;
                        }
                        Step::BlockLeb => {
                            let mut r = Bytes { data: buf, pos };
                            let n = usize::try_from(r.uleb()?).map_err(|_| Fallback)?;
                            pos = r.pos.checked_add(n).ok_or(Fallback)?;
                        }
                    }
                }
                if pos > buf.len() {
                    return Err(Fallback);
                }
                self.pos = pos;
                Ok(())
            }
            Skip::Gimli => {
                let mut e = self.raw()?;
                e.skip_attributes(self.table.specs(a))?;
                self.pos = e.next_offset().0;
                Ok(())
            }
        }
    }

    fn u16(&self, b: &[u8]) -> u16 {
        let b = [b[0], b[1]];
        if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let b = [b[0], b[1], b[2], b[3]];
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn raw(&self) -> Result<gimli::EntriesRaw<'static, 't, R<'a>>, Fallback> {
        Ok(self
            .header
            .entries_raw(no_abbreviations(), Some(UnitOffset(self.pos)))?)
    }

    /// Reads the attributes of the entry just returned, in order, with gimli; `f` gets each.
    #[inline]
    pub fn attrs(
        &mut self,
        a: &Abbr,
        mut f: impl FnMut(gimli::Attribute<R<'a>>),
    ) -> Result<(), Fallback> {
        let mut e = self.raw()?;
        for spec in self.table.specs(a) {
            f(e.read_attribute(*spec)?);
        }
        self.pos = e.next_offset().0;
        Ok(())
    }

    /// Skips the subtree of the entry just returned (after [`Walk::skip`] or [`Walk::attrs`]):
    /// its children, if it has any.
    pub fn skip_children(&mut self, a: &Abbr) -> Result<(), Fallback> {
        if !a.children {
            return Ok(());
        }
        let stop = self.depth - 1;
        while self.depth > stop {
            match self.next_entry()? {
                Some((_, _, c)) => self.skip(c)?,
                None => return Err(Fallback),
            }
        }
        Ok(())
    }

    /// The unit's header.
    pub fn header(&self) -> &'t UnitHeader<R<'a>> {
        self.header
    }
}

/// A [`gimli::Unit`] built from the root entry only (no line program), for string, address
/// and range lookups; its abbreviation set is empty (entries are read with [`Walk`]).
pub fn light_unit<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: UnitHeader<R<'a>>,
    table: &Table,
) -> Result<gimli::Unit<R<'a>>, Fallback> {
    unit_from_root(dwarf, header, table, false)
}

/// [`light_unit`] with the unit's line program (`DW_AT_stmt_list`), as `Dwarf::unit`
/// makes it, still without gimli's abbreviations: for scans of the line tables only.
pub fn line_unit<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: UnitHeader<R<'a>>,
    table: &Table,
) -> Result<gimli::Unit<R<'a>>, Fallback> {
    unit_from_root(dwarf, header, table, true)
}

fn unit_from_root<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: UnitHeader<R<'a>>,
    table: &Table,
    lines: bool,
) -> Result<gimli::Unit<R<'a>>, Fallback> {
    let encoding = header.encoding();
    let mut unit = gimli::Unit {
        abbreviations: Arc::new(gimli::Abbreviations::default()),
        name: None,
        comp_dir: None,
        low_pc: 0,
        str_offsets_base: gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
            encoding,
            dwarf.file_type,
        ),
        addr_base: gimli::DebugAddrBase(0),
        loclists_base: gimli::DebugLocListsBase::default_for_encoding_and_file(
            encoding,
            dwarf.file_type,
        ),
        rnglists_base: gimli::DebugRngListsBase::default_for_encoding_and_file(
            encoding,
            dwarf.file_type,
        ),
        line_program: None,
        dwo_id: match header.type_() {
            gimli::UnitType::Skeleton(id) | gimli::UnitType::SplitCompilation(id) => Some(id),
            _ => None,
        },
        header,
    };
    let (mut name, mut comp_dir, mut low_pc, mut stmt_list) = (None, None, None, None);
    {
        let mut w = Walk::new(dwarf, &unit.header, table)?;
        let (_, _, root) = w.next_entry()?.ok_or(Fallback)?;
        w.attrs(root, |attr| match attr.name() {
            dw::DW_AT_name => name = Some(attr.value()),
            dw::DW_AT_comp_dir => comp_dir = Some(attr.value()),
            dw::DW_AT_low_pc => low_pc = Some(attr.value()),
            dw::DW_AT_stmt_list => {
                if let AttributeValue::DebugLineRef(o) = attr.value() {
                    stmt_list = Some(o);
                }
            }
            dw::DW_AT_str_offsets_base => {
                if let AttributeValue::DebugStrOffsetsBase(b) = attr.value() {
                    unit.str_offsets_base = b;
                }
            }
            dw::DW_AT_addr_base | dw::DW_AT_GNU_addr_base => {
                if let AttributeValue::DebugAddrBase(b) = attr.value() {
                    unit.addr_base = b;
                }
            }
            dw::DW_AT_loclists_base => {
                if let AttributeValue::DebugLocListsBase(b) = attr.value() {
                    unit.loclists_base = b;
                }
            }
            dw::DW_AT_rnglists_base | dw::DW_AT_GNU_ranges_base => {
                if let AttributeValue::DebugRngListsBase(b) = attr.value() {
                    unit.rnglists_base = b;
                }
            }
            dw::DW_AT_GNU_dwo_id if unit.dwo_id.is_none() => {
                if let AttributeValue::DwoId(id) = attr.value() {
                    unit.dwo_id = Some(id);
                }
            }
            _ => {}
        })?;
    }
    unit.name = name.and_then(|v| dwarf.attr_string(&unit, v).ok());
    unit.comp_dir = comp_dir.and_then(|v| dwarf.attr_string(&unit, v).ok());
    if let (true, Some(o)) = (lines, stmt_list) {
        unit.line_program = Some(dwarf.debug_line.program(
            o,
            unit.header.address_size(),
            unit.comp_dir,
            unit.name,
        )?);
    }
    if let Some(v) = low_pc {
        if let Some(a) = dwarf.attr_address(&unit, v)? {
            unit.low_pc = a;
        }
    }
    Ok(unit)
}

/// One entry as a scan sees it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub offset: UnitOffset,
    /// 0 for the root entry.
    pub depth: isize,
    pub tag: gimli::DwTag,
    pub children: bool,
}

/// A set of tags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tags {
    /// Bit `t` for each tag `t` below 63; bit 63 when some tag is 63 or above (then `high`
    /// decides).
    mask: u64,
    high: [u16; 4],
}

impl Tags {
    pub const fn new(tags: &[gimli::DwTag]) -> Tags {
        let mut t = Tags {
            mask: 0,
            high: [0; 4],
        };
        let mut i = 0;
        let mut h = 0;
        while i < tags.len() {
            let v = tags[i].0;
            if v < 63 {
                t.mask |= 1 << v;
            } else {
                assert!(h < 4, "at most 4 tags above 62");
                t.mask |= 1 << 63;
                t.high[h] = v;
                h += 1;
            }
            i += 1;
        }
        t
    }

    const fn bit(tag: gimli::DwTag) -> u64 {
        if tag.0 < 63 {
            1 << tag.0
        } else {
            1 << 63
        }
    }

    #[inline]
    pub fn contains(&self, tag: gimli::DwTag) -> bool {
        self.mask & Self::bit(tag) != 0 && (tag.0 < 63 || self.high.contains(&tag.0))
    }

    #[inline]
    fn contains_abbr(&self, a: &Abbr) -> bool {
        self.mask & a.bit != 0 && (a.tag.0 < 63 || self.high.contains(&a.tag.0))
    }
}

/// Entries of a unit in section order, from the fast [`Walk`] or from gimli: a scan written
/// against this trait runs on both. After each entry returned, call [`Cursor::skip`] or
/// [`Cursor::read`] exactly once.
pub trait Cursor<'a> {
    type Error: From<gimli::Error>;
    fn next_entry(&mut self) -> Result<Option<Entry>, Self::Error>;
    fn skip(&mut self) -> Result<(), Self::Error>;
    fn read<F: FnMut(gimli::Attribute<R<'a>>)>(&mut self, f: F) -> Result<(), Self::Error>;

    /// The next entry whose tag is in `wanted`, the others skipped, with the least depth of
    /// the entries passed over and this one: what a scan that keeps a stack of enclosing
    /// entries needs to pop it as if it had seen each of them.
    fn next_wanted(&mut self, wanted: &Tags) -> Result<Option<(Entry, isize)>, Self::Error> {
        let mut least = isize::MAX;
        while let Some(e) = self.next_entry()? {
            least = least.min(e.depth);
            if wanted.contains(e.tag) {
                return Ok(Some((e, least)));
            }
            self.skip()?;
        }
        Ok(None)
    }
}

/// [`Walk`] as a [`Cursor`].
pub struct Fast<'t, 'a> {
    walk: Walk<'t, 'a>,
    cur: Option<&'t Abbr>,
}

impl<'a> Cursor<'a> for Fast<'_, 'a> {
    type Error = Fallback;

    #[inline]
    fn next_entry(&mut self) -> Result<Option<Entry>, Fallback> {
        Ok(self.walk.next_entry()?.map(|(offset, depth, a)| {
            self.cur = Some(a);
            Entry {
                offset,
                depth,
                tag: a.tag,
                children: a.children,
            }
        }))
    }

    #[inline]
    fn skip(&mut self) -> Result<(), Fallback> {
        let a = self.cur.take().ok_or(Fallback)?;
        self.walk.skip(a)
    }

    #[inline]
    fn next_wanted(&mut self, wanted: &Tags) -> Result<Option<(Entry, isize)>, Fallback> {
        let Some((offset, depth, a, least)) = self.walk.next_wanted(wanted)? else {
            return Ok(None);
        };
        self.cur = Some(a);
        let e = Entry {
            offset,
            depth,
            tag: a.tag,
            children: a.children,
        };
        Ok(Some((e, least)))
    }

    #[inline]
    fn read<F: FnMut(gimli::Attribute<R<'a>>)>(&mut self, f: F) -> Result<(), Fallback> {
        let a = self.cur.take().ok_or(Fallback)?;
        self.walk.attrs(a, f)
    }
}

/// gimli's raw entries as a [`Cursor`]: the reference path.
pub struct Slow<'abbrev, 'unit, 'a> {
    entries: gimli::EntriesRaw<'abbrev, 'unit, R<'a>>,
    cur: Option<&'abbrev gimli::Abbreviation>,
}

impl<'abbrev, 'unit, 'a> Slow<'abbrev, 'unit, 'a> {
    pub fn new(entries: gimli::EntriesRaw<'abbrev, 'unit, R<'a>>) -> Self {
        Slow { entries, cur: None }
    }
}

impl<'a> Cursor<'a> for Slow<'_, '_, 'a> {
    type Error = gimli::Error;

    fn next_entry(&mut self) -> gimli::Result<Option<Entry>> {
        while !self.entries.is_empty() {
            let offset = self.entries.next_offset();
            let depth = self.entries.next_depth();
            if let Some(a) = self.entries.read_abbreviation()? {
                self.cur = Some(a);
                return Ok(Some(Entry {
                    offset,
                    depth,
                    tag: a.tag(),
                    children: a.has_children(),
                }));
            }
        }
        Ok(None)
    }

    fn skip(&mut self) -> gimli::Result<()> {
        match self.cur.take() {
            Some(a) => self.entries.skip_attributes(a.attributes()),
            None => Ok(()),
        }
    }

    fn read<F: FnMut(gimli::Attribute<R<'a>>)>(&mut self, mut f: F) -> gimli::Result<()> {
        if let Some(a) = self.cur.take() {
            for spec in a.attributes() {
                f(self.entries.read_attribute(*spec)?);
            }
        }
        Ok(())
    }
}

/// A scan of one unit, written once for both cursors.
pub trait UnitScan<'a> {
    type Out;
    /// Scans the unit's entries from `c` (positioned before the root entry). `unit` serves
    /// string and address lookups; its line program is absent on the fast path.
    fn run<C: Cursor<'a>>(
        &self,
        unit: &gimli::Unit<R<'a>>,
        c: &mut C,
    ) -> Result<Self::Out, C::Error>;
}

/// Runs `scan` over one unit: on the fast path, else (on [`Fallback`]) on gimli's, whose
/// answer or error is the reference.
pub fn scan_unit<'a, S: UnitScan<'a>>(
    dwarf: &gimli::Dwarf<R<'a>>,
    header: &UnitHeader<R<'a>>,
    tables: &Tables,
    scan: &S,
) -> gimli::Result<S::Out> {
    let fast = || -> Result<S::Out, Fallback> {
        let table = tables.get(dwarf, header)?;
        let unit = light_unit(dwarf, *header, &table)?;
        let mut c = Fast {
            walk: Walk::new(dwarf, header, &table)?,
            cur: None,
        };
        scan.run(&unit, &mut c)
    };
    if !slow_only() {
        if let Ok(out) = fast() {
            return Ok(out);
        }
    }
    let unit = dwarf.unit(*header)?;
    let mut c = Slow::new(header.entries_raw(&unit.abbreviations, None)?);
    scan.run(&unit, &mut c)
}

/// `MAPSCOPE_SLOW_SCAN=1` turns the fast path off (to compare the two in tests).
pub fn slow_only() -> bool {
    static SLOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SLOW.get_or_init(|| std::env::var("MAPSCOPE_SLOW_SCAN").as_deref() == Ok("1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc() -> gimli::Encoding {
        gimli::Encoding {
            format: gimli::Format::Dwarf32,
            version: 4,
            address_size: 8,
        }
    }

    #[test]
    fn plans_merge_fixed_forms_and_keep_variable_ones() {
        // 1: struct, children, name strp, byte_size data1 (fixed 5);
        // 2: member, name string, location exprloc, type ref4.
        let data = [
            1, 0x13, 1, 0x03, 0x0e, 0x0b, 0x0b, 0, 0, //
            2, 0x0d, 0, 0x03, 0x08, 0x38, 0x18, 0x49, 0x13, 0, 0, //
            0,
        ];
        let t = Table::parse(&data, enc()).unwrap();
        let a = t.get(1).unwrap();
        assert!(a.children && matches!(a.skip, Skip::Fixed(5)));
        let b = t.get(2).unwrap();
        assert_eq!(t.specs(b).len(), 3);
        assert!(matches!(b.skip, Skip::Steps(_, 3)));
        assert!(t.get(3).is_none() && t.get(0).is_none());
    }

    #[test]
    fn tables_gimli_refuses_are_refused() {
        // Duplicate code, tag zero, bad children byte, form zero, name without form end.
        for data in [
            &[1, 0x13, 0, 0, 0, 1, 0x13, 0, 0, 0, 0][..],
            &[1, 0, 0, 0, 0, 0],
            &[1, 0x13, 2, 0, 0, 0],
            &[1, 0x13, 0, 0x03, 0, 0, 0, 0],
            &[1, 0x13, 0, 0, 0x0e, 0],
            &[1, 0x13],
        ] {
            assert_eq!(Table::parse(data, enc()).err(), Some(Fallback), "{data:?}");
        }
    }
}
