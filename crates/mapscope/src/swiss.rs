//! Go's Swiss-table maps (Go 1.24 and 1.25 by default, Go 1.26 always): the layouts of the
//! runtime's map structures and of every group type in the binary, the map types with their
//! type descriptors, and the algorithm's constants, all from DWARF and the type section.
//!
//! What the DWARF of such a binary has (read from Go 1.24.13, 1.25.7 and 1.26 binaries):
//! - the runtime's own structs: `internal/runtime/maps.Map` (the header a map value points at),
//!   `internal/runtime/maps.table` and `internal/runtime/maps.groupsReference` (a table's
//!   `groups`: the group array and its length mask);
//! - per map type, a struct made by the compiler, `noalg.map.group[K]V`, with a control word
//!   `ctrl` and an array `slots` of `noalg.struct { key K; elem V }` (key or elem typed `*K`
//!   / `*V` when stored indirectly); and, for map types that a variable of the program has,
//!   the linker's typedef `map[K]V` carrying `DW_AT_go_runtime_type` (the map type's
//!   descriptor, as for classic maps);
//! - the constants the compiled code uses (`internal/abi.MapGroupSlots`,
//!   `internal/runtime/maps.ctrlEmpty`, ...), under names that changed between versions.
//!
//! An optimised build often has no `map[K]V` typedef for a map type whose variables the
//! compiler kept in registers; its group struct is still there, with the descriptor of the
//! group type. The map type's descriptor is then found in the type section: the one
//! `abi.MapType` whose `Group` points at that group type's descriptor, checked by its kind and
//! by `GroupSize`, `SlotSize` and `ElemOff` against the group's DWARF layout.

use std::collections::{BTreeMap, HashMap};

use gimli::constants as dw;
use gimli::AttributeValue;
use object::{Object, ObjectSymbol};
use serde::Serialize;

use crate::error::Result;
use crate::go_runtime::read_at;
use crate::go_types;
use crate::loader::Binary;
use crate::map_layouts::{Field, StructLayout};
use crate::scan;
use crate::types::{attr_str, Layout, TypeIndex};

/// The runtime's map header.
pub const MAP: &str = "internal/runtime/maps.Map";
/// The runtime's table.
pub const TABLE: &str = "internal/runtime/maps.table";
/// A table's group array reference.
pub const GROUPS_REFERENCE: &str = "internal/runtime/maps.groupsReference";
/// The start of the compiler's group struct names: `noalg.map.group[K]V`.
pub const GROUP_PREFIX: &str = "noalg.map.group[";
/// The start of the compiler's slot struct names: `noalg.struct { key K; elem V }`.
const SLOT_PREFIX: &str = "noalg.struct { key ";
/// The map type descriptor's struct, by version: `SwissMapType` in 1.24-1.25, `MapType` from 1.26.
const MAP_TYPE_STRUCTS: &[&str] = &["internal/abi.SwissMapType", "internal/abi.MapType"];
/// Every type descriptor starts with this struct.
const ABI_TYPE: &str = "internal/abi.Type";

/// `DW_AT_go_runtime_type` (a Go extension).
const DW_AT_GO_RUNTIME_TYPE: gimli::DwAt = gimli::DwAt(0x2904);

/// The structs a Swiss-map profile needs, by qualified and own name.
pub fn wanted(qualified: &str, name: &str) -> bool {
    qualified == MAP
        || qualified == TABLE
        || qualified == GROUPS_REFERENCE
        || name.starts_with(GROUP_PREFIX)
        || name.starts_with(SLOT_PREFIX)
        || qualified == ABI_TYPE
        || MAP_TYPE_STRUCTS.contains(&qualified)
}

/// Whether the structs found make a Swiss-map binary.
pub fn is_swiss(found: &[Layout]) -> bool {
    found.iter().any(|l| l.name == MAP)
}

