//! The map-target profile: everything a debugger needs to inspect and stop on a
//! gomap or Go map (classic hmap/bmap maps, Go 1.19 to 1.25 with `noswissmap`; Swiss-table
//! maps, Go 1.24 to 1.26), as one versioned JSON document (docs/profile.md).
//!
//! Recipe: detect the family from the struct types ([`map_layouts`]), take the role
//! functions from the symbol table ([`roles`]) with their frames ([`frames`]), constants
//! ([`consts`]), probe points ([`gomap_probes`], [`go_probes`]) and, for Go, the map types
//! ([`go_types`]) and runtime facts ([`go_runtime`]); Swiss-table maps' layouts, map types and
//! constants come from [`swiss`].
//!
//! [`map_layouts`]: crate::map_layouts
//! [`roles`]: crate::roles
//! [`frames`]: crate::frames
//! [`consts`]: crate::consts
//! [`gomap_probes`]: crate::gomap_probes
//! [`go_probes`]: crate::go_probes
//! [`go_types`]: crate::go_types
//! [`go_runtime`]: crate::go_runtime
//! [`swiss`]: crate::swiss

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cfi::{CfaRule, Cfi};
use crate::error::{Error, Result};
use crate::loader::Binary;
use crate::locations::Loc;
use crate::map_layouts::{is_gomap_type, GOMAP_PREFIX};
use crate::symbols;
use crate::types::{Layout, TypeIndex};
use crate::{go_runtime, go_types, map_layouts, roles, strings, swiss};

pub use crate::consts::Constants;
pub use crate::gomap_probes::Marker;
pub use crate::map_layouts::{BucketLayout, Field, HandleLayout, Layouts, StructLayout};
pub use crate::roles::RoleFn;

/// The version of the profile format; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The map runtime a binary contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A Rust program using the `gomap` crate.
    Gomap,
    /// A Go program with classic hmap/bmap maps (Go 1.0 to 1.23, and 1.24-1.25 built with
    /// `GOEXPERIMENT=noswissmap`).
    Go,
    /// A Go program with Swiss-table maps (`internal/runtime/maps`: Go 1.24 and 1.25 by
    /// default, Go 1.26).
    #[serde(rename = "go-swiss")]
    GoSwiss,
}

/// The algorithm's constants: classic maps' (gomap and Go) or Swiss-table maps'.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ProfileConstants {
    Classic(Constants),
    Swiss(swiss::SwissConstants),
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
    pub constants: ProfileConstants,
    pub roles: BTreeMap<String, Vec<RoleFn>>,
    /// Layouts of the string types among keys, elems and the fatal message (`&str`, `String`,
    /// Go's `string`), so that debuggers can render them from raw memory.
    pub types: BTreeMap<String, strings::StringLayout>,
    pub probes: BTreeMap<String, Vec<Probe>>,
    /// How the probes were found: gomap markers, Go runtime sources, or the built-in table.
    pub probe_source: ProbeSource,
    /// Go only (null for gomap): goroutine and thread layouts, and where the current `g` is.
    pub runtime: Option<go_runtime::Runtime>,
    /// Probe markers whose function has no code in this binary (a generic role that
    /// the program never instantiates): normal, listed for completeness.
    pub unresolved_markers: Vec<Marker>,
    /// Problems the debugger side should show: unreadable or stale source files,
    /// markers placed before statements without code.
    pub warnings: Vec<String>,
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
    /// `runtime.buildVersion` (`go1.19.8`, `go1.24.13 X:noswissmap`), for Go binaries.
    pub go_version: Option<String>,
    /// Position-independent (ET_DYN): every address below is relative to the load
    /// base, which the debugger adds at run time.
    pub pie: bool,
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
    /// gomap: the line of the `// probe: NAME` marker. Go: the line of the statement the
    /// probe's pattern anchors on (docs/profile.md, "Probes on Go").
    pub marker_line: u32,
    pub address: u64,
    /// The function's parameters and their places at `address` (null: none there).
    pub params: Vec<ProbeParam>,
    /// The CFA rule at `address`, to resolve `{"cfa": K}` places.
    pub cfa: Option<CfaRule>,
}

/// A parameter at a probe's address.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeParam {
    pub name: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub type_name: String,
    pub location: Option<Loc>,
}

/// Where the probe points come from.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeSource {
    /// `markers` (gomap: `// probe:` comments in its sources), `go-sources` (the statement
    /// patterns matched in the Go runtime sources of the binary's version), `go-table` (the
    /// built-in table of those matches for tested Go versions), or `none`.
    pub kind: String,
    /// For `go-sources`: the GOROOT read; for `go-table`: the Go version of the table used.
    pub detail: Option<String>,
}

