//! Struct layouts: finding struct types by name and decoding their members.
//!
//! The scan decodes every DIE (rustc emits no index and no `DW_AT_sibling`) but
//! only reads the attributes of struct-like and namespace entries; everything
//! else is skipped by form. Units are scanned in parallel ([`crate::scan`]).
//! Member types are resolved afterwards by random access, following
//! `DW_FORM_ref_addr` into other units (Go) as needed.

use std::collections::{BTreeMap, HashMap, HashSet};

use gimli::constants as dw;
use gimli::{AttributeValue, DebugInfoOffset, UnitHeader, UnitOffset, UnitSectionOffset, UnitType};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::loader::{Binary, Source, R};
use crate::names::{self, MatchKind, Query};
use crate::scan;

/// A struct member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Member {
    /// Field name (`<anon>` if unnamed).
    pub name: String,
    /// Byte offset from the start of the struct.
    pub offset: u64,
    /// Size in bytes (for bit fields: bytes of the storage unit).
    pub size: u64,
    /// Alignment in bytes (from DWARF, or computed).
    pub align: u64,
    /// The member's type, fully qualified where DWARF allows.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Bit size, for bit fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_size: Option<u64>,
    /// Bit offset from the start of the struct, for bit fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_offset: Option<u64>,
}

/// Padding inside a struct.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hole {
    /// Offset of the first padding byte.
    pub offset: u64,
    /// Number of padding bytes.
    pub size: u64,
    /// The member the hole follows.
    pub after: String,
}

/// The layout of one struct type.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// Fully qualified name (namespace path + DW_AT_name).
    pub name: String,
    /// `struct`, `union` or `class`.
    pub kind: &'static str,
    /// Total size in bytes.
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// Members in offset order.
    pub members: Vec<Member>,
    /// Holes between members.
    pub holes: Vec<Hole>,
    /// Padding after the last member.
    pub tail_padding: u64,
    /// How the name matched the query.
    pub matched: MatchKind,
    /// Section offset of the defining DIE in `.debug_info` (first copy).
    pub die_offset: u64,
    /// How many identical definitions were found (one per codegen unit).
    pub copies: usize,
}

impl Layout {
    /// A member by name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone)]
struct RawMember {
    name: Option<String>,
    ty: Option<DebugInfoOffset>,
    offset: u64,
    bit_size: Option<u64>,
    data_bit_offset: Option<u64>,
}

#[derive(Debug, Clone)]
struct RawStruct {
    qualified: String,
    name: String,
    tag: gimli::DwTag,
    matched: MatchKind,
    offset: DebugInfoOffset,
    size: Option<u64>,
    align: Option<u64>,
    members: Vec<RawMember>,
    /// Identical definitions this one stands for (from the catalog; 1 when scanned).
    copies: usize,
}

/// Identity of a definition for deduplication: name, size, (member name, offset)s.
type DedupKey = (String, Option<u64>, Vec<(Option<String>, u64)>);

/// What to look for during a scan.
enum Want<'q> {
    /// Structs matching any query; `hits[source]`, when present, holds the start
    /// offset of every `.debug_str` string of that source that contains a query's
    /// needle, so that names in `.debug_str` are only resolved when they can match.
    Queries(&'q [Query], &'q [Option<HashSet<usize>>]),
    /// Every named struct whose name passes the predicate (used for suggestions and profiles).
    Pred(&'q (dyn Fn(&str, &str) -> bool + Sync)),
    /// Every named struct, without members (to build the on-disk catalog).
    Catalog,
}

fn is_struct_tag(tag: gimli::DwTag) -> bool {
    tag == dw::DW_TAG_structure_type || tag == dw::DW_TAG_union_type || tag == dw::DW_TAG_class_type
}

fn is_scope_tag(tag: gimli::DwTag) -> bool {
    tag == dw::DW_TAG_namespace || is_struct_tag(tag) || tag == dw::DW_TAG_enumeration_type
}

/// Reads an attribute value as a string (all string forms, DWARF 4 and 5).
pub(crate) fn attr_str<'a>(
    dwarf: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    v: AttributeValue<R<'a>>,
) -> Option<&'a str> {
    let s = dwarf.attr_string(unit, v).ok()?;
    std::str::from_utf8(s.slice()).ok()
}

/// Converts a reference attribute to a section offset.
pub(crate) fn ref_offset(
    header: &UnitHeader<R<'_>>,
    v: &AttributeValue<R<'_>>,
) -> Option<DebugInfoOffset> {
    match *v {
        AttributeValue::UnitRef(o) => o.to_debug_info_offset(header),
        AttributeValue::DebugInfoRef(o) => Some(o),
        _ => None,
    }
}

/// Type units by signature: the offset of each one's type entry, in the numbering
/// shared by all sources.
type Signatures = HashMap<u64, DebugInfoOffset>;

/// Where the entries of a unit are numbered from, in the numbering shared by all
/// sources: its section's base plus the unit's offset in the section.
fn unit_base(src: &Source<'_>, header: &UnitHeader<R<'_>>) -> usize {
    match header.offset() {
        UnitSectionOffset::DebugInfoOffset(o) => src.base.saturating_add(o.0),
        UnitSectionOffset::DebugTypesOffset(o) => src.types_base.saturating_add(o.0),
    }
}

/// A reference attribute as an offset in the shared numbering: within the unit,
/// into `.debug_info` (`DW_FORM_ref_addr`), or to a type unit by its signature
/// (`DW_FORM_ref_sig8`, as `-fdebug-types-section` makes).
fn global_ref(
    src: &Source<'_>,
    header: &UnitHeader<R<'_>>,
    v: &AttributeValue<R<'_>>,
    sigs: &Signatures,
) -> Option<DebugInfoOffset> {
    match *v {
        AttributeValue::UnitRef(o) => {
            Some(DebugInfoOffset(unit_base(src, header).saturating_add(o.0)))
        }
        AttributeValue::DebugInfoRef(o) => Some(DebugInfoOffset(src.base.saturating_add(o.0))),
        AttributeValue::DebugTypesRef(sig) => sigs.get(&sig.0).copied(),
        _ => None,
    }
}

fn member_location(v: &AttributeValue<R<'_>>, encoding: gimli::Encoding) -> Option<u64> {
    if let Some(u) = v.udata_value() {
        return Some(u);
    }
    if let AttributeValue::Exprloc(expr) = v {
        let mut ops = expr.operations(encoding);
        if let Ok(Some(gimli::Operation::PlusConstant { value })) = ops.next() {
            return Some(value);
        }
    }
    None
}

/// Scans one unit of `source` (number `src` in the list of sources).
fn scan_unit<'a>(
    source: &Source<'a>,
    header: &UnitHeader<R<'a>>,
    want: &Want<'_>,
    src: usize,
    sigs: &Signatures,
    tables: &crate::walk::Tables,
) -> gimli::Result<Vec<RawStruct>> {
    let scan = StructScan {
        source,
        header,
        want,
        src,
        sigs,
    };
    crate::walk::scan_unit(&source.dwarf, header, tables, &scan)
}