/// One group type: a map type's storage, with its slot layout.
#[derive(Debug, Clone, Serialize)]
pub struct GroupLayout {
    /// `noalg.map.group[K]V` with its fields `ctrl` and `slots`.
    #[serde(flatten)]
    pub layout: StructLayout,
    /// Where the control word is in a group and its size (one byte per slot).
    pub ctrl_offset: u64,
    pub ctrl_size: u64,
    /// Where the slot array starts in a group.
    pub slots_offset: u64,
    /// Bytes of one slot (key and elem with padding).
    pub slot_size: u64,
    /// The slot struct, `noalg.struct { key K; elem V }`, with fields `key` and `elem`.
    pub slot: StructLayout,
    /// Where the key and the elem are within a slot.
    pub key_offset: u64,
    pub elem_offset: u64,
    /// The map's key and elem types as the program declares them.
    pub key_type: String,
    pub elem_type: String,
    /// The types of the slot's members (`*K` when the key is stored indirectly).
    pub key_slot_type: String,
    pub elem_slot_type: String,
    /// Bytes of the slot's key and elem members (8 when indirect).
    pub key_size: u64,
    pub elem_size: u64,
    /// The slot holds a pointer to the key / elem (over 128 bytes).
    pub key_indirect: bool,
    pub elem_indirect: bool,
    /// The header layout of this map type (`internal/runtime/maps.Map`).
    pub header: Option<String>,
    /// The map type as Go names it (`map[int64]int64`), the type of a variable holding one.
    pub map_type: Option<String>,
    /// Link-time address of the map type's descriptor (the `typ` argument of the map
    /// functions), null when the binary has none that can be told apart.
    pub type_descriptor: Option<u64>,
    /// Link-time address of the group type's descriptor (the map type descriptor's `Group`).
    pub group_descriptor: Option<u64>,
}

/// The layouts of a Swiss-map binary, besides the header.
#[derive(Debug, Clone, Serialize)]
pub struct SwissLayouts {
    pub header: StructLayout,
    pub table: Option<StructLayout>,
    pub groups_reference: Option<StructLayout>,
    pub groups: Vec<GroupLayout>,
}

fn struct_layout(l: &Layout) -> StructLayout {
    StructLayout {
        name: l.name.clone(),
        size: l.size,
        align: l.align,
        fields: l
            .members
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    Field {
                        name: m.name.clone(),
                        offset: m.offset,
                        size: m.size,
                        type_name: m.type_name.clone(),
                    },
                )
            })
            .collect(),
    }
}

