//! The map-target profile: everything a debugger needs to inspect and stop on a
//! gomap or Go 1.19 map, as one versioned JSON document (docs/profile.md).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::lines::{self, Context};
use crate::loader::Binary;
use crate::names;
use crate::symbols::{self, FuncSym};
use crate::types::{Layout, TypeIndex};
use crate::{frames, strings};

/// The version of the profile format; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The map runtime a binary contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A Rust program using the `gomap` crate.
    Gomap,
    /// A Go program (classic hmap/bmap maps, Go 1.0 to 1.23).
    Go,
}

/// The whole profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub schema_version: u32,
    pub generator: String,
    pub family: Family,
    pub binary: Identity,
    pub pointer_size: u8,
    pub layouts: Layouts,
    pub constants: Constants,
    pub roles: BTreeMap<String, Vec<RoleFn>>,
    /// Layouts of the string types among keys, elems and the fatal message (`&str`, `String`,
    /// Go's `string`), so that debuggers can render them from raw memory.
    pub types: BTreeMap<String, strings::StringLayout>,
    pub probes: BTreeMap<String, Vec<Probe>>,
    /// Probe markers whose function has no code in this binary (a generic role that
    /// the program never instantiates): normal, listed for completeness.
    pub unresolved_markers: Vec<Marker>,
    /// Problems the debugger side should show: unreadable or stale source files,
    /// markers placed before statements without code.
    pub warnings: Vec<String>,
}

/// A `// probe: NAME` marker in a source file.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub name: String,
    pub file: String,
    pub line: u32,
}

/// Which binary the profile describes.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub path: String,
    pub size: u64,
    /// GNU build-id as lowercase hex (null when the binary has none).
    pub build_id: Option<String>,
    /// Go build ID (`.note.go.buildid`), for Go binaries.
    pub go_build_id: Option<String>,
    /// Position-independent (ET_DYN): every address below is relative to the load
    /// base, which the debugger adds at run time.
    pub pie: bool,
}

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
}

/// Constants of the algorithm.
#[derive(Debug, Clone, Serialize)]
pub struct Constants {
    pub bucket_count: u64,
    pub load_factor: f64,
    pub load_factor_num: u64,
    pub load_factor_den: u64,
    pub max_key_size: u64,
    pub max_elem_size: u64,
    pub tophash: BTreeMap<String, u64>,
    pub flags: BTreeMap<String, u64>,
    /// `dwarf` when every value was read from the binary's DWARF, else `algorithm`
    /// (the values are those of Go 1.19's map.go, which gomap copies).
    pub source: String,
}

/// One address of a role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleFn {
    /// Demangled function name without hash.
    pub function: String,
    /// Variant (last path segment without generics), e.g. `assign_fast64` or `mapassign_fast64`.
    pub variant: String,
    /// Raw symbol name (unique per monomorphised copy).
    pub symbol: String,
    /// DWARF name with generic arguments (`gomap::runtime::assign::assign<i64, i64>`), when known.
    pub dwarf_name: Option<String>,
    pub address: u64,
    pub size: u64,
    /// First address after the prologue, where the parameters are at their places.
    pub breakpoint_address: Option<u64>,
    /// Formal parameters with their places (for breakpoint conditions).
    pub params: Vec<frames::Param>,
    /// CFA rules over the function's pcs, to turn `{"cfa": K}` places into register + offset.
    pub cfa: Vec<crate::cfi::CfaRange>,
}

/// One address of a probe point.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The role of the function copy this address is in (null if not a role).
    pub role: Option<String>,
    /// Demangled function name.
    pub function: String,
    pub symbol: String,
    /// DWARF name with generic arguments, when known.
    pub dwarf_name: Option<String>,
    pub file: String,
    /// The source line the probe resolved to.
    pub line: u32,
    /// The line of the `// probe: NAME` marker.
    pub marker_line: u32,
    pub address: u64,
}

const GOMAP_ROLES: &[(&str, &[&str])] = &[
    ("assign", &["assign", "assign_fast64", "assign_faststr"]),
    (
        "access",
        &[
            "access1",
            "access2",
            "access1_fast64",
            "access2_fast64",
            "access1_faststr",
            "access2_faststr",
        ],
    ),
    ("delete", &["delete", "delete_fast64", "delete_faststr"]),
    ("iterate", &["iter_next"]),
    ("iter_init", &["iter_init"]),
    ("clear", &["clear"]),
    ("hash_grow", &["hash_grow"]),
    (
        "grow_work",
        &["grow_work", "grow_work_fast64", "grow_work_faststr"],
    ),
    (
        "evacuate",
        &["evacuate", "evacuate_fast64", "evacuate_faststr"],
    ),
    ("advance_evacuation_mark", &["advance_evacuation_mark"]),
    ("fatal", &["fatal"]),
];

