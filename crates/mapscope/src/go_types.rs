//! Go map types: each `map[K]V` of the program, its runtime type descriptor, and its bucket
//! layout, so that a debugger can tell map types apart by the `t *maptype` argument every map
//! function receives.
//!
//! Go's linker writes each map type as a `DW_TAG_typedef` named `map[K]V` whose type is a
//! pointer to `hash<K,V>` (its copy of `runtime.hmap`, with `buckets` typed `*bucket<K,V>`), and
//! gives it `DW_AT_go_runtime_type`: the offset of the type descriptor (the linker symbol
//! `type.map[K]V` in Go 1.19, `type:map[K]V` from 1.20) from the start of the type section,
//! `runtime.types`. The individual `type:` symbols are not in the ELF symbol table, so the
//! address is `runtime.types` + that offset.

use std::collections::HashMap;

use gimli::constants as dw;
use gimli::{AttributeValue, DebugInfoOffset};
use object::{Object, ObjectSymbol};

use crate::dies::Units;
use crate::error::Result;
use crate::loader::{Binary, R};
use crate::scan;
use crate::types::{attr_str, ref_offset};

/// `DW_AT_go_runtime_type` (a Go extension).
const DW_AT_GO_RUNTIME_TYPE: gimli::DwAt = gimli::DwAt(0x2904);

/// A Go map type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapType {
    /// `map[K]V` as DWARF names it.
    pub name: String,
    /// Link-time address of its type descriptor, when the binary has one.
    pub descriptor: Option<u64>,
    /// The name of its bucket struct (`bucket<K,V>`), from `hash<K,V>.buckets`.
    pub bucket: Option<String>,
}

/// The start of the type descriptors: `runtime.types`, else the linker's `type:*` / `type.*`.
pub(crate) fn types_base(bin: &Binary<'_>) -> Option<u64> {
    let syms: HashMap<&str, u64> = bin
        .symbol_object()
        .symbols()
        .filter_map(|s| {
            let n = s.name().ok()?;
            matches!(n, "runtime.types" | "type:*" | "type.*").then(|| (n, s.address()))
        })
        .collect();
    ["runtime.types", "type:*", "type.*"]
        .iter()
        .find_map(|n| syms.get(n).copied())
}

/// Every `map[K]V` typedef of the binary.
pub fn map_types(bin: &Binary<'_>) -> Result<Vec<MapType>> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let per_unit = scan::par_units(&headers, |_, header| {
        let unit = dwarf.unit(*header)?;
        let mut entries = header.entries_raw(&unit.abbreviations, None)?;
        let mut out = Vec::new();
        while !entries.is_empty() {
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            if abbrev.tag() != dw::DW_TAG_typedef {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            let (mut name, mut rt, mut ty) = (None, None, None);
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                match attr.name() {
                    dw::DW_AT_name => name = attr_str(&dwarf, &unit, attr.value()),
                    dw::DW_AT_type => ty = ref_offset(header, &attr.value()),
                    DW_AT_GO_RUNTIME_TYPE => {
                        rt = match attr.value() {
                            AttributeValue::Addr(a) => Some(a),
                            v => v.udata_value(),
                        }
                    }
                    _ => {}
                }
            }
            if let Some(n) = name.filter(|n| n.starts_with("map[")) {
                out.push((n.to_string(), rt, ty));
            }
        }
        Ok(out)
    })?;
    let base = types_base(bin);
    let mut units = Units::new(&dwarf)?;
    let mut out = Vec::new();
    for (name, rt, ty) in per_unit.into_iter().flatten() {
        let descriptor = match (base, rt) {
            (Some(b), Some(off)) if off != 0 => b.checked_add(off),
            _ => None,
        };
        let bucket = match ty {
            Some(t) => bucket_of(&dwarf, &mut units, t)?,
            None => None,
        };
        out.push(MapType {
            name,
            descriptor,
            bucket,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup();
    Ok(out)
}

/// The `DW_AT_type` of the DIE at `off`.
fn type_of(units: &mut Units<'_, '_>, off: DebugInfoOffset) -> Result<Option<DebugInfoOffset>> {
    let Some((i, uoff)) = units.locate(off) else {
        return Ok(None);
    };
    let unit = units.unit(i)?;
    let e = unit.entry(uoff)?;
    Ok(e.attr_value(dw::DW_AT_type)?
        .and_then(|v| ref_offset(&unit.header, &v)))
}

/// `map[K]V` → `*hash<K,V>` → `hash<K,V>.buckets` → `*bucket<K,V>` → `bucket<K,V>`'s name.
fn bucket_of(
    dwarf: &gimli::Dwarf<R<'_>>,
    units: &mut Units<'_, '_>,
    typedef_type: DebugInfoOffset,
) -> Result<Option<String>> {
    let Some(hash) = type_of(units, typedef_type)? else {
        return Ok(None);
    };
    let Some((i, uoff)) = units.locate(hash) else {
        return Ok(None);
    };
    let unit = units.unit(i)?;
    let mut tree = unit.entries_tree(Some(uoff))?;
    let root = tree.root()?;
    let mut children = root.children();
    let mut buckets_ptr = None;
    while let Some(child) = children.next()? {
        let e = child.entry();
        if e.tag() != dw::DW_TAG_member {
            continue;
        }
        let is_buckets = e
            .attr_value(dw::DW_AT_name)?
            .and_then(|v| attr_str(dwarf, unit, v))
            == Some("buckets");
        if is_buckets {
            buckets_ptr = e
                .attr_value(dw::DW_AT_type)?
                .and_then(|v| ref_offset(&unit.header, &v));
            break;
        }
    }
    let Some(ptr) = buckets_ptr else {
        return Ok(None);
    };
    let Some(bucket) = type_of(units, ptr)? else {
        return Ok(None);
    };
    let Some((i, uoff)) = units.locate(bucket) else {
        return Ok(None);
    };
    let unit = units.unit(i)?;
    let e = unit.entry(uoff)?;
    Ok(e.attr_value(dw::DW_AT_name)?
        .and_then(|v| attr_str(dwarf, unit, v))
        .map(str::to_string))
}