/// `(K, V)` of `noalg.map.group[K]V` (K may hold brackets itself: `[4]int`, `map[a]b`).
pub fn key_elem(group: &str) -> Option<(String, String)> {
    let rest = group.strip_prefix(GROUP_PREFIX)?;
    let mut depth = 1usize;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    let (k, v) = (&rest[..i], &rest[i + 1..]);
                    return (!k.is_empty() && !v.is_empty())
                        .then(|| (k.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    None
}

/// The layouts of the map structures and every group type, with map types and descriptors.
pub fn layouts(
    bin: &Binary<'_>,
    index: &TypeIndex<'_>,
    found: &[Layout],
    constants: &HashMap<String, i64>,
    warnings: &mut Vec<String>,
) -> Result<SwissLayouts> {
    let by_name = |n: &str| found.iter().find(|l| l.name == n);
    let header = by_name(MAP).map(struct_layout).unwrap_or(StructLayout {
        name: MAP.to_string(),
        size: 0,
        align: 0,
        fields: BTreeMap::new(),
    });
    let table = by_name(TABLE).map(struct_layout);
    let groups_reference = by_name(GROUPS_REFERENCE).map(struct_layout);
    if table.is_none() || groups_reference.is_none() {
        warnings.push(format!(
            "the DWARF lacks {TABLE} or {GROUPS_REFERENCE}: maps with more than one group cannot be decoded"
        ));
    }
    let typedefs: HashMap<String, Option<u64>> = go_types::map_types(bin)?
        .into_iter()
        .map(|m| (m.name, m.descriptor))
        .collect();
    let group_rt = group_runtime_types(bin)?;
    let base = go_types::types_base(bin);
    let descriptors = Descriptors::new(bin, found, constants);
    let mut groups = Vec::new();
    for l in found.iter().filter(|l| l.name.starts_with(GROUP_PREFIX)) {
        let Some((key_type, elem_type)) = key_elem(&l.name) else {
            continue;
        };
        let (Some(ctrl), Some(slots)) = (l.member("ctrl"), l.member("slots")) else {
            warnings.push(format!("{}: no ctrl or slots member; not a group", l.name));
            continue;
        };
        let Some(slots_type) = index.member_type_offset(l, "slots")? else {
            continue;
        };
        let Some((slot_off, count)) = index.array_element(slots_type) else {
            continue;
        };
        let slot_name = index.type_name(slot_off);
        let Some(slot) = found.iter().find(|s| s.name == slot_name) else {
            warnings.push(format!(
                "{}: its slot type {slot_name} has no layout",
                l.name
            ));
            continue;
        };
        let (Some(key), Some(elem)) = (slot.member("key"), slot.member("elem")) else {
            warnings.push(format!("{}: no key or elem member", slot.name));
            continue;
        };
        if count == 0 || slots.size != count * slot.size {
            warnings.push(format!(
                "{}: {count} slots of {} bytes do not make its slots' {} bytes",
                l.name, slot.size, slots.size
            ));
        }
        let indirect = |declared: &str, stored: &str| stored == format!("*{declared}");
        let map_type = format!("map[{key_type}]{elem_type}");
        let group_descriptor = match (base, group_rt.get(&l.name)) {
            (Some(b), Some(&off)) if off != 0 => b.checked_add(off),
            _ => None,
        };
        let mut g = GroupLayout {
            layout: struct_layout(l),
            ctrl_offset: ctrl.offset,
            ctrl_size: ctrl.size,
            slots_offset: slots.offset,
            slot_size: slot.size,
            slot: struct_layout(slot),
            key_offset: key.offset,
            elem_offset: elem.offset,
            key_indirect: indirect(&key_type, &key.type_name),
            elem_indirect: indirect(&elem_type, &elem.type_name),
            key_slot_type: key.type_name.clone(),
            elem_slot_type: elem.type_name.clone(),
            key_size: key.size,
            elem_size: elem.size,
            key_type,
            elem_type,
            header: Some(MAP.to_string()),
            map_type: None,
            type_descriptor: None,
            group_descriptor,
        };
        let from_typedef = typedefs.get(&map_type).copied().flatten();
        g.type_descriptor = match from_typedef {
            Some(d) if descriptors.describes(d, &g) => Some(d),
            Some(d) => {
                warnings.push(format!(
                    "{map_type}: the descriptor its DWARF names ({d:#x}) does not describe {}",
                    l.name
                ));
                None
            }
            None => descriptors.find(&g, &map_type, warnings),
        };
        g.map_type = Some(map_type);
        groups.push(g);
    }
    groups.sort_by(|a, b| a.layout.name.cmp(&b.layout.name));
    Ok(SwissLayouts {
        header,
        table,
        groups_reference,
        groups,
    })
}

/// `DW_AT_go_runtime_type` of every group struct, by name.
fn group_runtime_types(bin: &Binary<'_>) -> Result<HashMap<String, u64>> {
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
            if abbrev.tag() != dw::DW_TAG_structure_type {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            let (mut name, mut rt) = (None, None);
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                match attr.name() {
                    dw::DW_AT_name => name = attr_str(&dwarf, &unit, attr.value()),
                    DW_AT_GO_RUNTIME_TYPE => {
                        rt = match attr.value() {
                            AttributeValue::Addr(a) => Some(a),
                            v => v.udata_value(),
                        }
                    }
                    _ => {}
                }
            }
            if let (Some(n), Some(r)) = (name.filter(|n| n.starts_with(GROUP_PREFIX)), rt) {
                out.push((n.to_string(), r));
            }
        }
        Ok(out)
    })?;
    Ok(per_unit.into_iter().flatten().collect())
}

/// Map type descriptors in the type section, read with the layouts DWARF gives for them.
struct Descriptors<'d> {
    /// The type section's bytes and its start (`runtime.types` .. `runtime.etypes`).
    section: Option<(u64, &'d [u8])>,
    /// Offsets in a map type descriptor: kind byte, `Group`, `GroupSize`, `SlotSize`, `ElemOff`.
    kind: Option<u64>,
    group: Option<u64>,
    group_size: Option<u64>,
    slot_size: Option<u64>,
    elem_off: Option<u64>,
    /// The kind value of maps (`internal/abi.Map`) and the mask of the kind byte
    /// (`internal/abi.KindMask` before 1.26, whose kind byte is the kind).
    kind_map: Option<u64>,
    kind_mask: u64,
    little: bool,
}