struct StructScan<'s, 'a, 'w> {
    source: &'s Source<'a>,
    header: &'s UnitHeader<R<'a>>,
    want: &'s Want<'w>,
    src: usize,
    sigs: &'s Signatures,
}

impl<'a> crate::walk::UnitScan<'a> for StructScan<'_, 'a, '_> {
    type Out = Vec<RawStruct>;

    fn run<C: crate::walk::Cursor<'a>>(
        &self,
        unit: &gimli::Unit<R<'a>>,
        entries: &mut C,
    ) -> std::result::Result<Vec<RawStruct>, C::Error> {
        let (source, header, want, src, sigs) =
            (self.source, self.header, self.want, self.src, self.sigs);
        let dwarf = &source.dwarf;
        let base = unit_base(source, header);
        // Enclosing named scopes; names are resolved only when a struct matches.
        let mut scopes: Vec<(isize, AttributeValue<R<'a>>)> = Vec::new();
        let mut prefixes = Prefix::default();
        let mut out: Vec<RawStruct> = Vec::new();
        let str_offsets_base = unit.str_offsets_base;
        let format = header.format();
        // Depth of the struct whose members we are collecting.
        let mut open: Option<isize> = None;
        // Only scopes, and members while a struct is open, matter; the entries passed over
        // count by their depth.
        const SCOPES: crate::walk::Tags = crate::walk::Tags::new(&[
            dw::DW_TAG_namespace,
            dw::DW_TAG_structure_type,
            dw::DW_TAG_union_type,
            dw::DW_TAG_class_type,
            dw::DW_TAG_enumeration_type,
        ]);
        const SCOPES_AND_MEMBERS: crate::walk::Tags = crate::walk::Tags::new(&[
            dw::DW_TAG_namespace,
            dw::DW_TAG_structure_type,
            dw::DW_TAG_union_type,
            dw::DW_TAG_class_type,
            dw::DW_TAG_enumeration_type,
            dw::DW_TAG_member,
        ]);
        loop {
            let wanted = if open.is_some() {
                &SCOPES_AND_MEMBERS
            } else {
                &SCOPES
            };
            let Some((e, least)) = entries.next_wanted(wanted)? else {
                break;
            };
            let (offset, depth, tag) = (e.offset, e.depth, e.tag);
            while scopes.last().is_some_and(|(d, _)| *d >= least) {
                scopes.pop();
            }
            if open.is_some_and(|d| least <= d) {
                open = None;
            }
            if let Some(d) = open {
                if depth == d + 1 && tag == dw::DW_TAG_member {
                    let mut m = RawMember {
                        name: None,
                        ty: None,
                        offset: 0,
                        bit_size: None,
                        data_bit_offset: None,
                    };
                    let mut is_static = false;
                    entries.read(|attr| match attr.name() {
                        dw::DW_AT_name => {
                            m.name = attr_str(dwarf, unit, attr.value()).map(str::to_string)
                        }
                        dw::DW_AT_type => m.ty = global_ref(source, header, &attr.value(), sigs),
                        dw::DW_AT_data_member_location => {
                            m.offset =
                                member_location(&attr.value(), header.encoding()).unwrap_or(0)
                        }
                        dw::DW_AT_bit_size => m.bit_size = attr.udata_value(),
                        dw::DW_AT_data_bit_offset => m.data_bit_offset = attr.udata_value(),
                        dw::DW_AT_external | dw::DW_AT_declaration => is_static = true,
                        _ => {}
                    })?;
                    if !is_static {
                        if let Some(s) = out.last_mut() {
                            s.members.push(m);
                        }
                    }
                    continue;
                }
            }
            if !is_scope_tag(tag) {
                entries.skip()?;
                continue;
            }
            let mut name_val: Option<AttributeValue<R<'a>>> = None;
            let mut size = None;
            let mut align = None;
            let mut declaration = false;
            entries.read(|attr| match attr.name() {
                dw::DW_AT_name => name_val = Some(attr.value()),
                dw::DW_AT_byte_size => size = attr.udata_value(),
                dw::DW_AT_alignment => align = attr.udata_value(),
                dw::DW_AT_declaration => declaration = true,
                _ => {}
            })?;
            let Some(name_val) = name_val else { continue };
            if is_struct_tag(tag) && !declaration {
                // Fast reject: a name in .debug_str that contains no needle cannot match.
                let hits = match want {
                    Want::Queries(_, hits) => hits.get(src).and_then(Option::as_ref),
                    _ => None,
                };
                let possible = match (hits, name_val) {
                    (Some(hits), AttributeValue::DebugStrRef(o)) => hits.contains(&o.0),
                    (Some(hits), AttributeValue::DebugStrOffsetsIndex(i)) => dwarf
                        .debug_str_offsets
                        .get_str_offset(format, str_offsets_base, i)
                        .map_or(true, |o| hits.contains(&o.0)),
                    _ => true,
                };
                // A name that points outside the string sections is damage, not "no match".
                let name = if possible {
                    std::str::from_utf8(dwarf.attr_string(unit, name_val)?.slice()).ok()
                } else {
                    None
                };
                let candidate = match (want, name) {
                    (_, None) => None,
                    (Want::Queries(qs, _), Some(name)) => {
                        if qs.iter().any(|q| q.may_match(name)) {
                            let qualified = prefixes.qualify(dwarf, unit, &scopes, name);
                            qs.iter()
                                .filter_map(|q| q.matches(&qualified, name))
                                .min()
                                .map(|k| (qualified, k, name))
                        } else {
                            None
                        }
                    }
                    (Want::Pred(p), Some(name)) => {
                        let qualified = prefixes.qualify(dwarf, unit, &scopes, name);
                        p(&qualified, name).then_some((qualified, MatchKind::ExactPath, name))
                    }
                    (Want::Catalog, Some(name)) => Some((
                        prefixes.qualify(dwarf, unit, &scopes, name),
                        MatchKind::ExactPath,
                        name,
                    )),
                };
                if let Some((qualified, matched, name)) = candidate {
                    let off = DebugInfoOffset(base.saturating_add(offset.0));
                    out.push(RawStruct {
                        qualified,
                        name: name.to_string(),
                        tag,
                        matched,
                        offset: off,
                        size,
                        align,
                        members: Vec::new(),
                        copies: 1,
                    });
                    if e.children && !matches!(want, Want::Catalog) {
                        open = Some(depth);
                    }
                }
            }
            if e.children {
                scopes.push((depth, name_val));
            }
        }
        Ok(out)
    }
}

/// The qualified name of a struct from its enclosing scopes, whose part (`a::b::`) is kept
/// while the scopes stay the same: a unit's structs come in runs within one namespace.
#[derive(Default)]
struct Prefix<'a> {
    scopes: Vec<(isize, AttributeValue<R<'a>>)>,
    text: String,
}