const GO_ROLES: &[(&str, &[&str])] = &[
    (
        "assign",
        &[
            "mapassign",
            "mapassign_fast32",
            "mapassign_fast32ptr",
            "mapassign_fast64",
            "mapassign_fast64ptr",
            "mapassign_faststr",
        ],
    ),
    (
        "access",
        &[
            "mapaccess1",
            "mapaccess2",
            "mapaccess1_fat",
            "mapaccess2_fat",
            "mapaccessK",
            "mapaccess1_fast32",
            "mapaccess2_fast32",
            "mapaccess1_fast64",
            "mapaccess2_fast64",
            "mapaccess1_faststr",
            "mapaccess2_faststr",
        ],
    ),
    (
        "delete",
        &[
            "mapdelete",
            "mapdelete_fast32",
            "mapdelete_fast64",
            "mapdelete_faststr",
        ],
    ),
    ("iterate", &["mapiternext"]),
    ("iter_init", &["mapiterinit"]),
    ("clear", &["mapclear"]),
    ("hash_grow", &["hashGrow"]),
    (
        "grow_work",
        &[
            "growWork",
            "growWork_fast32",
            "growWork_fast64",
            "growWork_faststr",
        ],
    ),
    (
        "evacuate",
        &[
            "evacuate",
            "evacuate_fast32",
            "evacuate_fast64",
            "evacuate_faststr",
        ],
    ),
    ("advance_evacuation_mark", &["advanceEvacuationMark"]),
    ("fatal", &["fatal", "throw"]),
];

const GOMAP_PREFIX: &str = "gomap::runtime::";

fn is_gomap_type(qualified: &str, base: &str) -> bool {
    qualified.starts_with(GOMAP_PREFIX)
        && names::strip_generics(qualified) == format!("{GOMAP_PREFIX}{base}")
}

/// Detects the family and builds the profile.
pub fn build(bin: &Binary<'_>) -> Result<Profile> {
    let index = TypeIndex::new(bin)?;
    let pred = |q: &str, name: &str| {
        (q.starts_with(GOMAP_PREFIX)
            && (q.contains("::Hmap<") || q.contains("::MapExtra<") || q.contains("::Bucket<")))
            || q == "runtime.hmap"
            || q == "runtime.mapextra"
            || name.starts_with("bucket<")
    };
    let found = index.find_all(&pred)?;
    let gomap: Vec<&Layout> = found
        .iter()
        .filter(|l| l.name.starts_with(GOMAP_PREFIX))
        .collect();
    let family = if gomap.iter().any(|l| is_gomap_type(&l.name, "Hmap")) {
        Family::Gomap
    } else if found.iter().any(|l| l.name == "runtime.hmap") {
        Family::Go
    } else {
        return Err(Error::NoMapRuntime(bin.path().to_path_buf()));
    };
    let mut warnings = Vec::new();
    let mut unresolved = Vec::new();
    let layouts = match family {
        Family::Gomap => gomap_layouts(&index, &found)?,
        Family::Go => go_layouts(&index, &found)?,
    };
    let funcs = symbols::functions(bin, None);
    let (inlined, dwarf_names) = symbols::scan_functions(bin, None)?;
    let mut roles = roles(&funcs, family, &dwarf_names);
    add_frames(bin, &mut roles)?;
    let mut wanted: Vec<&str> = layouts
        .buckets
        .iter()
        .flat_map(|b| [b.key_type.as_str(), b.elem_type.as_str()])
        .collect();
    wanted.push(match family {
        Family::Gomap => "&str", // fatal(msg: &'static str)
        Family::Go => "string",  // fatal(s string)
    });
    let types = strings::layouts(&index, &wanted);
    let probes = match family {
        Family::Gomap => gomap_probes(
            bin,
            &funcs,
            &roles,
            &inlined,
            &mut warnings,
            &mut unresolved,
        )?,
        Family::Go => BTreeMap::new(),
    };
    Ok(Profile {
        schema_version: SCHEMA_VERSION,
        generator: format!("mapscope {}", env!("CARGO_PKG_VERSION")),
        family,
        binary: Identity {
            path: std::fs::canonicalize(bin.path())
                .unwrap_or_else(|_| bin.path().to_path_buf())
                .display()
                .to_string(),
            size: bin.file_size(),
            build_id: bin.build_id_hex(),
            go_build_id: bin.go_build_id().map(str::to_string),
            pie: {
                use object::Object;
                bin.object().kind() == object::ObjectKind::Dynamic
            },
        },
        pointer_size: bin.address_size(),
        layouts,
        constants: constants(bin, family)?,
        roles,
        types,
        probes,
        unresolved_markers: unresolved,
        warnings,
    })
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

fn gomap_layouts(index: &TypeIndex<'_>, found: &[Layout]) -> Result<Layouts> {
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
        });
    }
    Ok(Layouts {
        header,
        extra,
        buckets,
    })
}