impl<'d> Descriptors<'d> {
    fn new(bin: &Binary<'d>, found: &[Layout], constants: &HashMap<String, i64>) -> Self {
        let syms: HashMap<&str, u64> = bin
            .symbol_object()
            .symbols()
            .filter_map(|s| {
                let n = s.name().ok()?;
                matches!(n, "runtime.types" | "runtime.etypes").then(|| (n, s.address()))
            })
            .collect();
        let section = match (syms.get("runtime.types"), syms.get("runtime.etypes")) {
            (Some(&start), Some(&end)) if end > start => {
                read_at(bin, start, end - start).map(|b| (start, b))
            }
            _ => None,
        };
        let member = |structs: &[&str], name: &str| -> Option<u64> {
            let l = structs
                .iter()
                .find_map(|s| found.iter().find(|l| l.name == *s))?;
            l.member(name).map(|m| m.offset)
        };
        let kind_in_type = member(&[ABI_TYPE], "Kind_");
        Descriptors {
            section,
            // The map type descriptor starts with its abi.Type.
            kind: kind_in_type.and_then(|k| member(MAP_TYPE_STRUCTS, "Type").map(|t| t + k)),
            group: member(MAP_TYPE_STRUCTS, "Group"),
            group_size: member(MAP_TYPE_STRUCTS, "GroupSize"),
            slot_size: member(MAP_TYPE_STRUCTS, "SlotSize"),
            elem_off: member(MAP_TYPE_STRUCTS, "ElemOff"),
            kind_map: constants
                .get("internal/abi.Map")
                .and_then(|v| u64::try_from(*v).ok()),
            kind_mask: constants
                .get("internal/abi.KindMask")
                .and_then(|v| u64::try_from(*v).ok())
                .unwrap_or(0xff),
            little: bin.object().is_little_endian(),
        }
    }

