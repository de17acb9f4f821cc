//! Role functions: which functions of the map runtime play which role (assign, evacuate, ...),
//! every copy of them in the binary, and how to stop in them.
//!
//! - Go: the runtime's function names, per role, in [`GO_ROLES`].
//! - gomap: `// role: NAME` marker comments on gomap's role functions, in gomap's own sources
//!   (compiled into mapscope), so that gomap is the one place that says which function plays
//!   which role.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::Result;
use crate::frames;
use crate::loader::Binary;
use crate::map_layouts::GOMAP_PREFIX;
use crate::names;
use crate::profile::Family;
use crate::symbols::FuncSym;

/// Every role, in the profile's order. A role with no function in the binary is an empty list.
pub const ROLE_NAMES: &[&str] = &[
    "access",
    "advance_evacuation_mark",
    "assign",
    "clear",
    "delete",
    "evacuate",
    "fatal",
    "grow_work",
    "hash_grow",
    "iter_init",
    "iterate",
];

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

/// Go's runtime functions (without `runtime.`) per role.
pub const GO_ROLES: &[(&str, &[&str])] = &[
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

/// Every role of a Swiss-table map binary, in the profile's order.
pub const SWISS_ROLE_NAMES: &[&str] = &[
    "access",
    "assign",
    "clear",
    "delete",
    "fatal",
    "grow",
    "iter_init",
    "iterate",
    "split",
];

/// Go's Swiss-table map functions per role, by their full symbol names. A role lists the
/// functions that do its work and hold its misuse checks, so that a breakpoint on a role stops
/// once per operation: the `runtime.` entry points that implement it themselves (assign and
/// access, in every fast variant), and the `internal/runtime/maps` methods that the entry
/// points merely forward to (`runtime.mapdelete*` call `(*Map).Delete`, `mapclear` calls
/// `(*Map).Clear`, `mapIterStart`/`mapIterNext` call `(*Iter).Init`/`Next`, the `_fat`
/// accesses call `mapaccess1`/`2`): those forwarders are in no role. `grow` is a table's
/// rehash into one of double capacity, and a small map's move into its first table; `split`
/// is a full table's rehash into two (which may double the directory).
/// The Swiss-table readers: the `access` role, and where `reader-entry-checked` is (go_probes).
pub const SWISS_ACCESS: &[&str] = &[
    "runtime.mapaccess1",
    "runtime.mapaccess2",
    "runtime.mapaccess1_fast32",
    "runtime.mapaccess2_fast32",
    "runtime.mapaccess1_fast64",
    "runtime.mapaccess2_fast64",
    "runtime.mapaccess1_faststr",
    "runtime.mapaccess2_faststr",
    "internal/runtime/maps.(*Map).getWithKey",
    "internal/runtime/maps.(*Map).getWithoutKey",
];

pub const SWISS_ROLES: &[(&str, &[&str])] = &[
    (
        "assign",
        &[
            "runtime.mapassign",
            "runtime.mapassign_fast32",
            "runtime.mapassign_fast32ptr",
            "runtime.mapassign_fast64",
            "runtime.mapassign_fast64ptr",
            "runtime.mapassign_faststr",
            "internal/runtime/maps.(*Map).PutSlot",
        ],
    ),
    ("access", SWISS_ACCESS),
    ("delete", &["internal/runtime/maps.(*Map).Delete"]),
    ("clear", &["internal/runtime/maps.(*Map).Clear"]),
    ("iter_init", &["internal/runtime/maps.(*Iter).Init"]),
    ("iterate", &["internal/runtime/maps.(*Iter).Next"]),
    (
        "grow",
        &[
            "internal/runtime/maps.(*table).grow",
            "internal/runtime/maps.(*Map).growToTable",
        ],
    ),
    ("split", &["internal/runtime/maps.(*table).split"]),
    ("fatal", &["runtime.fatal", "runtime.throw"]),
];

/// gomap's runtime sources that hold role markers, as compiled into mapscope.
const GOMAP_SOURCES: &[(&str, &str)] = &[
    (
        "access.rs",
        include_str!("../../gomap/src/runtime/access.rs"),
    ),
    ("alloc.rs", include_str!("../../gomap/src/runtime/alloc.rs")),
    (
        "assign.rs",
        include_str!("../../gomap/src/runtime/assign.rs"),
    ),
    (
        "delete.rs",
        include_str!("../../gomap/src/runtime/delete.rs"),
    ),
    ("fatal.rs", include_str!("../../gomap/src/runtime/fatal.rs")),
    ("grow.rs", include_str!("../../gomap/src/runtime/grow.rs")),
    ("iter.rs", include_str!("../../gomap/src/runtime/iter.rs")),
    ("mod.rs", include_str!("../../gomap/src/runtime/mod.rs")),
];

/// `// role: NAME` markers in a source text: (role, name of the function that follows).
pub fn find_role_markers(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(role) = line.trim().strip_prefix("// role:").map(str::trim) else {
            continue;
        };
        if role.is_empty() || !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // The function is the first `fn NAME` after the marker (past docs and attributes).
        let function = lines[i + 1..].iter().find_map(|l| {
            let t = l.trim();
            if t.starts_with("//") || t.starts_with("#[") {
                return None;
            }
            let rest = &t[t.find("fn ")? + 3..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        });
        if let Some(f) = function {
            out.push((role.to_string(), f));
        }
    }
    out
}

/// gomap's role table from its markers: role → function names (variants).
pub fn gomap_roles() -> Vec<(String, Vec<String>)> {
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, text) in GOMAP_SOURCES {
        for (role, f) in find_role_markers(text) {
            table.entry(role).or_default().push(f);
        }
    }
    table.into_iter().collect()
}