/// Detects the family and builds the profile.
pub fn build(bin: &Binary<'_>) -> Result<Profile> {
    let index = TypeIndex::new(bin)?;
    let found = index.find_all(&|q, n| map_layouts::wanted(q, n) || swiss::wanted(q, n))?;
    let family = family(bin, &found)?;
    let mut warnings = Vec::new();
    let mut unresolved = Vec::new();
    let go_version = match family {
        Family::Gomap => None,
        Family::Go | Family::GoSwiss => go_runtime::build_version(bin),
    };
    let go_consts = match family {
        Family::Gomap => None,
        Family::Go => Some(crate::consts::go_constants(
            bin,
            crate::consts::GO_PREFIXES,
        )?),
        Family::GoSwiss => Some(crate::consts::go_constants(bin, swiss::PREFIXES)?),
    };
    let (layouts, constants) = match family {
        Family::Gomap | Family::Go => {
            let layouts = if family == Family::Gomap {
                map_layouts::gomap_layouts(&index, &found)?
            } else {
                map_layouts::go_layouts(&index, &found, &go_types::map_types(bin)?)?
            };
            let c = crate::consts::constants(go_consts.as_ref());
            (layouts, ProfileConstants::Classic(c))
        }
        Family::GoSwiss => {
            let go = go_consts.as_ref().expect("Go constants");
            let c = swiss::constants(go, &mut warnings);
            let s = swiss::layouts(bin, &index, &found, go, &mut warnings)?;
            let layouts = Layouts {
                header: vec![s.header],
                extra: Vec::new(),
                buckets: Vec::new(),
                map_handle: Vec::new(),
                table: s.table,
                groups_reference: s.groups_reference,
                groups: Some(s.groups),
            };
            (layouts, ProfileConstants::Swiss(c))
        }
    };
    let funcs = symbols::functions(bin, None);
    let mut roles = roles::roles(&funcs, family);
    let role_addrs: Vec<u64> = roles.values().flatten().map(|f| f.address).collect();
    let (inlined, dwarf_names) = symbols::scan_functions_at(bin, &role_addrs)?;
    roles::add_dwarf_names(&mut roles, &dwarf_names);
    roles::add_frames(bin, &mut roles)?;
    let mut wanted: Vec<&str> = layouts
        .buckets
        .iter()
        .flat_map(|b| [b.key_type.as_str(), b.elem_type.as_str()])
        .chain(
            layouts
                .groups
                .iter()
                .flatten()
                .flat_map(|g| [g.key_type.as_str(), g.elem_type.as_str()]),
        )
        .collect();
    wanted.push(match family {
        Family::Gomap => "&str",                  // fatal(msg: &'static str)
        Family::Go | Family::GoSwiss => "string", // fatal(s string)
    });
    let types = strings::layouts(&index, &wanted);
    let (mut probes, probe_source) = match family {
        Family::Gomap => (
            crate::gomap_probes::gomap_probes(
                bin,
                &funcs,
                &roles,
                &inlined,
                &mut warnings,
                &mut unresolved,
            )?,
            ProbeSource {
                kind: "markers".to_string(),
                detail: None,
            },
        ),
        Family::Go | Family::GoSwiss => crate::go_probes::go_probes(
            bin,
            &roles,
            &inlined,
            go_version.as_deref(),
            &mut warnings,
            family == Family::GoSwiss,
        )?,
    };
    add_probe_params(bin, &roles, &mut probes)?;
    let runtime = match &go_consts {
        Some(c) => Some(go_runtime::runtime(bin, &index, go_version.as_deref(), c)?),
        None => None,
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
            go_version,
            pie: {
                use object::Object;
                bin.object().kind() == object::ObjectKind::Dynamic
            },
        },
        pointer_size: bin.address_size(),
        layouts,
        constants,
        roles,
        types,
        probes,
        probe_source,
        runtime,
        unresolved_markers: unresolved,
        warnings,
    })
}

/// gomap when the DWARF has `gomap::runtime::Hmap<K, V>`, Go when it has `runtime.hmap`, Go's
/// Swiss tables when it has `internal/runtime/maps.Map` (and no `runtime.hmap`: a 1.24-1.25
/// `noswissmap` build keeps classic maps).
fn family(bin: &Binary<'_>, found: &[Layout]) -> Result<Family> {
    let gomap = found
        .iter()
        .any(|l| l.name.starts_with(GOMAP_PREFIX) && is_gomap_type(&l.name, "Hmap"));
    if gomap {
        Ok(Family::Gomap)
    } else if found.iter().any(|l| l.name == "runtime.hmap") {
        Ok(Family::Go)
    } else if swiss::is_swiss(found) {
        Ok(Family::GoSwiss)
    } else {
        Err(Error::NoMapRuntime(bin.path().to_path_buf()))
    }
}

/// Each probe's parameters and CFA rule at its address, from its role function's frame facts.
fn add_probe_params(
    bin: &Binary<'_>,
    roles: &BTreeMap<String, Vec<RoleFn>>,
    probes: &mut BTreeMap<String, Vec<Probe>>,
) -> Result<()> {
    let cfi = Cfi::load(bin)?;
    for p in probes.values_mut().flatten() {
        let Some(f) = roles.values().flatten().find(|f| f.symbol == p.symbol) else {
            continue;
        };
        p.params = f
            .params
            .iter()
            .map(|q| ProbeParam {
                name: q.name.clone(),
                size: q.size,
                type_name: q.type_name.clone(),
                location: crate::locations::at(&q.locations, p.address).cloned(),
            })
            .collect();
        p.cfa = cfi.as_ref().and_then(|c| c.at(p.address));
    }
    Ok(())
}