impl<'a> Prefix<'a> {
    fn qualify(
        &mut self,
        dwarf: &gimli::Dwarf<R<'a>>,
        unit: &gimli::Unit<R<'a>>,
        scopes: &[(isize, AttributeValue<R<'a>>)],
        name: &str,
    ) -> String {
        if self.scopes != scopes {
            self.text.clear();
            for (_, v) in scopes {
                if let Some(n) = attr_str(dwarf, unit, *v) {
                    self.text.push_str(n);
                    self.text.push_str("::");
                }
            }
            self.scopes.clear();
            self.scopes.extend_from_slice(scopes);
        }
        let mut s = String::with_capacity(self.text.len() + name.len());
        s.push_str(&self.text);
        s.push_str(name);
        s
    }
}

/// Start offsets of the `.debug_str` strings containing any query's needle.
fn needle_hits(debug_str: &[u8], qs: &[Query]) -> Option<HashSet<usize>> {
    if debug_str.is_empty() || qs.iter().any(|q| q.needle.is_empty()) {
        return None;
    }
    let mut hits = HashSet::new();
    for q in qs {
        for pos in q.needle_finder().find_iter(debug_str) {
            let start = memchr::memrchr(0, &debug_str[..pos]).map_or(0, |i| i + 1);
            hits.insert(start);
        }
    }
    Some(hits)
}

/// Where a unit is, for error messages.
fn unit_place(src: &Source<'_>, header: &UnitHeader<R<'_>>) -> String {
    let (section, off) = match header.offset() {
        UnitSectionOffset::DebugInfoOffset(o) => (".debug_info", o.0),
        UnitSectionOffset::DebugTypesOffset(o) => (".debug_types", o.0),
    };
    if src.base == 0 {
        format!("in the unit at {section}+{off:#x}")
    } else {
        format!(
            "in the unit at {section}.dwo+{off:#x} of {}",
            crate::escape::path(src.path)
        )
    }
}

/// Needles longer than this are not prefiltered (no type's name is that long).
const MAX_NEEDLE: usize = 1024;

/// More strings that a struct's name can be than this: [`TypeIndex::units_named`] reads
/// every unit. Such a name (`Vec`, `Option`) is in most units anyway, and the search stays
/// on its fastest path ([`crate::prefilter::MAX_PACKED`] patterns, with the inline name).
const MAX_NAME_STRINGS: usize = crate::prefilter::MAX_PACKED - 1;

/// Finds struct layouts in a binary. Create once per binary; reuse for many queries.
///
/// With split DWARF the entries are in several DWARF sources (the binary and its
/// `.dwo` files); `.debug_info` offsets (`Layout::die_offset`, `type_name`) are
/// numbered across all of them (see [`Binary::dwarf_sources`]).
pub struct TypeIndex<'a> {
    srcs: Vec<Source<'a>>,
    /// Every unit, type units included: (source index, header).
    headers: Vec<(usize, UnitHeader<R<'a>>)>,
    sigs: Signatures,
    resolver: std::cell::RefCell<Resolver<'a>>,
    cache_path: Option<std::path::PathBuf>,
    /// What a catalog must say it was built from (see [`crate::cache`]).
    cache_identity: String,
    catalog: std::cell::RefCell<Option<std::rc::Rc<crate::cache::Catalog>>>,
    /// Whether a lookup reads only the units that can hold its names ([`crate::prefilter`]).
    prefilter: bool,
}

/// Result of a lookup: the layouts, grouped per query.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The name the user asked for.
    pub query: String,
    /// Every matching layout (several for generic instantiations).
    pub types: Vec<Layout>,
}

impl<'a> TypeIndex<'a> {
    /// Prepares the unit list of a binary. Fails if split DWARF files are missing
    /// (an answer without them could be incomplete).
    pub fn new(bin: &'a Binary<'_>) -> Result<Self> {
        bin.require_split_dwarf()?;
        let srcs = bin.dwarf_sources()?;
        let mut headers = Vec::new();
        let mut sigs = Signatures::new();
        for (k, src) in srcs.iter().enumerate() {
            let place = |section: &str| {
                if src.base == 0 {
                    format!("while reading the unit headers of {section}")
                } else {
                    format!(
                        "while reading the unit headers of {}",
                        crate::escape::path(src.path)
                    )
                }
            };
            let mut units = src.dwarf.units();
            while let Some(h) = units
                .next()
                .map_err(|e| Error::dwarf_in(&src.dwarf, &e, &place(".debug_info")))?
            {
                headers.push((k, h));
            }
            // DWARF 4 type units (-fdebug-types-section) have a section of their own.
            let mut units = src.dwarf.type_units();
            while let Some(h) = units
                .next()
                .map_err(|e| Error::dwarf_in(&src.dwarf, &e, &place(".debug_types")))?
            {
                headers.push((k, h));
            }
        }
        for (k, h) in &headers {
            if let UnitType::Type {
                type_signature,
                type_offset,
            }
            | UnitType::SplitType {
                type_signature,
                type_offset,
            } = h.type_()
            {
                let at = unit_base(&srcs[*k], h).saturating_add(type_offset.0);
                sigs.insert(type_signature.0, DebugInfoOffset(at));
            }
        }
        let resolver = Resolver::new(&srcs, &headers, sigs.clone(), bin.address_size());
        Ok(TypeIndex {
            cache_path: crate::cache::path_for(bin),
            cache_identity: crate::cache::identity(bin),
            catalog: std::cell::RefCell::new(None),
            prefilter: true,
            srcs,
            headers,
            sigs,
            resolver: std::cell::RefCell::new(resolver),
        })
    }

    /// This index reading every unit for every lookup (the reference the prefilter is
    /// tested against).
    pub fn without_prefilter(mut self) -> Self {
        self.prefilter = false;
        self
    }

    fn scan(&self, want: &Want<'_>) -> Result<Vec<RawStruct>> {
        if let Some(catalog) = self.catalog(false)? {
            if let Some(found) = self.scan_catalog(&catalog, want) {
                return Ok(found);
            }
            // An entry no longer names the struct it claims to (an edited or stale
            // file): never answer from it. Rebuild once; the fresh catalog is checked too.
            if let Some(catalog) = self.catalog(true)? {
                if let Some(found) = self.scan_catalog(&catalog, want) {
                    return Ok(found);
                }
            }
        }
        self.scan_units(want)
    }

    fn scan_units(&self, want: &Want<'_>) -> Result<Vec<RawStruct>> {
        let (srcs, headers, sigs) = (&self.srcs, &self.headers, &self.sigs);
        let units: Vec<UnitHeader<R<'a>>> = headers.iter().map(|(_, h)| *h).collect();
        let tables = crate::walk::Tables::new();
        let read = match want {
            Want::Queries(qs, hits) => self.units_named(qs, hits),
            _ => None,
        };
        let per_unit = scan::par_units(&units, |i, h| {
            if read.as_ref().is_some_and(|r| !r[i]) {
                return Ok(Vec::new());
            }
            let k = headers[i].0;
            let src = &srcs[k];
            scan_unit(src, h, want, k, sigs, &tables)
                .map_err(|e| Error::dwarf_in(&src.dwarf, &e, &unit_place(src, h)))
        })?;
        Ok(per_unit.into_iter().flatten().collect())
    }