    fn word(&self, at: u64) -> Option<u64> {
        let (start, bytes) = self.section?;
        let i = usize::try_from(at.checked_sub(start)?).ok()?;
        let b: [u8; 8] = bytes.get(i..i.checked_add(8)?)?.try_into().ok()?;
        Some(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }

    fn byte(&self, at: u64) -> Option<u64> {
        let (start, bytes) = self.section?;
        let i = usize::try_from(at.checked_sub(start)?).ok()?;
        bytes.get(i).map(|b| u64::from(*b))
    }

    /// Whether the descriptor at `d` is a map type whose groups are `g`'s.
    fn describes(&self, d: u64, g: &GroupLayout) -> bool {
        let field = |off: Option<u64>| off.and_then(|o| self.word(d.checked_add(o)?));
        let kind_ok = match (self.kind, self.kind_map) {
            (Some(k), Some(map)) => self
                .byte(d.saturating_add(k))
                .is_some_and(|b| b & self.kind_mask == map),
            _ => false,
        };
        kind_ok
            && g.group_descriptor
                .map_or(true, |gd| field(self.group) == Some(gd))
            && field(self.group_size) == Some(g.layout.size)
            && field(self.slot_size) == Some(g.slot_size)
            && field(self.elem_off) == Some(g.elem_offset)
    }

    /// The one map type descriptor whose `Group` is `g`'s group type, or None (with a warning
    /// when several are: named map types share their groups).
    fn find(&self, g: &GroupLayout, map_type: &str, warnings: &mut Vec<String>) -> Option<u64> {
        let (gd, group, (start, bytes)) = (g.group_descriptor?, self.group?, self.section?);
        let mut found = Vec::new();
        let mut at = 0u64;
        while at + 8 <= bytes.len() as u64 {
            let here = start + at;
            if self.word(here) == Some(gd) {
                if let Some(d) = here.checked_sub(group) {
                    if self.describes(d, g) {
                        found.push(d);
                    }
                }
            }
            at += 8;
        }
        match found.as_slice() {
            [d] => Some(*d),
            [] => None,
            many => {
                warnings.push(format!(
                    "{map_type}: {} map type descriptors share its group type (named map types?); \
                     --type cannot tell them apart",
                    many.len()
                ));
                None
            }
        }
    }
}

/// The algorithm's constants of a Swiss-map binary, each read from DWARF under the names it
/// has had; null when the binary lacks it.
#[derive(Debug, Clone, Serialize)]
pub struct SwissConstants {
    /// Slots per group (8).
    pub slots_per_group: Option<u64>,
    /// Control byte values: `empty` (0x80), `deleted` (0xFE); a full slot's control byte is
    /// the low 7 bits of its hash (below `empty`).
    pub ctrl: BTreeMap<String, Option<u64>>,
    /// Whole control words: `lsb` (one bit per byte), `empty` (all bytes empty), `deleted`
    /// (all deleted; gone in 1.26).
    pub bitset: BTreeMap<String, Option<u64>>,
    /// Slots in a table before it splits instead of growing (1024).
    pub max_table_capacity: Option<u64>,
    /// Full slots allowed per group, on average, before a table grows (7).
    pub max_avg_group_load: Option<u64>,
    /// `max_avg_group_load / slots_per_group` (7/8).
    pub load_factor: Option<f64>,
    pub load_factor_num: Option<u64>,
    pub load_factor_den: Option<u64>,
    /// Larger keys and elems are stored indirectly (128).
    pub max_key_size: Option<u64>,
    pub max_elem_size: Option<u64>,
    /// Bytes of a group's control word and where its slots start (8 and 8).
    pub ctrl_group_size: Option<u64>,
    pub group_slots_offset: Option<u64>,
    /// Bits of a map type descriptor's `Flags`: `indirect_key`, `indirect_elem`,
    /// `need_key_update`, `hash_might_panic`.
    pub map_type_flags: BTreeMap<String, Option<u64>>,
    /// `dwarf` when every value was read from DWARF, else `dwarf+missing`.
    pub source: String,
    /// Per value, the DWARF constant read, or null when the binary has none.
    pub sources: BTreeMap<String, Option<String>>,
}

/// Canonical key and the DWARF names it has had (newest first), and names of its log2.
const SPECS: &[(&str, &[&str], &[&str])] = &[
    (
        "slots_per_group",
        &[
            "internal/abi.MapGroupSlots",
            "internal/abi.SwissMapGroupSlots",
        ],
        &[
            "internal/abi.MapGroupSlotsBits",
            "internal/abi.SwissMapGroupSlotsBits",
        ],
    ),
    (
        "ctrl.empty",
        &[
            "internal/runtime/maps.ctrlEmpty",
            "internal/abi.MapCtrlEmpty",
            "internal/abi.SwissMapCtrlEmpty",
        ],
        &[],
    ),
    ("ctrl.deleted", &["internal/runtime/maps.ctrlDeleted"], &[]),
    ("bitset.lsb", &["internal/runtime/maps.bitsetLSB"], &[]),
    ("bitset.empty", &["internal/runtime/maps.bitsetEmpty"], &[]),
    (
        "bitset.deleted",
        &["internal/runtime/maps.bitsetDeleted"],
        &[],
    ),
    (
        "max_table_capacity",
        &["internal/runtime/maps.maxTableCapacity"],
        &[],
    ),
    (
        "max_avg_group_load",
        &["internal/runtime/maps.maxAvgGroupLoad"],
        &[],
    ),
    (
        "max_key_size",
        &[
            "internal/abi.MapMaxKeyBytes",
            "internal/abi.SwissMapMaxKeyBytes",
        ],
        &[],
    ),
    (
        "max_elem_size",
        &[
            "internal/abi.MapMaxElemBytes",
            "internal/abi.SwissMapMaxElemBytes",
        ],
        &[],
    ),
    (
        "ctrl_group_size",
        &["internal/runtime/maps.ctrlGroupsSize"],
        &[],
    ),
    (
        "group_slots_offset",
        &["internal/runtime/maps.groupSlotsOffset"],
        &[],
    ),
    (
        "map_type_flags.indirect_key",
        &[
            "internal/abi.MapIndirectKey",
            "internal/abi.SwissMapIndirectKey",
        ],
        &[],
    ),
    (
        "map_type_flags.indirect_elem",
        &[
            "internal/abi.MapIndirectElem",
            "internal/abi.SwissMapIndirectElem",
        ],
        &[],
    ),
    (
        "map_type_flags.need_key_update",
        &[
            "internal/abi.MapNeedKeyUpdate",
            "internal/abi.SwissMapNeedKeyUpdate",
        ],
        &[],
    ),
    (
        "map_type_flags.hash_might_panic",
        &[
            "internal/abi.MapHashMightPanic",
            "internal/abi.SwissMapHashMightPanic",
        ],
        &[],
    ),
];

/// Name prefixes of the DWARF constants a Swiss-map profile reads.
pub const PREFIXES: &[&str] = &["runtime.", "internal/abi.", "internal/runtime/maps."];

/// The constants, from the binary's DWARF constants (see [`crate::consts::go_constants`]
/// with [`PREFIXES`]). Missing ones are null, named in `sources` as null and in a warning.
pub fn constants(go: &HashMap<String, i64>, warnings: &mut Vec<String>) -> SwissConstants {
    let mut values: BTreeMap<&str, Option<u64>> = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let mut missing = Vec::new();
    for (key, names, log2) in SPECS {
        // Constants of unsigned 64-bit types come as DW_FORM_sdata: read the bits back.
        let found = names
            .iter()
            .find_map(|n| go.get(*n).map(|v| (*v as u64, n.to_string())))
            .or_else(|| {
                log2.iter().find_map(|n| {
                    let v = go.get(*n)?;
                    let v = u32::try_from(*v).ok().and_then(|b| 1u64.checked_shl(b))?;
                    Some((v, format!("1 << {n}")))
                })
            });
        match found {
            Some((v, name)) => {
                values.insert(key, Some(v));
                sources.insert(key.to_string(), Some(name));
            }
            None => {
                values.insert(key, None);
                sources.insert(key.to_string(), None);
                missing.push(format!("{key} ({})", names.join(" or ")));
            }
        }
    }
    if !missing.is_empty() {
        warnings.push(format!(
            "constants not in this binary's DWARF (null in the profile): {}",
            missing.join(", ")
        ));
    }
    let prefixed = |prefix: &str| -> BTreeMap<String, Option<u64>> {
        values
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), *v)))
            .collect()
    };
    let num = values["max_avg_group_load"];
    let den = values["slots_per_group"];
    SwissConstants {
        slots_per_group: den,
        ctrl: prefixed("ctrl."),
        bitset: prefixed("bitset."),
        max_table_capacity: values["max_table_capacity"],
        max_avg_group_load: num,
        load_factor: match (num, den) {
            (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64),
            _ => None,
        },
        load_factor_num: num,
        load_factor_den: den,
        max_key_size: values["max_key_size"],
        max_elem_size: values["max_elem_size"],
        ctrl_group_size: values["ctrl_group_size"],
        group_slots_offset: values["group_slots_offset"],
        map_type_flags: prefixed("map_type_flags."),
        source: if missing.is_empty() {
            "dwarf"
        } else {
            "dwarf+missing"
        }
        .to_string(),
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert_eq!(
            key_elem("noalg.map.group[int64]int64"),
            Some(("int64".into(), "int64".into()))
        );
        assert_eq!(
            key_elem("noalg.map.group[[4]int]map[string][]int"),
            Some(("[4]int".into(), "map[string][]int".into()))
        );
        assert_eq!(key_elem("noalg.map.group[]int"), None);
        assert_eq!(key_elem("noalg.map.bucket[int]int"), None);
    }

    #[test]
    fn constants_by_version_and_missing_ones() {
        // Go 1.25: the Swiss prefix, bitsetDeleted present; a uint64 constant as sdata.
        let g: HashMap<String, i64> = [
            ("internal/abi.SwissMapGroupSlots", 8),
            ("internal/runtime/maps.ctrlEmpty", 128),
            ("internal/runtime/maps.ctrlDeleted", 254),
            ("internal/runtime/maps.bitsetEmpty", -9187201950435737472),
            ("internal/runtime/maps.maxAvgGroupLoad", 7),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut w = Vec::new();
        let c = constants(&g, &mut w);
        assert_eq!(c.slots_per_group, Some(8));
        assert_eq!(c.bitset["empty"], Some(0x8080_8080_8080_8080));
        assert_eq!(c.load_factor, Some(0.875));
        assert_eq!(
            c.sources["slots_per_group"].as_deref(),
            Some("internal/abi.SwissMapGroupSlots")
        );
        assert_eq!(c.max_table_capacity, None);
        assert_eq!(c.sources["max_table_capacity"], None);
        assert_eq!(c.source, "dwarf+missing");
        assert!(w[0].contains("max_table_capacity"), "{w:?}");
    }
}