fn go_layouts(index: &TypeIndex<'_>, found: &[Layout]) -> Result<Layouts> {
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
        });
    }
    Ok(Layouts {
        header,
        extra,
        buckets,
    })
}

/// The last path segment of a function name with generic arguments removed.
fn variant_of(name: &str) -> String {
    names::last_segment(&names::strip_generics(name)).to_string()
}

fn roles(
    funcs: &[FuncSym],
    family: Family,
    dwarf_names: &HashMap<u64, String>,
) -> BTreeMap<String, Vec<RoleFn>> {
    let table = match family {
        Family::Gomap => GOMAP_ROLES,
        Family::Go => GO_ROLES,
    };
    let mut out: BTreeMap<String, Vec<RoleFn>> = BTreeMap::new();
    for (role, _) in table {
        out.insert(role.to_string(), Vec::new());
    }
    for f in funcs {
        let variant = match family {
            Family::Gomap => {
                if !f.name.starts_with(GOMAP_PREFIX) {
                    continue;
                }
                variant_of(&f.name)
            }
            Family::Go => match f.name.strip_prefix("runtime.") {
                Some(v) if !v.contains('.') => v.to_string(),
                _ => continue,
            },
        };
        for (role, variants) in table {
            if variants.contains(&variant.as_str()) {
                if let Some(list) = out.get_mut(*role) {
                    list.push(RoleFn {
                        function: f.name.clone(),
                        variant: variant.clone(),
                        symbol: f.symbol.clone(),
                        dwarf_name: dwarf_names.get(&f.address).cloned(),
                        address: f.address,
                        size: f.size,
                        breakpoint_address: None,
                        params: Vec::new(),
                        cfa: Vec::new(),
                    });
                }
            }
        }
    }
    out
}

/// Fills in each role function's prologue end and parameter places.
fn add_frames(bin: &Binary<'_>, roles: &mut BTreeMap<String, Vec<RoleFn>>) -> Result<()> {
    let entries: Vec<u64> = roles.values().flatten().map(|f| f.address).collect();
    let info = frames::frame_info(bin, &entries)?;
    for f in roles.values_mut().flatten() {
        if let Some(fi) = info.get(&f.address) {
            f.breakpoint_address = fi.breakpoint_address;
            f.params = fi.params.clone();
            f.cfa = fi.cfa.clone();
        }
    }
    Ok(())
}

fn role_of(roles: &BTreeMap<String, Vec<RoleFn>>, symbol: &str) -> Option<String> {
    roles
        .iter()
        .find(|(_, fns)| fns.iter().any(|f| f.symbol == symbol))
        .map(|(r, _)| r.clone())
}

/// Finds `// probe: NAME` markers in a source file: (line, name).
pub fn find_markers(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("// probe:") {
            let name = rest.trim();
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), name.to_string()));
            }
        }
    }
    out
}

/// A place in a function copy where a source line begins: a line-table row, or
/// the call site of an inlined function.
#[derive(Debug, Clone)]
struct Point {
    address: u64,
    file: std::sync::Arc<str>,
    line: u32,
    /// The source function that the line is written in (last path segment, no generics).
    owner: Option<String>,
}

fn short_fn(name: &str) -> String {
    names::last_segment(&names::strip_generics(name)).to_string()
}