    /// Which units (in the order of `headers`) can hold a struct matching one of `qs`, from
    /// the bytes of the names it could have (see [`crate::prefilter`]); `None`: read them all.
    fn units_named(&self, qs: &[Query], hits: &[Option<HashSet<usize>>]) -> Option<Vec<bool>> {
        if !self.prefilter {
            return None;
        }
        // A matching name, its generic arguments taken off, ends with the query's needle.
        // Needles that are not plain identifiers (tuples, arrays, pointers) are not filtered.
        let plain = |n: &str| {
            (1..=MAX_NEEDLE).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if !qs.iter().all(|q| plain(&q.needle)) {
            return None;
        }
        use gimli::Reader;
        let big_endian = matches!(
            gimli::Section::reader(&self.srcs.first()?.dwarf.debug_info).endian(),
            gimli::RunTimeEndian::Big
        );
        let mut read = vec![true; self.headers.len()];
        for (k, src) in self.srcs.iter().enumerate() {
            let dwarf = &src.dwarf;
            let in_source: Vec<usize> = (0..self.headers.len())
                .filter(|&i| {
                    self.headers[i].0 == k
                        && matches!(
                            self.headers[i].1.offset(),
                            UnitSectionOffset::DebugInfoOffset(_)
                        )
                })
                .collect();
            let str_offsets = !gimli::Section::reader(&dwarf.debug_str_offsets).is_empty();
            let dwarf64 = in_source
                .iter()
                .any(|&i| self.headers[i].1.format() == gimli::Format::Dwarf64);
            if in_source.is_empty() || str_offsets || dwarf64 {
                continue; // read every unit of this source
            }
            // The strings containing a needle (found for the scan already), whole names only.
            // Without `.debug_str` (Go) every name is inline.
            let strs = gimli::Section::reader(&dwarf.debug_str).slice();
            let hits = match hits.get(k) {
                Some(Some(hits)) => hits,
                _ if strs.is_empty() => &HashSet::new(),
                _ => continue,
            };
            let can_be = |start: usize| {
                let text = strs.get(start..)?;
                let text = &text[..memchr::memchr(0, text).unwrap_or(text.len())];
                let ends = |t: &[u8]| qs.iter().any(|q| t.ends_with(q.needle.as_bytes()));
                // Without generic arguments the name must end with a needle as it is (most
                // strings, linkage names among them, are rejected here without a copy).
                if memchr::memchr(b'<', text).is_none() {
                    return ends(text).then_some(start);
                }
                let text =
                    names::strip_generics(&names::normalize(std::str::from_utf8(text).ok()?));
                ends(text.as_bytes()).then_some(start)
            };
            let mut strings: Vec<usize> = Vec::new();
            for s in hits.iter().filter_map(|&s| can_be(s)) {
                strings.push(s);
                if strings.len() > MAX_NAME_STRINGS {
                    break;
                }
            }
            if strings.len() > MAX_NAME_STRINGS {
                continue;
            }
            let inline: Vec<&[u8]> = qs.iter().map(|q| q.needle.as_bytes()).collect();
            let info = gimli::Section::reader(&dwarf.debug_info).slice();
            let starts: Vec<usize> = in_source
                .iter()
                .map(|&i| match self.headers[i].1.offset() {
                    UnitSectionOffset::DebugInfoOffset(o) => o.0,
                    UnitSectionOffset::DebugTypesOffset(o) => o.0,
                })
                .collect();
            let wanted =
                crate::prefilter::units_with_names(info, &starts, &strings, &inline, big_endian)?;
            for (&i, w) in in_source.iter().zip(wanted) {
                read[i] = w;
            }
        }
        Some(read)
    }

    /// The struct catalog from the on-disk cache, building and saving it on a miss
    /// (or when `rebuild`); `None` when caching does not apply to this binary (see
    /// [`crate::cache`]).
    fn catalog(&self, rebuild: bool) -> Result<Option<std::rc::Rc<crate::cache::Catalog>>> {
        let Some(path) = &self.cache_path else {
            return Ok(None);
        };
        if !rebuild {
            if let Some(c) = self.catalog.borrow().as_ref() {
                return Ok(Some(c.clone()));
            }
        }
        let loaded = if rebuild {
            None
        } else {
            crate::cache::Catalog::load(path, &self.cache_identity)
        };
        let catalog = match loaded {
            Some(c) => c,
            None => {
                let entries = self.catalog_entries()?;
                let c = crate::cache::Catalog::from_entries(&self.cache_identity, &entries);
                crate::cache::save(path, &c);
                c
            }
        };
        let rc = std::rc::Rc::new(catalog);
        *self.catalog.borrow_mut() = Some(rc.clone());
        Ok(Some(rc))
    }

    /// One catalog entry per distinct (qualified name, size): the offset of its first copy and
    /// the number of copies, in the order of first copies. Each thread merges the structs of
    /// a unit as soon as it has them, so that copies (most of the structs: every unit repeats
    /// the types it uses) are dropped on all threads and never gathered in one list.
    fn catalog_entries(&self) -> Result<Vec<crate::cache::Entry>> {
        use std::hash::BuildHasher;
        #[derive(Default)]
        struct Merged {
            entries: Vec<crate::cache::Entry>,
            // Keyed SipHash of (qualified, size) -> entries with it: a file cannot choose
            // names that collide.
            by_hash: HashMap<u64, Vec<usize>>,
        }
        let (srcs, headers, sigs) = (&self.srcs, &self.headers, &self.sigs);
        let units: Vec<UnitHeader<R<'a>>> = headers.iter().map(|(_, h)| *h).collect();
        let tables = crate::walk::Tables::new();
        let state = std::collections::hash_map::RandomState::new();
        let merged = std::sync::Mutex::new(Merged::default());
        scan::par_units(&units, |i, h| {
            let k = headers[i].0;
            let src = &srcs[k];
            let raws = scan_unit(src, h, &Want::Catalog, k, sigs, &tables)
                .map_err(|e| Error::dwarf_in(&src.dwarf, &e, &unit_place(src, h)))?;
            let hashed: Vec<(u64, RawStruct)> = raws
                .into_iter()
                .map(|r| (state.hash_one((&r.qualified, r.size)), r))
                .collect();
            let mut copies = Vec::new(); // freed outside the lock
            let mut m = merged
                .lock()
                .map_err(|_| Error::Dwarf("worker thread failed".into()))?;
            let Merged { entries, by_hash } = &mut *m;
            for (hash, mut r) in hashed {
                let group = by_hash.entry(hash).or_default();
                let same = group
                    .iter()
                    .copied()
                    .find(|&e| entries[e].size == r.size && entries[e].qualified == r.qualified);
                match same {
                    Some(e) => {
                        // Units come in any order: the entry takes the first copy's offset
                        // and name.
                        let e = &mut entries[e];
                        e.copies += 1;
                        if (r.offset.0 as u64) < e.offset {
                            e.offset = r.offset.0 as u64;
                            std::mem::swap(&mut e.name, &mut r.name);
                        }
                        copies.push(r);
                    }
                    None => {
                        group.push(entries.len());
                        entries.push(crate::cache::Entry {
                            offset: r.offset.0 as u64,
                            copies: 1,
                            size: r.size,
                            qualified: r.qualified,
                            name: r.name,
                        });
                    }
                }
            }
            drop(m);
            drop(copies);
            Ok(())
        })?;
        let mut entries = merged
            .into_inner()
            .map_err(|_| Error::Dwarf("worker thread failed".into()))?
            .entries;
        entries.sort_unstable_by_key(|e| e.offset);
        Ok(entries)
    }

    /// Answers a scan from the catalog: filter names, then decode only the chosen
    /// DIEs. `None` if the catalog cannot be trusted: a line does not parse, or the
    /// entry at a recorded offset is not a struct of the recorded name and size.
    fn scan_catalog(
        &self,
        catalog: &crate::cache::Catalog,
        want: &Want<'_>,
    ) -> Option<Vec<RawStruct>> {
        let entries = match want {
            Want::Queries(qs, _) => {
                let needles: Vec<&str> = qs.iter().map(|q| q.needle.as_str()).collect();
                catalog.containing(&needles)?
            }
            _ => catalog.all()?,
        };
        let mut out = Vec::new();
        let mut res = self.resolver.borrow_mut();
        for e in &entries {
            let matched = match want {
                Want::Queries(qs, _) => {
                    if !qs.iter().any(|q| q.may_match(&e.name)) {
                        continue;
                    }
                    match qs
                        .iter()
                        .filter_map(|q| q.matches(&e.qualified, &e.name))
                        .min()
                    {
                        Some(k) => k,
                        None => continue,
                    }
                }
                Want::Pred(p) => {
                    if !p(&e.qualified, &e.name) {
                        continue;
                    }
                    MatchKind::ExactPath
                }
                Want::Catalog => MatchKind::ExactPath,
            };
            let offset = usize::try_from(e.offset).ok()?;
            let mut r = res.raw_struct(&self.srcs, DebugInfoOffset(offset))?;
            if r.name != e.name || r.qualified != e.qualified || r.size != e.size {
                return None;
            }
            r.matched = matched;
            r.copies = e.copies;
            out.push(r);
        }
        Some(out)
    }

    /// Looks up each query. With `all == false`, a query that matches several
    /// unrelated types fails with [`Error::AmbiguousType`]; a query matching nothing
    /// fails with [`Error::TypeNotFound`] (with suggestions).
    pub fn lookup(&self, queries: &[&str], all: bool) -> Result<Vec<Found>> {
        let qs: Vec<Query> = queries.iter().map(|q| Query::new(q)).collect();
        let hits: Vec<Option<HashSet<usize>>> = self
            .srcs
            .iter()
            .map(|s| needle_hits(gimli::Section::reader(&s.dwarf.debug_str).slice(), &qs))
            .collect();
        let want = Want::Queries(&qs, &hits);
        let mut raws = self.scan(&want)?;
        let found_all = |raws: &[RawStruct]| {
            qs.iter().all(|q| {
                raws.iter()
                    .any(|r| q.matches(&r.qualified, &r.name).is_some())
            })
        };
        if !found_all(&raws) && self.catalog.borrow().is_some() {
            // "Not found" from a catalog is confirmed by a scan: a catalog with a line
            // missing (and a valid checksum) must not hide a type.
            let scanned = self.scan_units(&want)?;
            if scanned.len() != raws.len() {
                self.catalog(true)?;
            }
            raws = scanned;
        }
        let mut out = Vec::new();
        for q in &qs {
            let mine: Vec<RawStruct> = raws
                .iter()
                .filter_map(|r| {
                    q.matches(&r.qualified, &r.name).map(|k| {
                        let mut r = r.clone();
                        r.matched = k;
                        r
                    })
                })
                .collect();
            if mine.is_empty() {
                return Err(Error::TypeNotFound {
                    name: q.raw.clone(),
                    suggestions: self.suggest(q)?,
                });
            }
            let best = mine
                .iter()
                .map(|r| r.matched)
                .min()
                .unwrap_or(MatchKind::Generic);
            let mine: Vec<RawStruct> = if all {
                mine
            } else {
                mine.into_iter().filter(|r| r.matched == best).collect()
            };
            let layouts = self.build_layouts(mine)?;
            if !all {
                // Distinct generic bases (or distinct names for a generic-free query) are ambiguous.
                let mut bases: Vec<String> = layouts
                    .iter()
                    .map(|l| {
                        if best == MatchKind::Generic {
                            names::strip_generics(&l.name)
                        } else {
                            l.name.clone()
                        }
                    })
                    .collect();
                bases.sort();
                bases.dedup();
                if bases.len() > 1 {
                    let mut candidates: Vec<String> =
                        layouts.iter().map(|l| l.name.clone()).collect();
                    candidates.dedup();
                    return Err(Error::AmbiguousType {
                        name: q.raw.clone(),
                        candidates,
                    });
                }
            }
            out.push(Found {
                query: q.raw.clone(),
                types: layouts,
            });
        }
        Ok(out)
    }

    /// All struct layouts whose qualified name satisfies `pred(qualified, own_name)`,
    /// deduplicated. Used by the profile.
    pub fn find_all(&self, pred: &(dyn Fn(&str, &str) -> bool + Sync)) -> Result<Vec<Layout>> {
        let raws = self.scan(&Want::Pred(pred))?;
        self.build_layouts(raws)
    }

    fn suggest(&self, q: &Query) -> Result<Vec<String>> {
        let needle = q.needle.to_lowercase();
        let stripped_needle = names::strip_generics(&needle);
        // Linear in the name: a 100 KB query is compared once per struct by length
        // first, and the edit distance is only computed within a band of 2.
        let finder = memchr::memmem::Finder::new(stripped_needle.as_bytes());
        let pred = |_qualified: &str, name: &str| {
            let base = names::strip_generics(name).to_lowercase();
            let base = names::last_segment(&base);
            (base.len() >= stripped_needle.len() && finder.find(base.as_bytes()).is_some())
                || (stripped_needle.len() > 2
                    && names::within_edit_distance(base, &stripped_needle, 2))
        };
        let raws = self.scan(&Want::Pred(&pred))?;
        let mut names: Vec<String> = raws.into_iter().map(|r| r.qualified).collect();
        names.sort();
        names.dedup();
        names.sort_by_key(|n| n.len());
        names.truncate(8);
        Ok(names)
    }

    fn build_layouts(&self, raws: Vec<RawStruct>) -> Result<Vec<Layout>> {
        // Deduplicate by name, size and member signature, keeping section order.
        let mut groups: Vec<(RawStruct, usize)> = Vec::new();
        let mut seen: HashMap<DedupKey, usize> = HashMap::new();
        for r in raws {
            let sig: Vec<(Option<String>, u64)> = r
                .members
                .iter()
                .map(|m| (m.name.clone(), m.offset))
                .collect();
            let key = (r.qualified.clone(), r.size, sig);
            if let Some(&i) = seen.get(&key) {
                groups[i].1 += r.copies;
            } else {
                seen.insert(key, groups.len());
                let c = r.copies;
                groups.push((r, c));
            }
        }
        let mut res = self.resolver.borrow_mut();
        let mut out = Vec::new();
        for (r, copies) in groups {
            out.push(res.layout(&self.srcs, r, copies)?);
        }
        Ok(out)
    }

    /// Resolves the name of the type at a `.debug_info` offset.
    pub fn type_name(&self, off: u64) -> String {
        self.resolver
            .borrow_mut()
            .name(&self.srcs, DebugInfoOffset(off as usize), 0)
    }

    /// The size of the type at a `.debug_info` offset.
    pub fn type_size(&self, off: u64) -> Option<u64> {
        self.resolver
            .borrow_mut()
            .size(&self.srcs, DebugInfoOffset(off as usize), 0)
    }

    /// Section offset of the `DW_AT_type` of a member, if any.
    pub fn member_type_offset(&self, layout: &Layout, member: &str) -> Result<Option<u64>> {
        let mut res = self.resolver.borrow_mut();
        let Some((ui, uoff)) = res.locate(DebugInfoOffset(layout.die_offset as usize)) else {
            return Ok(None);
        };
        let (_, header, src) = res.headers[ui];
        let src = &self.srcs[src];
        let unit = res.unit(&self.srcs, ui)?;
        let mut tree = unit.entries_tree(Some(uoff))?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            if e.tag() != dw::DW_TAG_member {
                continue;
            }
            let name = e
                .attr_value(dw::DW_AT_name)?
                .and_then(|v| attr_str(&src.dwarf, unit, v));
            if name == Some(member) {
                return Ok(e
                    .attr_value(dw::DW_AT_type)?
                    .and_then(|v| global_ref(src, &header, &v, &res.sigs))
                    .map(|o| o.0 as u64));
            }
        }
        Ok(None)
    }