/// The last path segment of a function name with generic arguments removed.
fn variant_of(name: &str) -> String {
    names::last_segment(&names::strip_generics(name)).to_string()
}

/// Every function copy of each role, by role name (all role names present).
pub fn roles(funcs: &[FuncSym], family: Family) -> BTreeMap<String, Vec<RoleFn>> {
    let gomap_table;
    let table: Vec<(&str, Vec<&str>)> = match family {
        Family::Gomap => {
            gomap_table = gomap_roles();
            gomap_table
                .iter()
                .map(|(r, v)| (r.as_str(), v.iter().map(String::as_str).collect()))
                .collect()
        }
        Family::Go => GO_ROLES.iter().map(|(r, v)| (*r, v.to_vec())).collect(),
        Family::GoSwiss => SWISS_ROLES.iter().map(|(r, v)| (*r, v.to_vec())).collect(),
    };
    let mut out: BTreeMap<String, Vec<RoleFn>> = BTreeMap::new();
    let names = match family {
        Family::GoSwiss => SWISS_ROLE_NAMES,
        _ => ROLE_NAMES,
    };
    for role in names {
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
            // The full name: the same short name is in both packages (fatal).
            Family::GoSwiss => f.name.clone(),
        };
        for (role, variants) in &table {
            if variants.contains(&variant.as_str()) {
                if let Some(list) = out.get_mut(*role) {
                    list.push(RoleFn {
                        function: f.name.clone(),
                        variant: swiss_variant(family, &variant),
                        symbol: f.symbol.clone(),
                        dwarf_name: None,
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

/// Each role function's DWARF name (with generic arguments), from `names` by address.
pub fn add_dwarf_names(roles: &mut BTreeMap<String, Vec<RoleFn>>, names: &HashMap<u64, String>) {
    for f in roles.values_mut().flatten() {
        f.dwarf_name = names.get(&f.address).cloned();
    }
}

/// The variant of a role function: its name without the package (`mapassign_fast64`,
/// `(*Map).Delete`); for the other families the variant as found.
fn swiss_variant(family: Family, name: &str) -> String {
    match family {
        Family::GoSwiss => {
            let tail = name.rsplit_once('/').map_or(name, |(_, t)| t);
            tail.split_once('.').map_or(tail, |(_, v)| v).to_string()
        }
        _ => name.to_string(),
    }
}

/// Fills in each role function's prologue end and parameter places.
pub fn add_frames(bin: &Binary<'_>, roles: &mut BTreeMap<String, Vec<RoleFn>>) -> Result<()> {
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

/// The role of the function copy with raw symbol `symbol`.
pub fn role_of(roles: &BTreeMap<String, Vec<RoleFn>>, symbol: &str) -> Option<String> {
    roles
        .iter()
        .find(|(_, fns)| fns.iter().any(|f| f.symbol == symbol))
        .map(|(r, _)| r.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_the_function_below_them() {
        let src = "// role: evacuate\n/// Docs.\n#[inline(never)]\npub unsafe fn evacuate_fast64<K>(x: K) {}\n// role: bad name\nfn f() {}\n";
        assert_eq!(
            find_role_markers(src),
            vec![("evacuate".to_string(), "evacuate_fast64".to_string())]
        );
    }

    #[test]
    fn gomap_markers_give_every_role() {
        let table: BTreeMap<String, Vec<String>> = gomap_roles().into_iter().collect();
        let names: Vec<&str> = table.keys().map(String::as_str).collect();
        assert_eq!(names, ROLE_NAMES, "a role without a marked gomap function");
        assert_eq!(
            table["evacuate"],
            ["evacuate", "evacuate_fast64", "evacuate_faststr"]
        );
        assert_eq!(table["iterate"], ["iter_next"]);
        assert_eq!(table["access"].len(), 6);
    }

    #[test]
    fn every_gomap_runtime_file_is_compiled_in() {
        // A new file in gomap's runtime must join GOMAP_SOURCES, or its markers are not seen.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gomap/src/runtime");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".rs"))
            .collect();
        files.sort();
        let listed: Vec<&str> = GOMAP_SOURCES.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn go_roles_are_known_roles() {
        for (role, _) in GO_ROLES {
            assert!(ROLE_NAMES.contains(role), "{role}");
        }
        let mut swiss: Vec<&str> = SWISS_ROLES.iter().map(|(r, _)| *r).collect();
        swiss.sort_unstable();
        assert_eq!(swiss, SWISS_ROLE_NAMES);
    }

    #[test]
    fn swiss_variants_drop_the_package() {
        assert_eq!(
            swiss_variant(Family::GoSwiss, "internal/runtime/maps.(*Map).Delete"),
            "(*Map).Delete"
        );
        assert_eq!(
            swiss_variant(Family::GoSwiss, "runtime.mapassign_fast64"),
            "mapassign_fast64"
        );
    }
}