/// Resolves probe markers (see docs/profile.md, "Probes").
///
/// For each marker `// probe: NAME` at line M of file F and each function copy of
/// gomap's runtime: the source function enclosing the marker is the owner of the
/// closest line before M in that copy; the probe is the first line after M owned
/// by the same source function, at its lowest address in the copy. Lines come
/// from `is_stmt` line-table rows and from call sites of inlined functions (an
/// inlined helper's call line often has no row of its own).
fn gomap_probes(
    bin: &Binary<'_>,
    funcs: &[FuncSym],
    roles: &BTreeMap<String, Vec<RoleFn>>,
    inlined: &[symbols::Inlined],
    warnings: &mut Vec<String>,
    unresolved: &mut Vec<Marker>,
) -> Result<BTreeMap<String, Vec<Probe>>> {
    let bin_mtime = std::fs::metadata(bin.path())
        .and_then(|m| m.modified())
        .ok();
    // Every function of gomap's runtime (roles and anything else), sorted by address.
    let rt: Vec<&FuncSym> = funcs
        .iter()
        .filter(|f| f.name.starts_with(GOMAP_PREFIX))
        .collect();
    let ranges: Vec<(u64, u64)> = rt.iter().map(|f| (f.address, f.address + f.size)).collect();
    let fn_index = |addr: u64| -> Option<usize> {
        let i = ranges.partition_point(|r| r.0 <= addr);
        (i > 0 && addr < ranges[i - 1].1).then(|| i - 1)
    };
    let rows = lines::rows(bin, &|_| true, &|a, _| fn_index(a).is_some())?;
    let ctx = Context::new(bin)?;
    let owner_at = |addr: u64| -> Option<String> {
        ctx.frames(addr)
            .ok()
            .and_then(|fr| fr.into_iter().next())
            .and_then(|f| f.function)
            .map(|n| short_fn(&n))
    };
    let mut per_fn: HashMap<usize, Vec<Point>> = HashMap::new();
    for r in rows.iter().filter(|r| r.is_stmt) {
        if let Some(i) = fn_index(r.address) {
            per_fn.entry(i).or_default().push(Point {
                address: r.address,
                file: r.file.clone(),
                line: r.line,
                owner: owner_at(r.address),
            });
        }
    }
    for site in inlined {
        let (Some(i), Some(file), Some(line)) =
            (fn_index(site.address), &site.call_file, site.call_line)
        else {
            continue;
        };
        per_fn.entry(i).or_default().push(Point {
            address: site.address,
            file: std::sync::Arc::from(file.as_str()),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            owner: site.caller.as_deref().map(short_fn),
        });
    }
    // Marker files: every file with lines in the runtime functions.
    let files: BTreeSet<std::sync::Arc<str>> =
        per_fn.values().flatten().map(|p| p.file.clone()).collect();
    let mut markers: Vec<(std::sync::Arc<str>, u32, String)> = Vec::new();
    // For each marker: the first line after it that looks like code (to warn when it has none).
    let mut next_code: HashMap<(std::sync::Arc<str>, u32), u32> = HashMap::new();
    for f in files {
        if f.contains("/rustc/") || f.contains("/.cargo/registry/") {
            continue;
        }
        let src_mtime = std::fs::metadata(f.as_ref())
            .and_then(|m| m.modified())
            .ok();
        if let (Some(s), Some(b)) = (src_mtime, bin_mtime) {
            if s > b {
                warnings.push(format!(
                    "source {f} is newer than the binary: probe lines may not match the code; rebuild the binary"
                ));
            }
        }
        match std::fs::read_to_string(f.as_ref()) {
            Ok(text) => {
                let src: Vec<&str> = text.lines().collect();
                for (line, name) in find_markers(&text) {
                    let code = (line as usize..src.len()).find(|&i| {
                        let t = src[i].trim();
                        !t.is_empty() && !t.starts_with("//")
                    });
                    if let Some(c) = code {
                        next_code
                            .insert((f.clone(), line), u32::try_from(c + 1).unwrap_or(u32::MAX));
                    }
                    markers.push((f.clone(), line, name));
                }
            }
            Err(e) => warnings.push(format!("cannot read source {f} for probe markers: {e}")),
        }
    }
    let mut out: BTreeMap<String, Vec<Probe>> = BTreeMap::new();
    for (file, marker, name) in &markers {
        for (&fi, points) in &per_fn {
            let in_file: Vec<&Point> = points.iter().filter(|p| p.file == *file).collect();
            // The source function enclosing the marker owns the closest line before it.
            let Some(before) = in_file
                .iter()
                .filter(|p| p.line < *marker)
                .max_by_key(|p| p.line)
            else {
                continue;
            };
            let Some(owner) = before.owner.as_deref() else {
                continue;
            };
            let owned: Vec<&&Point> = in_file
                .iter()
                .filter(|p| p.line > *marker && p.owner.as_deref() == Some(owner))
                .collect();
            let Some(line) = owned.iter().map(|p| p.line).min() else {
                continue;
            };
            let Some(address) = owned
                .iter()
                .filter(|p| p.line == line)
                .map(|p| p.address)
                .min()
            else {
                continue;
            };
            let f = rt[fi];
            out.entry(name.clone()).or_default().push(Probe {
                role: role_of(roles, &f.symbol),
                function: f.name.clone(),
                symbol: f.symbol.clone(),
                dwarf_name: roles
                    .values()
                    .flatten()
                    .find(|r| r.symbol == f.symbol)
                    .and_then(|r| r.dwarf_name.clone()),
                file: file.to_string(),
                line,
                marker_line: *marker,
                address,
            });
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|p| (p.address, p.marker_line));
        list.dedup_by_key(|p| p.address);
    }
    let mut moved: BTreeSet<String> = BTreeSet::new();
    for (name, list) in &out {
        for p in list {
            let key = (std::sync::Arc::from(p.file.as_str()), p.marker_line);
            if let Some(&code) = next_code.get(&key) {
                if code != p.line {
                    moved.insert(format!(
                        "probe `{name}` at {}:{}: the statement on line {code} has no code, so the probe is at line {} instead; move the marker before a statement that compiles to code",
                        p.file, p.marker_line, p.line
                    ));
                }
            }
        }
    }
    warnings.extend(moved);
    for (file, line, name) in &markers {
        if !out.get(name).is_some_and(|l| {
            l.iter()
                .any(|p| p.file.as_str() == file.as_ref() && p.marker_line == *line)
        }) {
            unresolved.push(Marker {
                name: name.clone(),
                file: file.to_string(),
                line: *line,
            });
        }
    }
    Ok(out)
}