    /// Element type and count of an array type at `off` (following typedefs).
    pub fn array_element(&self, off: u64) -> Option<(u64, u64)> {
        self.resolver
            .borrow_mut()
            .array_element(&self.srcs, DebugInfoOffset(off as usize))
    }
}

/// Random access to types by section offset, with per-unit caches.
struct Resolver<'a> {
    /// Every unit of every source: (global start offset, header, source index).
    headers: Vec<(DebugInfoOffset, UnitHeader<R<'a>>, usize)>,
    sigs: std::rc::Rc<Signatures>,
    units: HashMap<usize, gimli::Unit<R<'a>>>,
    /// Per unit: scope prefix of each named type DIE.
    prefixes: HashMap<usize, HashMap<UnitOffset, String>>,
    names: HashMap<DebugInfoOffset, String>,
    address_size: u8,
}

const MAX_DEPTH: usize = 24;

impl<'a> Resolver<'a> {
    fn new(
        srcs: &[Source<'a>],
        headers: &[(usize, UnitHeader<R<'a>>)],
        sigs: Signatures,
        address_size: u8,
    ) -> Self {
        let mut hs: Vec<(DebugInfoOffset, UnitHeader<R<'a>>, usize)> = headers
            .iter()
            .map(|&(src, h)| (DebugInfoOffset(unit_base(&srcs[src], &h)), h, src))
            .collect();
        hs.sort_by_key(|(o, _, _)| o.0);
        Resolver {
            headers: hs,
            sigs: std::rc::Rc::new(sigs),
            units: HashMap::new(),
            prefixes: HashMap::new(),
            names: HashMap::new(),
            address_size,
        }
    }

    fn locate(&self, off: DebugInfoOffset) -> Option<(usize, UnitOffset)> {
        let i = match self.headers.binary_search_by_key(&off.0, |(o, _, _)| o.0) {
            Ok(i) => i,
            Err(0) => return None,
            Err(i) => i - 1,
        };
        let (start, h, _) = &self.headers[i];
        let rel = off.0 - start.0;
        if rel >= h.length_including_self() {
            return None;
        }
        Some((i, UnitOffset(rel)))
    }

    fn unit(&mut self, srcs: &[Source<'a>], i: usize) -> Result<&gimli::Unit<R<'a>>> {
        if !self.units.contains_key(&i) {
            let (_, header, src) = self.headers[i];
            let u = srcs[src].dwarf.unit(header)?;
            self.units.insert(i, u);
        }
        self.units
            .get(&i)
            .ok_or_else(|| Error::Dwarf("unit cache".into()))
    }

    fn prefix(&mut self, srcs: &[Source<'a>], i: usize, off: UnitOffset) -> String {
        if !self.prefixes.contains_key(&i) {
            let map = self.build_prefixes(srcs, i).unwrap_or_default();
            self.prefixes.insert(i, map);
        }
        self.prefixes
            .get(&i)
            .and_then(|m| m.get(&off))
            .cloned()
            .unwrap_or_default()
    }

    fn build_prefixes(
        &mut self,
        srcs: &[Source<'a>],
        i: usize,
    ) -> Result<HashMap<UnitOffset, String>> {
        let (_, header, src) = self.headers[i];
        let dwarf = &srcs[src].dwarf;
        let unit = self.unit(srcs, i)?;
        let mut entries = header.entries_raw(&unit.abbreviations, None)?;
        let mut scopes: Vec<(isize, String)> = Vec::new();
        let mut map = HashMap::new();
        while !entries.is_empty() {
            let offset = entries.next_offset();
            let depth = entries.next_depth();
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            while scopes.last().is_some_and(|(d, _)| *d >= depth) {
                scopes.pop();
            }
            let tag = abbrev.tag();
            let scope = is_scope_tag(tag);
            let named_type = scope || tag == dw::DW_TAG_typedef || tag == dw::DW_TAG_base_type;
            if !named_type {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            let mut name = None;
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                if attr.name() == dw::DW_AT_name {
                    name = attr_str(dwarf, unit, attr.value());
                }
            }
            if !scopes.is_empty() && tag != dw::DW_TAG_namespace {
                let mut p = String::new();
                for (_, n) in &scopes {
                    p.push_str(n);
                    p.push_str("::");
                }
                map.insert(offset, p);
            }
            if let (true, Some(n), true) = (scope, name, abbrev.has_children()) {
                scopes.push((depth, n.to_string()));
            }
        }
        Ok(map)
    }

    /// Calls `f` with the entry at `off`, its unit and the unit's source.
    fn with_entry<T>(
        &mut self,
        srcs: &[Source<'a>],
        off: DebugInfoOffset,
        f: impl FnOnce(
            &Source<'a>,
            &gimli::Unit<R<'a>>,
            &gimli::DebuggingInformationEntry<'_, '_, R<'a>>,
        ) -> T,
    ) -> Option<(usize, UnitOffset, T)> {
        let (i, uoff) = self.locate(off)?;
        let src = &srcs[self.headers[i].2];
        let unit = self.unit(srcs, i).ok()?;
        let e = unit.entry(uoff).ok()?;
        Some((i, uoff, f(src, unit, &e)))
    }

    /// The entry at `off`; a declaration that names a type unit by signature
    /// (`DW_AT_signature`) stands for the type unit's entry, which is returned.
    fn entry_info(
        &mut self,
        srcs: &[Source<'a>],
        off: DebugInfoOffset,
    ) -> Option<(usize, UnitOffset, TypeInfo<'a>)> {
        let sigs = self.sigs.clone();
        let mut off = off;
        for _ in 0..4 {
            let (i, uoff, (info, stub)) = self.with_entry(srcs, off, |src, unit, e| {
                let get = |at| e.attr_value(at).ok().flatten();
                let info = TypeInfo {
                    tag: e.tag(),
                    name: get(dw::DW_AT_name).and_then(|v| attr_str(&src.dwarf, unit, v)),
                    size: get(dw::DW_AT_byte_size).and_then(|v| v.udata_value()),
                    align: get(dw::DW_AT_alignment).and_then(|v| v.udata_value()),
                    ty: get(dw::DW_AT_type).and_then(|v| global_ref(src, &unit.header, &v, &sigs)),
                };
                let stub =
                    get(dw::DW_AT_signature).and_then(|v| global_ref(src, &unit.header, &v, &sigs));
                (info, stub)
            })?;
            match stub {
                Some(target) if target != off => off = target,
                _ => return Some((i, uoff, info)),
            }
        }
        None
    }

    fn name(&mut self, srcs: &[Source<'a>], off: DebugInfoOffset, depth: usize) -> String {
        if let Some(n) = self.names.get(&off) {
            return n.clone();
        }
        if depth > MAX_DEPTH {
            return "?".into();
        }
        let Some((ui, uoff, info)) = self.entry_info(srcs, off) else {
            return "?".into();
        };
        let inner = |s: &mut Self| match info.ty {
            Some(t) => s.name(srcs, t, depth + 1),
            None => "void".to_string(),
        };
        let n = match info.tag {
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type => match info.name {
                Some(n) => n.to_string(),
                None => format!("{} *", inner(self)),
            },
            dw::DW_TAG_const_type => format!("const {}", inner(self)),
            dw::DW_TAG_volatile_type => format!("volatile {}", inner(self)),
            dw::DW_TAG_array_type => match info.name {
                Some(n) => n.to_string(),
                None => {
                    let count = self.array_count(srcs, off);
                    let elem = inner(self);
                    match count {
                        Some(c) => format!("[{elem}; {c}]"),
                        None => format!("[{elem}]"),
                    }
                }
            },
            dw::DW_TAG_subroutine_type => info
                .name
                .map(str::to_string)
                .unwrap_or_else(|| "fn()".into()),
            _ => match info.name {
                Some(n) => {
                    let p = self.prefix(srcs, ui, uoff);
                    format!("{p}{n}")
                }
                None => "<anon>".to_string(),
            },
        };
        self.names.insert(off, n.clone());
        n
    }

    fn array_count(&mut self, srcs: &[Source<'a>], off: DebugInfoOffset) -> Option<u64> {
        let (i, uoff) = self.locate(off)?;
        let unit = self.unit(srcs, i).ok()?;
        let mut tree = unit.entries_tree(Some(uoff)).ok()?;
        let root = tree.root().ok()?;
        let mut children = root.children();
        let mut total: Option<u64> = None;
        while let Ok(Some(child)) = children.next() {
            let e = child.entry();
            if e.tag() != dw::DW_TAG_subrange_type {
                continue;
            }
            let count = if let Some(c) = e
                .attr_value(dw::DW_AT_count)
                .ok()
                .flatten()
                .and_then(|v| v.udata_value())
            {
                c
            } else if let Some(u) = e
                .attr_value(dw::DW_AT_upper_bound)
                .ok()
                .flatten()
                .and_then(|v| v.udata_value())
            {
                let lower = e
                    .attr_value(dw::DW_AT_lower_bound)
                    .ok()
                    .flatten()
                    .and_then(|v| v.udata_value())
                    .unwrap_or(0);
                (u + 1).saturating_sub(lower)
            } else {
                return None;
            };
            total = Some(total.unwrap_or(1).saturating_mul(count));
        }
        total
    }

    fn array_element(&mut self, srcs: &[Source<'a>], off: DebugInfoOffset) -> Option<(u64, u64)> {
        let mut off = off;
        for _ in 0..MAX_DEPTH {
            let (_, _, info) = self.entry_info(srcs, off)?;
            match info.tag {
                dw::DW_TAG_typedef | dw::DW_TAG_const_type | dw::DW_TAG_volatile_type => {
                    off = info.ty?
                }
                dw::DW_TAG_array_type => {
                    let count = self.array_count(srcs, off)?;
                    return Some((info.ty?.0 as u64, count));
                }
                _ => return None,
            }
        }
        None
    }

    fn size(&mut self, srcs: &[Source<'a>], off: DebugInfoOffset, depth: usize) -> Option<u64> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (_, _, info) = self.entry_info(srcs, off)?;
        if let Some(s) = info.size {
            return Some(s);
        }
        match info.tag {
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type
            | dw::DW_TAG_ptr_to_member_type
            | dw::DW_TAG_subroutine_type => Some(u64::from(self.address_size)),
            dw::DW_TAG_typedef
            | dw::DW_TAG_const_type
            | dw::DW_TAG_volatile_type
            | dw::DW_TAG_atomic_type => self.size(srcs, info.ty?, depth + 1),
            dw::DW_TAG_array_type => {
                let count = self.array_count(srcs, off)?;
                let elem = self.size(srcs, info.ty?, depth + 1)?;
                Some(count.saturating_mul(elem))
            }
            _ => None,
        }
    }

    fn align(&mut self, srcs: &[Source<'a>], off: DebugInfoOffset, depth: usize) -> u64 {
        if depth > MAX_DEPTH {
            return 1;
        }
        let Some((ui, uoff, info)) = self.entry_info(srcs, off) else {
            return 1;
        };
        if let Some(a) = info.align {
            return a.max(1);
        }
        let ptr = u64::from(self.address_size);
        match info.tag {
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type
            | dw::DW_TAG_subroutine_type => ptr,
            dw::DW_TAG_base_type | dw::DW_TAG_enumeration_type => {
                info.size.unwrap_or(1).clamp(1, 2 * ptr).next_power_of_two()
            }
            dw::DW_TAG_typedef
            | dw::DW_TAG_const_type
            | dw::DW_TAG_volatile_type
            | dw::DW_TAG_array_type => match info.ty {
                Some(t) => self.align(srcs, t, depth + 1),
                None => 1,
            },
            t if is_struct_tag(t) => {
                let members = self.member_types(srcs, ui, uoff);
                members
                    .into_iter()
                    .map(|m| self.align(srcs, m, depth + 1))
                    .max()
                    .unwrap_or(1)
            }
            _ => 1,
        }
    }

    /// Decodes the struct DIE at `off` and its members (random access; used with the
    /// catalog). `None` unless the entry there is a named struct definition; its
    /// names are read from DWARF, so that the caller can check them against the catalog.
    fn raw_struct(&mut self, srcs: &[Source<'a>], off: DebugInfoOffset) -> Option<RawStruct> {
        let (i, uoff) = self.locate(off)?;
        let src = &srcs[self.headers[i].2];
        let dwarf = &src.dwarf;
        let sigs = self.sigs.clone();
        let unit = self.unit(srcs, i).ok()?;
        let header = unit.header;
        let mut tree = unit.entries_tree(Some(uoff)).ok()?;
        let root = tree.root().ok()?;
        let e = root.entry();
        let get = |at| e.attr_value(at).ok().flatten();
        if !is_struct_tag(e.tag()) || get(dw::DW_AT_declaration).is_some() {
            return None;
        }
        let name = get(dw::DW_AT_name).and_then(|v| attr_str(dwarf, unit, v))?;
        let mut r = RawStruct {
            qualified: String::new(),
            name: name.to_string(),
            tag: e.tag(),
            matched: MatchKind::ExactPath,
            offset: off,
            size: get(dw::DW_AT_byte_size).and_then(|v| v.udata_value()),
            align: get(dw::DW_AT_alignment).and_then(|v| v.udata_value()),
            members: Vec::new(),
            copies: 1,
        };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let m = child.entry();
            if m.tag() != dw::DW_TAG_member {
                continue;
            }
            let get = |at| m.attr_value(at).ok().flatten();
            if get(dw::DW_AT_external).is_some() || get(dw::DW_AT_declaration).is_some() {
                continue;
            }
            r.members.push(RawMember {
                name: get(dw::DW_AT_name)
                    .and_then(|v| attr_str(dwarf, unit, v))
                    .map(str::to_string),
                ty: get(dw::DW_AT_type).and_then(|v| global_ref(src, &header, &v, &sigs)),
                offset: get(dw::DW_AT_data_member_location)
                    .and_then(|v| member_location(&v, header.encoding()))
                    .unwrap_or(0),
                bit_size: get(dw::DW_AT_bit_size).and_then(|v| v.udata_value()),
                data_bit_offset: get(dw::DW_AT_data_bit_offset).and_then(|v| v.udata_value()),
            });
        }
        r.qualified = format!("{}{}", self.prefix(srcs, i, uoff), r.name);
        Some(r)
    }

    fn member_types(
        &mut self,
        srcs: &[Source<'a>],
        ui: usize,
        uoff: UnitOffset,
    ) -> Vec<DebugInfoOffset> {
        let src = &srcs[self.headers[ui].2];
        let sigs = self.sigs.clone();
        let Ok(unit) = self.unit(srcs, ui) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Ok(mut tree) = unit.entries_tree(Some(uoff)) else {
            return out;
        };
        let Ok(root) = tree.root() else { return out };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let e = child.entry();
            if e.tag() == dw::DW_TAG_member
                && e.attr_value(dw::DW_AT_external).ok().flatten().is_none()
            {
                if let Some(t) = e
                    .attr_value(dw::DW_AT_type)
                    .ok()
                    .flatten()
                    .and_then(|v| global_ref(src, &unit.header, &v, &sigs))
                {
                    out.push(t);
                }
            }
        }
        out
    }

    fn layout(&mut self, srcs: &[Source<'a>], r: RawStruct, copies: usize) -> Result<Layout> {
        let mut members = Vec::new();
        for (i, m) in r.members.iter().enumerate() {
            let (type_name, size, align) = match m.ty {
                Some(t) => (
                    self.name(srcs, t, 0),
                    self.size(srcs, t, 0).unwrap_or(0),
                    self.align(srcs, t, 0),
                ),
                None => ("void".to_string(), 0, 1),
            };
            let (offset, bit_offset) = match (m.bit_size, m.data_bit_offset) {
                (Some(_), Some(bo)) => (bo / 8, Some(bo)),
                _ => (m.offset, None),
            };
            members.push(Member {
                name: m.name.clone().unwrap_or_else(|| format!("<anon{i}>")),
                offset,
                size,
                align,
                type_name,
                bit_size: m.bit_size,
                bit_offset,
            });
        }
        members.sort_by_key(|m| (m.offset, m.bit_offset));
        let size = r.size.unwrap_or(0);
        let align = r
            .align
            .unwrap_or_else(|| members.iter().map(|m| m.align).max().unwrap_or(1))
            .max(1);
        let mut holes = Vec::new();
        let mut end = 0u64;
        let mut last: Option<String> = None;
        let is_union = r.tag == dw::DW_TAG_union_type;
        for m in &members {
            if !is_union && m.offset > end {
                if let Some(after) = &last {
                    holes.push(Hole {
                        offset: end,
                        size: m.offset - end,
                        after: after.clone(),
                    });
                }
            }
            let mend = if m.bit_size.is_some() {
                let bits = m.bit_offset.unwrap_or(m.offset * 8) + m.bit_size.unwrap_or(0);
                bits.div_ceil(8)
            } else {
                m.offset.saturating_add(m.size)
            };
            end = end.max(mend);
            last = Some(m.name.clone());
        }
        let tail_padding = if members.is_empty() {
            0
        } else {
            size.saturating_sub(end)
        };
        Ok(Layout {
            name: r.qualified,
            kind: match r.tag {
                dw::DW_TAG_union_type => "union",
                dw::DW_TAG_class_type => "class",
                _ => "struct",
            },
            size,
            align,
            members,
            holes,
            tail_padding,
            matched: r.matched,
            die_offset: r.offset.0 as u64,
            copies,
        })
    }
}

struct TypeInfo<'a> {
    tag: gimli::DwTag,
    name: Option<&'a str>,
    size: Option<u64>,
    align: Option<u64>,
    ty: Option<DebugInfoOffset>,
}

/// Renders layouts as a pahole-like table.
pub fn render_table(found: &[Found]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for f in found {
        for l in &f.types {
            let tw = l
                .members
                .iter()
                .map(|m| m.type_name.len())
                .max()
                .unwrap_or(0)
                .clamp(8, 60);
            let nw = l
                .members
                .iter()
                .map(|m| m.name.len())
                .max()
                .unwrap_or(0)
                .max(4)
                + 1;
            let _ = writeln!(s, "{} {} {{", l.kind, l.name);
            let _ = writeln!(s, "    {:<tw$} {:<nw$} /* offset  size */", "", "");
            let holes: BTreeMap<String, &Hole> =
                l.holes.iter().map(|h| (h.after.clone(), h)).collect();
            for m in &l.members {
                let name = format!("{};", m.name);
                match (m.bit_size, m.bit_offset) {
                    (Some(bs), Some(bo)) => {
                        let _ = writeln!(
                            s,
                            "    {:<tw$} {:<nw$} /* {:>5}:{} {:>4} */",
                            m.type_name,
                            name,
                            m.offset,
                            bo % 8,
                            format!("{bs}b")
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            s,
                            "    {:<tw$} {:<nw$} /* {:>6} {:>5} */",
                            m.type_name, name, m.offset, m.size
                        );
                    }
                }
                if let Some(h) = holes.get(&m.name) {
                    let _ = writeln!(
                        s,
                        "    /* XXX {} byte{} hole, try to pack */",
                        h.size,
                        if h.size == 1 { "" } else { "s" }
                    );
                }
            }
            let _ = writeln!(
                s,
                "\n    /* size: {}, align: {}, members: {}, holes: {}, sum holes: {} */",
                l.size,
                l.align,
                l.members.len(),
                l.holes.len(),
                l.holes.iter().map(|h| h.size).sum::<u64>()
            );
            if l.tail_padding > 0 {
                let _ = writeln!(s, "    /* padding: {} */", l.tail_padding);
            }
            let _ = writeln!(s, "}};");
            if l.copies > 1 {
                let _ = writeln!(s, "/* {} identical definitions merged */", l.copies);
            }
            s.push('\n');
        }
    }
    s
}
