//! Layouts of the map structures, keyed by Go's field names: headers, extras, buckets, and
//! gomap's `Map<K, V>` handle; for Go, each bucket layout's map type and type descriptor.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::go_types;
use crate::names;
use crate::types::{Layout, TypeIndex};

/// A field of a layout.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// The member's name in DWARF.
    pub name: String,
    pub offset: u64,
    pub size: u64,
    #[serde(rename = "type")]
    pub type_name: String,
}

/// A struct layout with fields keyed by their canonical (Go) names.
#[derive(Debug, Clone, Serialize)]
pub struct StructLayout {
    /// Qualified type name as in DWARF.
    pub name: String,
    pub size: u64,
    pub align: u64,
    pub fields: BTreeMap<String, Field>,
}

/// A bucket instantiation.
#[derive(Debug, Clone, Serialize)]
pub struct BucketLayout {
    #[serde(flatten)]
    pub layout: StructLayout,
    /// The map's key type as the program declares it.
    pub key_type: String,
    /// The map's elem type as the program declares it.
    pub elem_type: String,
    /// Type of one key slot (a pointer type when indirect).
    pub key_slot_type: String,
    /// Type of one elem slot.
    pub elem_slot_type: String,
    /// Bytes of one key slot.
    pub key_size: u64,
    /// Bytes of one elem slot.
    pub elem_size: u64,
    /// Keys are stored as pointers (key larger than 128 bytes).
    pub key_indirect: bool,
    /// Elems are stored as pointers (elem larger than 128 bytes).
    pub elem_indirect: bool,
    /// Name of the matching header instantiation, when the binary has one.
    pub header: Option<String>,
    /// Go: the map type these buckets serve as DWARF names it (`map[int64]int64`), the type of
    /// a Go variable holding such a map; null for gomap.
    pub map_type: Option<String>,
    /// Go: link-time address of that map type's runtime type descriptor (the `t` argument of
    /// every map function), null when absent (and for gomap).
    pub type_descriptor: Option<u64>,
}

/// gomap's handle `Map<K, V>`: the struct a Rust program holds, and its field that points at
/// the header (canonical key `header`).
#[derive(Debug, Clone, Serialize)]
pub struct HandleLayout {
    #[serde(flatten)]
    pub layout: StructLayout,
    /// The header layout the handle points at.
    pub header: Option<String>,
}

/// All layouts.
#[derive(Debug, Clone, Serialize)]
pub struct Layouts {
    /// Header types: gomap `Hmap<K, V>` instantiations, or Go's `runtime.hmap`.
    pub header: Vec<StructLayout>,
    /// `MapExtra<K, V>` instantiations, or Go's `runtime.mapextra`.
    pub extra: Vec<StructLayout>,
    /// Every bucket instantiation.
    pub buckets: Vec<BucketLayout>,
    /// gomap's `Map<K, V>` instantiations; empty for Go, whose map values are header pointers.
    pub map_handle: Vec<HandleLayout>,
    /// Swiss-table maps only (absent otherwise): `internal/runtime/maps.table`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<StructLayout>,
    /// Swiss-table maps only: `internal/runtime/maps.groupsReference` (a table's `groups`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_reference: Option<StructLayout>,
    /// Swiss-table maps only: every group type (one per map type), see [`crate::swiss`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<crate::swiss::GroupLayout>>,
}

/// The module path of gomap's runtime.
pub const GOMAP_PREFIX: &str = "gomap::runtime::";

/// Is `qualified` gomap's runtime type `base` (any instantiation)?
pub fn is_gomap_type(qualified: &str, base: &str) -> bool {
    qualified.starts_with(GOMAP_PREFIX)
        && names::strip_generics(qualified) == format!("{GOMAP_PREFIX}{base}")
}

fn struct_layout(l: &Layout, canonical: &[(&str, &str)]) -> StructLayout {
    let mut fields = BTreeMap::new();
    for m in &l.members {
        let key = canonical
            .iter()
            .find(|(dwarf, _)| *dwarf == m.name)
            .map(|(_, c)| c.to_string())
            .unwrap_or_else(|| m.name.clone());
        fields.insert(
            key,
            Field {
                name: m.name.clone(),
                offset: m.offset,
                size: m.size,
                type_name: m.type_name.clone(),
            },
        );
    }
    StructLayout {
        name: l.name.clone(),
        size: l.size,
        align: l.align,
        fields,
    }
}

const EXTRA_CANON: &[(&str, &str)] = &[("next_overflow", "nextOverflow")];
const BUCKET_CANON: &[(&str, &str)] = &[("values", "elems"), ("topbits", "tophash")];

/// Element type name and size of an array-typed member.
fn slot(index: &TypeIndex<'_>, l: &Layout, member: &str) -> Result<Option<(String, u64)>> {
    let Some(ty) = index.member_type_offset(l, member)? else {
        return Ok(None);
    };
    let Some((elem, _count)) = index.array_element(ty) else {
        return Ok(None);
    };
    Ok(Some((
        index.type_name(elem),
        index.type_size(elem).unwrap_or(0),
    )))
}