fn constants(bin: &Binary<'_>, family: Family) -> Result<Constants> {
    let tophash: BTreeMap<String, u64> = [
        ("emptyRest", 0u64),
        ("emptyOne", 1),
        ("evacuatedX", 2),
        ("evacuatedY", 3),
        ("evacuatedEmpty", 4),
        ("minTopHash", 5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let flags: BTreeMap<String, u64> = [
        ("iterator", 1u64),
        ("oldIterator", 2),
        ("hashWriting", 4),
        ("sameSizeGrow", 8),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut c = Constants {
        bucket_count: 8,
        load_factor: 6.5,
        load_factor_num: 13,
        load_factor_den: 2,
        max_key_size: 128,
        max_elem_size: 128,
        tophash,
        flags,
        source: "algorithm".to_string(),
    };
    if family == Family::Go {
        let from_dwarf = crate::consts::go_constants(bin)?;
        let mut all = true;
        let mut set = |map: &mut BTreeMap<String, u64>, keys: Vec<String>| {
            for k in keys {
                match from_dwarf.get(&format!("runtime.{k}")) {
                    Some(v) => {
                        map.insert(k, *v as u64);
                    }
                    None => all = false,
                }
            }
        };
        let keys: Vec<String> = c.tophash.keys().cloned().collect();
        set(&mut c.tophash, keys);
        let keys: Vec<String> = c.flags.keys().cloned().collect();
        set(&mut c.flags, keys);
        if let Some(v) = from_dwarf.get("runtime.bucketCnt") {
            c.bucket_count = *v as u64;
        } else {
            all = false;
        }
        if let (Some(n), Some(d)) = (
            from_dwarf.get("runtime.loadFactorNum"),
            from_dwarf.get("runtime.loadFactorDen"),
        ) {
            c.load_factor_num = *n as u64;
            c.load_factor_den = *d as u64;
            if *d != 0 {
                c.load_factor = *n as f64 / *d as f64;
            }
        } else {
            all = false;
        }
        if let Some(v) = from_dwarf.get("runtime.maxKeySize") {
            c.max_key_size = *v as u64;
        }
        if let Some(v) = from_dwarf.get("runtime.maxElemSize") {
            c.max_elem_size = *v as u64;
        }
        if all {
            c.source = "dwarf".to_string();
        } else if !from_dwarf.is_empty() {
            c.source = "dwarf+algorithm".to_string();
        }
    }
    Ok(c)
}