/// gomap's layouts from the structs found (see [`wanted`]).
pub fn gomap_layouts(index: &TypeIndex<'_>, found: &[Layout]) -> Result<Layouts> {
    let header: Vec<StructLayout> = found
        .iter()
        .filter(|l| is_gomap_type(&l.name, "Hmap"))
        .map(|l| struct_layout(l, &[]))
        .collect();
    let extra = found
        .iter()
        .filter(|l| is_gomap_type(&l.name, "MapExtra"))
        .map(|l| struct_layout(l, EXTRA_CANON))
        .collect();
    let mut buckets = Vec::new();
    for l in found.iter().filter(|l| is_gomap_type(&l.name, "Bucket")) {
        let args = names::generic_args(&l.name);
        let (key_slot, key_size) = slot(index, l, "keys")?.unwrap_or_default();
        let (elem_slot, elem_size) = slot(index, l, "elems")?.unwrap_or_default();
        let indirect = |t: &str| {
            let base = names::strip_generics(t);
            base.starts_with("gomap::") && names::last_segment(&base) == "Indirect"
        };
        let hdr_name = format!("{GOMAP_PREFIX}Hmap<{}>", args.join(", "));
        let header_name = header
            .iter()
            .find(|h| names::normalize(&h.name) == names::normalize(&hdr_name))
            .map(|h| h.name.clone());
        buckets.push(BucketLayout {
            layout: struct_layout(l, BUCKET_CANON),
            key_type: args.first().cloned().unwrap_or_else(|| key_slot.clone()),
            elem_type: args.get(1).cloned().unwrap_or_else(|| elem_slot.clone()),
            key_indirect: indirect(&key_slot),
            elem_indirect: indirect(&elem_slot),
            key_slot_type: key_slot,
            elem_slot_type: elem_slot,
            key_size,
            elem_size,
            header: header_name,
            map_type: None,
            type_descriptor: None,
        });
    }
    let map_handle = found
        .iter()
        .filter(|l| is_gomap_handle(&l.name))
        .map(|l| handle_layout(l, &header))
        .collect();
    Ok(Layouts {
        header,
        extra,
        buckets,
        map_handle,
        table: None,
        groups_reference: None,
        groups: None,
    })
}

/// Go's layouts from the structs found (see [`wanted`]) and the program's map types.
pub fn go_layouts(
    index: &TypeIndex<'_>,
    found: &[Layout],
    map_types: &[go_types::MapType],
) -> Result<Layouts> {
    let header = found
        .iter()
        .filter(|l| l.name == "runtime.hmap")
        .map(|l| struct_layout(l, &[]))
        .collect();
    let extra = found
        .iter()
        .filter(|l| l.name == "runtime.mapextra")
        .map(|l| struct_layout(l, &[]))
        .collect();
    let mut buckets = Vec::new();
    for l in found.iter().filter(|l| l.name.starts_with("bucket<")) {
        let args = names::generic_args(&l.name);
        let (key_slot, key_size) = slot(index, l, "keys")?.unwrap_or_default();
        let (elem_slot, elem_size) = slot(index, l, "values")?.unwrap_or_default();
        let key_type = args.first().cloned().unwrap_or_else(|| key_slot.clone());
        let elem_type = args.get(1).cloned().unwrap_or_else(|| elem_slot.clone());
        // The linker stores big keys/elems as pointers: the slot type is then `*K`
        // while the map type says `K`.
        let indirect =
            |declared: &str, slot: &str| slot == format!("*{declared}") && !declared.is_empty();
        let mt = map_types
            .iter()
            .find(|m| m.bucket.as_deref() == Some(l.name.as_str()));
        buckets.push(BucketLayout {
            layout: struct_layout(l, BUCKET_CANON),
            key_indirect: indirect(&key_type, &key_slot),
            elem_indirect: indirect(&elem_type, &elem_slot),
            key_type,
            elem_type,
            key_slot_type: key_slot,
            elem_slot_type: elem_slot,
            key_size,
            elem_size,
            header: Some("runtime.hmap".to_string()),
            map_type: mt.map(|m| m.name.clone()),
            type_descriptor: mt.and_then(|m| m.descriptor),
        });
    }
    Ok(Layouts {
        header,
        extra,
        buckets,
        map_handle: Vec::new(),
        table: None,
        groups_reference: None,
        groups: None,
    })
}

/// The path of gomap's handle type.
const GOMAP_HANDLE: &str = "gomap::Map";

fn is_gomap_handle(qualified: &str) -> bool {
    names::strip_generics(qualified) == GOMAP_HANDLE
}

/// The structs the profile needs, by qualified and own name.
pub fn wanted(qualified: &str, name: &str) -> bool {
    (qualified.starts_with(GOMAP_PREFIX)
        && (qualified.contains("::Hmap<")
            || qualified.contains("::MapExtra<")
            || qualified.contains("::Bucket<")))
        || is_gomap_handle(qualified)
        || qualified == "runtime.hmap"
        || qualified == "runtime.mapextra"
        || name.starts_with("bucket<")
}

/// The handle's layout, with only the member that points at a header: found by its type
/// (`*mut gomap::runtime::Hmap<K, V>`), not by its name.
fn handle_layout(l: &Layout, headers: &[StructLayout]) -> HandleLayout {
    let mut fields = BTreeMap::new();
    let mut header = None;
    for m in &l.members {
        let pointee = m
            .type_name
            .strip_prefix("*mut ")
            .or_else(|| m.type_name.strip_prefix("*const "));
        let Some(h) = pointee.and_then(|p| {
            headers
                .iter()
                .find(|h| names::normalize(&h.name) == names::normalize(p))
        }) else {
            continue;
        };
        header = Some(h.name.clone());
        fields.insert(
            "header".to_string(),
            Field {
                name: m.name.clone(),
                offset: m.offset,
                size: m.size,
                type_name: m.type_name.clone(),
            },
        );
    }
    HandleLayout {
        layout: StructLayout {
            name: l.name.clone(),
            size: l.size,
            align: l.align,
            fields,
        },
        header,
    }
}
