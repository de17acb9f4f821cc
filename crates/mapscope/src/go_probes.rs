//! Probe points of Go binaries: every probe gomap marks, at the matching statement of the Go
//! runtime's map sources, in every variant (generic, `_fast32`, `_fast64`, `_fast64ptr`, ...).
//!
//! Recipe:
//! 1. [`PATTERNS`] says, per probe, which runtime functions have it and which statement it is:
//!    `at` a statement (stop before it runs) or `after` it (stop before the next statement
//!    runs). Statements are matched by their text, never by line numbers.
//! 2. The anchors (the lines the patterns match, per function) come from the runtime sources of
//!    the binary's Go version: the GOROOT the DWARF names, or the go command's toolchain cache,
//!    when its `VERSION` is the binary's `runtime.buildVersion`. Otherwise from [`TABLE`], the
//!    anchors found in the sources of each tested Go version (`mapscope go-probe-table GOROOT`
//!    writes it); a binary whose version the table lacks gets a warning, and no probes unless
//!    the table has another patch release of the same minor version.
//! 3. For each role function copy: `at` resolves to the anchor line, `after` to the first later
//!    line of the function whose code comes after the anchor's, among the line-table
//!    statements and inlined call sites the function itself owns; the address is the lowest of
//!    that line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::code_points::{self, Point};
use crate::error::Result;
use crate::go_runtime::{major_minor, release};
use crate::lines::Context;
use crate::loader::Binary;
use crate::profile::{Probe, ProbeSource};
use crate::roles::RoleFn;
use crate::symbols;

/// How a pattern's statement relates to the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The probe is the statement itself: it has not run yet.
    At,
    /// The probe is the statement after it: it has run, the next one has not.
    After,
}

/// A probe's statement pattern.
#[derive(Debug)]
pub struct Pattern {
    pub probe: &'static str,
    /// Runtime functions (without `runtime.`) that have the probe.
    pub functions: &'static [&'static str],
    pub mode: Mode,
    /// The statement, as a prefix of the trimmed source line.
    pub statement: &'static str,
}

const WRITERS: &[&str] = &[
    "mapassign",
    "mapassign_fast32",
    "mapassign_fast32ptr",
    "mapassign_fast64",
    "mapassign_fast64ptr",
    "mapassign_faststr",
    "mapdelete",
    "mapdelete_fast32",
    "mapdelete_fast64",
    "mapdelete_faststr",
    "mapclear",
];
const DELETERS: &[&str] = &[
    "mapdelete",
    "mapdelete_fast32",
    "mapdelete_fast64",
    "mapdelete_faststr",
];
const READERS: &[&str] = &[
    "mapaccess1",
    "mapaccess2",
    "mapaccess1_fast32",
    "mapaccess2_fast32",
    "mapaccess1_fast64",
    "mapaccess2_fast64",
    "mapaccess1_faststr",
    "mapaccess2_faststr",
];
const EVACUATORS: &[&str] = &[
    "evacuate",
    "evacuate_fast32",
    "evacuate_fast64",
    "evacuate_faststr",
];

/// The statement patterns, one per probe (docs/profile.md, "Probes on Go").
pub const PATTERNS: &[Pattern] = &[
    Pattern {
        probe: "writer-entry-checked",
        functions: WRITERS,
        mode: Mode::At,
        statement: "h.flags ^= hashWriting",
    },
    Pattern {
        probe: "writer-set-writing",
        functions: WRITERS,
        mode: Mode::After,
        statement: "h.flags ^= hashWriting",
    },
    Pattern {
        probe: "writer-end-check",
        functions: WRITERS,
        mode: Mode::At,
        statement: "if h.flags&hashWriting == 0 {",
    },
    Pattern {
        probe: "reader-entry-checked",
        functions: READERS,
        mode: Mode::After,
        statement: "fatal(\"concurrent map read and map write\")",
    },
    Pattern {
        probe: "iter-entry-checked",
        functions: &["mapiternext"],
        mode: Mode::After,
        statement: "fatal(\"concurrent map iteration and map write\")",
    },
    Pattern {
        probe: "grow-started",
        functions: &["hashGrow"],
        mode: Mode::After,
        statement: "h.buckets = newbuckets",
    },
    Pattern {
        probe: "grow-finished",
        functions: &["advanceEvacuationMark"],
        mode: Mode::After,
        statement: "h.oldbuckets = nil",
    },
    Pattern {
        probe: "evacuate-start",
        functions: EVACUATORS,
        mode: Mode::After,
        statement: "if !evacuated(b) {",
    },
    Pattern {
        probe: "evacuate-marked",
        functions: EVACUATORS,
        mode: Mode::After,
        statement: "b.tophash[i] = evacuatedX + useY",
    },
    Pattern {
        probe: "evacuate-copied",
        functions: EVACUATORS,
        mode: Mode::At,
        statement: "dst.i++",
    },
    Pattern {
        probe: "delete-removed",
        functions: DELETERS,
        mode: Mode::After,
        statement: "h.count--",
    },
];

/// Swiss-table map functions that have probes: symbol name and the head of their declaration
/// in `src/internal/runtime/maps/` (the linknamed `runtime.` entry points are declared there
/// under a package-local name).
pub const SWISS_FUNCS: &[(&str, &str)] = &[
    ("runtime.mapassign", "func runtime_mapassign("),
    ("runtime.mapassign_fast32", "func runtime_mapassign_fast32("),
    (
        "runtime.mapassign_fast32ptr",
        "func runtime_mapassign_fast32ptr(",
    ),
    ("runtime.mapassign_fast64", "func runtime_mapassign_fast64("),
    (
        "runtime.mapassign_fast64ptr",
        "func runtime_mapassign_fast64ptr(",
    ),
    (
        "runtime.mapassign_faststr",
        "func runtime_mapassign_faststr(",
    ),
    ("runtime.mapaccess1", "func runtime_mapaccess1("),
    ("runtime.mapaccess2", "func runtime_mapaccess2("),
    (
        "runtime.mapaccess1_fast32",
        "func runtime_mapaccess1_fast32(",
    ),
    (
        "runtime.mapaccess2_fast32",
        "func runtime_mapaccess2_fast32(",
    ),
    (
        "runtime.mapaccess1_fast64",
        "func runtime_mapaccess1_fast64(",
    ),
    (
        "runtime.mapaccess2_fast64",
        "func runtime_mapaccess2_fast64(",
    ),
    (
        "runtime.mapaccess1_faststr",
        "func runtime_mapaccess1_faststr(",
    ),
    (
        "runtime.mapaccess2_faststr",
        "func runtime_mapaccess2_faststr(",
    ),
    (
        "internal/runtime/maps.(*Map).PutSlot",
        "func (m *Map) PutSlot(",
    ),
    (
        "internal/runtime/maps.(*Map).Delete",
        "func (m *Map) Delete(",
    ),
    ("internal/runtime/maps.(*Map).Clear", "func (m *Map) Clear("),
    (
        "internal/runtime/maps.(*Map).getWithKey",
        "func (m *Map) getWithKey(",
    ),
    (
        "internal/runtime/maps.(*Map).getWithoutKey",
        "func (m *Map) getWithoutKey(",
    ),
    (
        "internal/runtime/maps.(*Iter).Next",
        "func (it *Iter) Next(",
    ),
    (
        "internal/runtime/maps.(*table).grow",
        "func (t *table) grow(",
    ),
    (
        "internal/runtime/maps.(*table).split",
        "func (t *table) split(",
    ),
    (
        "internal/runtime/maps.(*Map).growToTable",
        "func (m *Map) growToTable(",
    ),
];

const SWISS_WRITERS: &[&str] = &[
    "runtime.mapassign",
    "runtime.mapassign_fast32",
    "runtime.mapassign_fast32ptr",
    "runtime.mapassign_fast64",
    "runtime.mapassign_fast64ptr",
    "runtime.mapassign_faststr",
    "internal/runtime/maps.(*Map).PutSlot",
    "internal/runtime/maps.(*Map).Delete",
    "internal/runtime/maps.(*Map).Clear",
];

/// A Swiss-table probe's statement pattern (functions by symbol name, see [`SWISS_FUNCS`]).
#[derive(Debug)]
pub struct SwissPattern {
    pub probe: &'static str,
    pub functions: &'static [&'static str],
    pub mode: Mode,
    pub statement: &'static str,
    /// Only the statement's first occurrence in the function (the writers' entry toggle of
    /// `writing`, as opposed to the toggles back at their ends).
    pub first: bool,
}

/// The statement patterns of Swiss-table maps (docs/profile.md, "Probes on Swiss maps").
pub const SWISS_PATTERNS: &[SwissPattern] = &[
    SwissPattern {
        probe: "writer-entry-checked",
        functions: SWISS_WRITERS,
        mode: Mode::At,
        statement: "m.writing ^= 1",
        first: true,
    },
    SwissPattern {
        probe: "writer-set-writing",
        functions: SWISS_WRITERS,
        mode: Mode::After,
        statement: "m.writing ^= 1",
        first: true,
    },
    SwissPattern {
        probe: "writer-end-check",
        functions: SWISS_WRITERS,
        mode: Mode::At,
        statement: "if m.writing == 0 {",
        first: false,
    },
    SwissPattern {
        probe: "reader-entry-checked",
        functions: crate::roles::SWISS_ACCESS,
        mode: Mode::After,
        statement: "fatal(\"concurrent map read and map write\")",
        first: false,
    },
    SwissPattern {
        probe: "iter-entry-checked",
        functions: &["internal/runtime/maps.(*Iter).Next"],
        mode: Mode::After,
        statement: "fatal(\"concurrent map iteration and map write\")",
        first: false,
    },
    SwissPattern {
        probe: "grow-started",
        functions: &["internal/runtime/maps.(*table).grow"],
        mode: Mode::After,
        statement: "newTable := newTable(",
        first: false,
    },
    SwissPattern {
        probe: "grow-started",
        functions: &["internal/runtime/maps.(*Map).growToTable"],
        mode: Mode::After,
        statement: "tab := newTable(",
        first: false,
    },
    SwissPattern {
        probe: "grow-finished",
        functions: &["internal/runtime/maps.(*table).grow"],
        mode: Mode::After,
        statement: "m.replaceTable(newTable)",
        first: false,
    },
    SwissPattern {
        probe: "grow-finished",
        functions: &["internal/runtime/maps.(*Map).growToTable"],
        mode: Mode::After,
        statement: "m.globalShift = depthToShift(m.globalDepth)",
        first: false,
    },
    SwissPattern {
        probe: "split-started",
        functions: &["internal/runtime/maps.(*table).split"],
        mode: Mode::After,
        statement: "right := newTable(",
        first: false,
    },
    SwissPattern {
        probe: "split-finished",
        functions: &["internal/runtime/maps.(*table).split"],
        mode: Mode::After,
        statement: "m.installTableSplit(t, left, right)",
        first: false,
    },
];

/// The family marker of Swiss-table entries in the table.
pub const SWISS: &str = "go-swiss";

/// A matched statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub probe: String,
    pub mode: Mode,
    /// The statement's line.
    pub line: u32,
    /// For `after` a call that never returns: the line that closes its block. The rest of the
    /// block never runs (Go 1.24+ writes `return` after `fatal(...)`), so the probe is the
    /// first statement after this line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_end: Option<u32>,
}

/// The anchors of one runtime function in one Go version's sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncAnchors {
    /// Without `runtime.`.
    pub function: String,
    /// Relative to GOROOT: `src/runtime/map_fast64.go`.
    pub file: String,
    /// The `func` line and the closing brace's line.
    pub func_line: u32,
    pub end_line: u32,
    pub anchors: Vec<Anchor>,
    /// `go-swiss` for Swiss-table map functions (then `function` is the full symbol name and
    /// `file` is under `src/internal/runtime/maps/`); absent for classic maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// The built-in table: Go version → anchors (generated by `mapscope go-probe-table`).
pub const TABLE: &str = include_str!("go_probe_table.json");

/// The anchors of the function declared by `head` in a source text: each pattern
/// `(probe, mode, statement, first only)` matched inside its body.
fn function_anchors(
    lines: &[&str],
    rel_file: &str,
    function: &str,
    head: &str,
    patterns: &[(&str, Mode, &str, bool)],
    family: Option<&str>,
) -> Option<FuncAnchors> {
    let start = lines.iter().position(|l| l.starts_with(head))?;
    let end = (start..lines.len()).find(|&i| lines[i] == "}")?;
    let mut anchors = Vec::new();
    for (probe, mode, statement, first) in patterns {
        for (i, l) in lines.iter().enumerate().take(end).skip(start + 1) {
            if l.trim().starts_with(statement) {
                let no_return = NO_RETURN.iter().any(|c| statement.starts_with(c));
                anchors.push(Anchor {
                    probe: probe.to_string(),
                    mode: *mode,
                    line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    block_end: if *mode == Mode::After && no_return {
                        block_end(lines, i, end).map(|j| u32::try_from(j + 1).unwrap_or(u32::MAX))
                    } else {
                        None
                    },
                });
                if *first {
                    break;
                }
            }
        }
    }
    Some(FuncAnchors {
        function: function.to_string(),
        file: rel_file.to_string(),
        func_line: u32::try_from(start + 1).unwrap_or(u32::MAX),
        end_line: u32::try_from(end + 1).unwrap_or(u32::MAX),
        anchors,
        family: family.map(str::to_string),
    })
}

/// Calls that never return: what follows them in their block is dead code.
const NO_RETURN: &[&str] = &["fatal(", "throw("];

/// The index of the line that closes the block holding line `i` (before line `end`), by brace
/// depth. Go's runtime sources put no braces in the strings of the lines scanned here.
fn block_end(lines: &[&str], i: usize, end: usize) -> Option<usize> {
    let mut depth = 0i64;
    for (j, line) in lines.iter().enumerate().take(end).skip(i) {
        for c in line.chars() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth < 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Finds the anchors of every patterned function defined in a source text.
pub fn anchors_in_source(text: &str, rel_file: &str) -> Vec<FuncAnchors> {
    let lines: Vec<&str> = text.lines().collect();
    let mut functions: Vec<&str> = PATTERNS.iter().flat_map(|p| p.functions).copied().collect();
    functions.sort_unstable();
    functions.dedup();
    let mut out = Vec::new();
    for f in functions {
        let patterns: Vec<(&str, Mode, &str, bool)> = PATTERNS
            .iter()
            .filter(|p| p.functions.contains(&f))
            .map(|p| (p.probe, p.mode, p.statement, false))
            .collect();
        out.extend(function_anchors(
            &lines,
            rel_file,
            f,
            &format!("func {f}("),
            &patterns,
            None,
        ));
    }
    out
}

/// Finds the anchors of every patterned Swiss-table function defined in a source text.
pub fn swiss_anchors_in_source(text: &str, rel_file: &str) -> Vec<FuncAnchors> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (symbol, head) in SWISS_FUNCS {
        let patterns: Vec<(&str, Mode, &str, bool)> = SWISS_PATTERNS
            .iter()
            .filter(|p| p.functions.contains(symbol))
            .map(|p| (p.probe, p.mode, p.statement, p.first))
            .collect();
        out.extend(function_anchors(
            &lines,
            rel_file,
            symbol,
            head,
            &patterns,
            Some(SWISS),
        ));
    }
    out
}

/// The classic-map source files of a GOROOT (1.24-1.25 keep them as `*_noswiss.go`).
fn map_sources(goroot: &Path) -> Vec<PathBuf> {
    let dir = goroot.join("src/runtime");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.starts_with("map")
                        && n.ends_with(".go")
                        && !n.ends_with("_test.go")
                        && !n.ends_with("_swiss.go")
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The anchors of every patterned function in a GOROOT's sources: classic maps' (when the
/// GOROOT has them: up to 1.25) and Swiss-table maps' (from 1.24).
pub fn anchors_in_goroot(goroot: &Path) -> Vec<FuncAnchors> {
    let mut out = Vec::new();
    let classic: Vec<(PathBuf, String)> = map_sources(goroot)
        .into_iter()
        .filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?)))
        .collect();
    // Go 1.26 keeps Swiss-map entry points in src/runtime/map*.go: no `hmap` there.
    if classic
        .iter()
        .any(|(_, t)| t.contains("\ntype hmap struct {"))
    {
        for (path, text) in &classic {
            let rel = format!(
                "src/runtime/{}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("")
            );
            out.extend(anchors_in_source(text, &rel));
        }
    }
    out.sort_by(|a, b| a.function.cmp(&b.function));
    let mut swiss = Vec::new();
    for path in swiss_sources(goroot) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rel = format!(
            "{SWISS_DIR}{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("")
        );
        swiss.extend(swiss_anchors_in_source(&text, &rel));
    }
    swiss.sort_by(|a, b| a.function.cmp(&b.function));
    out.extend(swiss);
    out
}

/// Where the Swiss-table map sources are, relative to GOROOT.
const SWISS_DIR: &str = "src/internal/runtime/maps/";

/// The Swiss-table map sources of a GOROOT (none before 1.24).
fn swiss_sources(goroot: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(goroot.join(SWISS_DIR))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.ends_with(".go") && !n.ends_with("_test.go") && !n.ends_with("_noswiss.go")
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The first line of a GOROOT's `VERSION` file (`go1.19.8`).
pub fn goroot_version(goroot: &Path) -> Option<String> {
    let text = std::fs::read_to_string(goroot.join("VERSION")).ok()?;
    Some(text.lines().next()?.trim().to_string())
}

/// `mapscope go-probe-table GOROOT...`: the table entries of these GOROOTs, by version.
pub fn table_for(goroots: &[PathBuf]) -> Result<BTreeMap<String, Vec<FuncAnchors>>> {
    let mut out = BTreeMap::new();
    for g in goroots {
        let version = goroot_version(g).ok_or_else(|| {
            crate::Error::NotFound(format!("{}: no VERSION file (not a GOROOT?)", g.display()))
        })?;
        let anchors = anchors_in_goroot(g);
        if anchors.is_empty() {
            return Err(crate::Error::NotFound(format!(
                "{}: no map sources in src/runtime or {SWISS_DIR}",
                g.display()
            )));
        }
        out.insert(version, anchors);
    }
    Ok(out)
}

fn parse_table() -> BTreeMap<String, Vec<FuncAnchors>> {
    // The table is generated and tested; a broken one is a build defect, reported as empty.
    serde_json::from_str(TABLE).unwrap_or_default()
}

/// The GOROOT a runtime source path lies in, and the path relative to it (the classic maps'
/// `src/runtime/`, or the Swiss-table maps' `src/internal/runtime/maps/`).
fn split_goroot(path: &str) -> Option<(&str, &str)> {
    let i = path
        .rfind("/src/runtime/")
        .or_else(|| path.rfind("/src/internal/runtime/maps/"))?;
    Some((&path[..i], &path[i + 1..]))
}

/// A runtime source path relative to GOROOT (`src/runtime/map.go`), also for binaries built
/// with `-trimpath`, whose line tables say `runtime/map.go` (no GOROOT to read).
fn runtime_rel(path: &str) -> Option<String> {
    if let Some((_, rel)) = split_goroot(path) {
        return Some(rel.to_string());
    }
    let p = path.trim_start_matches("./");
    (p.starts_with("runtime/") || p.starts_with("internal/runtime/maps/"))
        .then(|| format!("src/{p}"))
}

/// Where the go command keeps a downloaded toolchain of `release` (`GOTOOLCHAIN=go1.22.12`).
fn cached_toolchain(release: &str, goarch: &str) -> Option<PathBuf> {
    let modcache = std::env::var_os("GOMODCACHE")
        .map(PathBuf::from)
        .or_else(|| {
            let gopath = std::env::var_os("GOPATH")?;
            let first = std::env::split_paths(&gopath).next()?;
            Some(first.join("pkg/mod"))
        })
        .or_else(|| Some(PathBuf::from(std::env::var_os("HOME")?).join("go/pkg/mod")))?;
    let dir = modcache.join(format!(
        "golang.org/toolchain@v0.0.1-{release}.linux-{goarch}"
    ));
    dir.is_dir().then_some(dir)
}

/// The anchors for this binary and how they were found.
fn find_anchors(
    bin: &Binary<'_>,
    dwarf_file: Option<&str>,
    go_version: Option<&str>,
    warnings: &mut Vec<String>,
) -> (Vec<FuncAnchors>, ProbeSource) {
    let none = |w: &mut Vec<String>, why: String| {
        w.push(why);
        (
            Vec::new(),
            ProbeSource {
                kind: "none".to_string(),
                detail: None,
            },
        )
    };
    let Some(version) = go_version.map(release) else {
        return none(
            warnings,
            "no Go probes: the binary has no runtime.buildVersion, so the runtime sources \
             cannot be matched to it"
                .to_string(),
        );
    };
    let goarch = {
        use object::Object;
        match bin.object().architecture() {
            object::Architecture::Aarch64 => "arm64",
            _ => "amd64",
        }
    };
    let mut candidates: Vec<PathBuf> = Vec::new();
    // MAPSCOPE_GO_PROBES=table: use the built-in table even when sources are at hand.
    let sources = std::env::var("MAPSCOPE_GO_PROBES").as_deref() != Ok("table");
    if let Some((root, _)) = dwarf_file.and_then(split_goroot).filter(|_| sources) {
        candidates.push(PathBuf::from(root));
    }
    if let Some(dir) = cached_toolchain(version, goarch).filter(|_| sources) {
        candidates.push(dir);
    }
    let mut mismatched = Vec::new();
    for root in &candidates {
        match goroot_version(root) {
            Some(v) if v == version => {
                let anchors = anchors_in_goroot(root);
                if !anchors.is_empty() {
                    return (
                        anchors,
                        ProbeSource {
                            kind: "go-sources".to_string(),
                            detail: Some(root.display().to_string()),
                        },
                    );
                }
            }
            Some(v) => mismatched.push(format!("{} is {v}", root.display())),
            None => {}
        }
    }
    if !mismatched.is_empty() {
        warnings.push(format!(
            "the runtime sources found are not the binary's Go version ({version}): {}; \
             using the built-in probe table",
            mismatched.join(", ")
        ));
    }
    match from_table(version, &parse_table(), warnings) {
        Some(found) => found,
        None => (
            Vec::new(),
            ProbeSource {
                kind: "none".to_string(),
                detail: None,
            },
        ),
    }
}

/// The table's anchors for `version`: its own entry, else another patch release of the same
/// minor version (with a warning), else none (with a warning).
fn from_table(
    version: &str,
    table: &BTreeMap<String, Vec<FuncAnchors>>,
    warnings: &mut Vec<String>,
) -> Option<(Vec<FuncAnchors>, ProbeSource)> {
    if let Some(anchors) = table.get(version) {
        return Some((
            anchors.clone(),
            ProbeSource {
                kind: "go-table".to_string(),
                detail: Some(version.to_string()),
            },
        ));
    }
    let same_minor = table
        .keys()
        .filter(|v| major_minor(v).is_some() && major_minor(v) == major_minor(version))
        .max_by_key(|v| (v.len(), v.to_string()))
        .cloned();
    match same_minor {
        Some(v) => {
            warnings.push(format!(
                "the built-in probe table has no entry for {version}: using {v}'s (same minor \
                 release; checked against the binary's function lines); install {version}'s \
                 sources for exact probes"
            ));
            Some((
                table[&v].clone(),
                ProbeSource {
                    kind: "go-table".to_string(),
                    detail: Some(v),
                },
            ))
        }
        None => {
            warnings.push(format!(
                "no Go probes: the runtime sources of {version} are not on this machine and the \
                 built-in probe table has no entry for it (it has {})",
                table.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            None
        }
    }
}

/// Resolves every probe in every role function copy of a Go binary: of its classic maps, or
/// with `swiss`, of its Swiss-table maps.
pub fn go_probes(
    bin: &Binary<'_>,
    roles: &BTreeMap<String, Vec<RoleFn>>,
    inlined: &[symbols::Inlined],
    go_version: Option<&str>,
    warnings: &mut Vec<String>,
    swiss: bool,
) -> Result<(BTreeMap<String, Vec<Probe>>, ProbeSource)> {
    let mut fns: Vec<(&str, &RoleFn)> = roles
        .iter()
        .flat_map(|(r, l)| l.iter().map(move |f| (r.as_str(), f)))
        .filter(|(_, f)| f.size > 0)
        .collect();
    fns.sort_by_key(|(_, f)| f.address);
    fns.dedup_by_key(|(_, f)| f.address);
    let ctx = Context::new(bin)?;
    // The source file of each function: the line table at its entry.
    let files: Vec<Option<String>> = fns
        .iter()
        .map(|(_, f)| ctx.location(f.address).map(|l| l.0))
        .collect();
    drop(ctx);
    let first_file = files
        .iter()
        .flatten()
        .find(|f| split_goroot(f).is_some())
        .cloned();
    let (anchors, source) = find_anchors(bin, first_file.as_deref(), go_version, warnings);
    let mut out: BTreeMap<String, Vec<Probe>> = BTreeMap::new();
    if anchors.is_empty() {
        return Ok((out, source));
    }
    let family = swiss.then_some(SWISS);
    let by_fn: HashMap<&str, &FuncAnchors> = anchors
        .iter()
        .filter(|a| a.family.as_deref() == family)
        .map(|a| (a.function.as_str(), a))
        .collect();
    if by_fn.is_empty() {
        warnings.push(format!(
            "no Go probes: the runtime sources or table entry used ({}) have no {} map functions",
            source.detail.as_deref().unwrap_or("?"),
            if swiss { "Swiss-table" } else { "classic" }
        ));
        return Ok((out, source));
    }
    let ranges: Vec<(u64, u64)> = fns
        .iter()
        .map(|(_, f)| (f.address, f.address + f.size))
        .collect();
    let points = code_points::points(bin, &ranges, inlined)?;
    for (i, (role, f)) in fns.iter().enumerate() {
        // Classic anchors name functions without `runtime.`, Swiss ones by their symbol.
        let short = if swiss {
            f.function.as_str()
        } else {
            match f.function.strip_prefix("runtime.") {
                Some(s) => s,
                None => continue,
            }
        };
        let Some(fa) = by_fn.get(short) else { continue };
        let Some(file) = files[i].as_deref() else {
            continue;
        };
        if runtime_rel(file).as_deref() != Some(fa.file.as_str()) {
            warnings.push(format!(
                "no probes in {}: it is in {file}, the probe anchors are in {}",
                f.function, fa.file
            ));
            continue;
        }
        // Only lines the function itself owns: not those of code inlined into it.
        let mine: Vec<&Point> = points
            .get(&i)
            .map(|v| {
                v.iter()
                    .filter(|p| p.file.as_ref() == file && p.owner.as_deref() == Some(&f.function))
                    .collect()
            })
            .unwrap_or_default();
        let entry_line = mine
            .iter()
            .filter(|p| p.address == f.address)
            .map(|p| p.line)
            .min();
        if entry_line.is_some_and(|l| l != fa.func_line) {
            warnings.push(format!(
                "no probes in {}: its code starts at line {} but the probe anchors' sources \
                 have `func {short}` at line {}",
                f.function,
                entry_line.unwrap_or(0),
                fa.func_line
            ));
            continue;
        }
        for a in &fa.anchors {
            match resolve(&mine, a, fa.end_line) {
                Some((line, address)) => {
                    if a.mode == Mode::At && line != a.line {
                        warnings.push(format!(
                            "probe `{}` in {}: the statement at {file}:{} has no code, so the \
                             probe is at line {line}",
                            a.probe, f.function, a.line
                        ));
                    }
                    out.entry(a.probe.clone()).or_default().push(Probe {
                        role: Some(role.to_string()),
                        function: f.function.clone(),
                        symbol: f.symbol.clone(),
                        dwarf_name: f.dwarf_name.clone(),
                        file: file.to_string(),
                        line,
                        marker_line: a.line,
                        address,
                        params: Vec::new(),
                        cfa: None,
                    });
                }
                None => warnings.push(format!(
                    "probe `{}` in {}: no code after {file}:{} in the function",
                    a.probe, f.function, a.line
                )),
            }
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|p| (p.address, p.marker_line));
        list.dedup_by_key(|p| p.address);
    }
    Ok((out, source))
}

/// The probe's line and address in one function copy (see the module docs, step 3).
fn resolve(points: &[&Point], a: &Anchor, end_line: u32) -> Option<(u32, u64)> {
    let lowest = |line: u32| {
        points
            .iter()
            .filter(|p| p.line == line)
            .map(|p| p.address)
            .min()
    };
    // After a call that never returns, the probe follows its block (see Anchor::block_end).
    let from = a.block_end.unwrap_or(a.line);
    let mut later: Vec<u32> = points
        .iter()
        .map(|p| p.line)
        .filter(|&l| l > from && l <= end_line)
        .collect();
    later.sort_unstable();
    later.dedup();
    match a.mode {
        Mode::At => {
            let line = if lowest(a.line).is_some() {
                a.line
            } else {
                *later.first()?
            };
            Some((line, lowest(line)?))
        }
        Mode::After => {
            // The first later line with code after the anchor's code; when the anchor's code is
            // out of line (a cold `fatal` call placed at the end), the first later line. After
            // a block that ends in a call that never returns: the first line after the block.
            if let Some(anchor) = lowest(a.line).filter(|_| a.block_end.is_none()) {
                for &line in &later {
                    if let Some(addr) = points
                        .iter()
                        .filter(|p| p.line == line && p.address > anchor)
                        .map(|p| p.address)
                        .min()
                    {
                        return Some((line, addr));
                    }
                }
            }
            let line = *later.first()?;
            Some((line, lowest(line)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SRC: &str = "package runtime\n\nfunc mapassign_fast64(t *maptype, h *hmap, key uint64) unsafe.Pointer {\n\tif h.flags&hashWriting != 0 {\n\t\tfatal(\"concurrent map writes\")\n\t}\n\thash := t.hasher(noescape(unsafe.Pointer(&key)), uintptr(h.hash0))\n\n\t// Set hashWriting after calling t.hasher for consistency with mapassign.\n\th.flags ^= hashWriting\n\n\tif h.buckets == nil {\n\t}\n\tif h.flags&hashWriting == 0 {\n\t\tfatal(\"concurrent map writes\")\n\t}\n\treturn nil\n}\n";

    #[test]
    fn anchors_by_statement_text() {
        let got = anchors_in_source(SRC, "src/runtime/map_fast64.go");
        assert_eq!(got.len(), 1);
        let f = &got[0];
        assert_eq!(
            (f.function.as_str(), f.func_line, f.end_line),
            ("mapassign_fast64", 3, 18)
        );
        let a: Vec<(&str, Mode, u32)> = f
            .anchors
            .iter()
            .map(|a| (a.probe.as_str(), a.mode, a.line))
            .collect();
        assert_eq!(
            a,
            vec![
                ("writer-entry-checked", Mode::At, 10),
                ("writer-set-writing", Mode::After, 10),
                ("writer-end-check", Mode::At, 14),
            ]
        );
    }

    fn pt(address: u64, line: u32) -> Point {
        Point {
            address,
            file: Arc::from("f.go"),
            line,
            owner: None,
        }
    }

    #[test]
    fn after_skips_lines_whose_code_comes_first() {
        // Line 11's only code was scheduled before the anchor (line 10): the probe is line 12.
        let pts = [
            pt(100, 10),
            pt(90, 11),
            pt(120, 12),
            pt(110, 12),
            pt(130, 30),
        ];
        let refs: Vec<&Point> = pts.iter().collect();
        let after = Anchor {
            probe: "p".into(),
            mode: Mode::After,
            line: 10,
            block_end: None,
        };
        assert_eq!(resolve(&refs, &after, 20), Some((12, 110)));
        // A cold anchor (code at the end): the first later line.
        let cold = [pt(500, 10), pt(90, 11)];
        let refs: Vec<&Point> = cold.iter().collect();
        assert_eq!(resolve(&refs, &after, 20), Some((11, 90)));
        // `at` a line without code moves down; nothing past the function's end.
        let at = Anchor {
            probe: "p".into(),
            mode: Mode::At,
            line: 9,
            block_end: None,
        };
        let refs: Vec<&Point> = pts.iter().collect();
        assert_eq!(resolve(&refs, &at, 20), Some((10, 100)));
        let late = Anchor {
            probe: "p".into(),
            mode: Mode::After,
            line: 12,
            block_end: None,
        };
        assert_eq!(resolve(&refs, &late, 20), None);
    }

    #[test]
    fn after_a_call_that_never_returns_is_after_its_block() {
        // Go 1.24+: `if m.writing != 0 {` / `fatal(...)` / `return nil, false` / `}` / next.
        let src = "func f() {\n\tif m.writing != 0 {\n\t\tfatal(\"concurrent map read and map write\")\n\t\treturn nil, false\n\t}\n\tif m.dirLen == 0 {\n\t}\n}\n";
        let lines: Vec<&str> = src.lines().collect();
        let patterns = [(
            "reader-entry-checked",
            Mode::After,
            "fatal(\"concurrent map read and map write\")",
            false,
        )];
        let found = function_anchors(&lines, "f.go", "f", "func f(", &patterns, None).unwrap();
        let anchor = &found.anchors[0];
        assert_eq!((anchor.line, anchor.block_end), (3, Some(5)));
        // The dead `return` (line 4) has code after the fatal call's: still not the probe.
        let pts = [pt(100, 3), pt(110, 4), pt(80, 6)];
        let refs: Vec<&Point> = pts.iter().collect();
        assert_eq!(resolve(&refs, anchor, 8), Some((6, 80)));
    }

    #[test]
    fn table_fallbacks_say_so() {
        let mut t = BTreeMap::new();
        t.insert("go1.22.12".to_string(), Vec::new());
        t.insert("go1.19.8".to_string(), Vec::new());
        let mut w = Vec::new();
        let (_, src) = from_table("go1.22.12", &t, &mut w).unwrap();
        assert_eq!((src.kind.as_str(), w.len()), ("go-table", 0));
        let (_, src) = from_table("go1.22.5", &t, &mut w).unwrap();
        assert_eq!(src.detail.as_deref(), Some("go1.22.12"));
        assert!(w[0].contains("no entry for go1.22.5"), "{w:?}");
        assert!(from_table("go1.18.10", &t, &mut w).is_none());
        assert_eq!(
            runtime_rel("./runtime/map.go").as_deref(),
            Some("src/runtime/map.go")
        );
        assert_eq!(
            runtime_rel("/usr/lib/go-1.19/src/runtime/map_fast64.go").as_deref(),
            Some("src/runtime/map_fast64.go")
        );
        assert_eq!(runtime_rel("/home/x/main.go"), None);
        assert!(
            w[1].contains("go1.18.10") && w[1].contains("go1.19.8"),
            "{w:?}"
        );
    }

    #[test]
    fn table_parses_and_covers_every_probe() {
        let t = parse_table();
        assert!(
            t.contains_key("go1.19.8"),
            "{:?}",
            t.keys().collect::<Vec<_>>()
        );
        for (v, fns) in &t {
            let minor = major_minor(v).unwrap();
            // Classic maps up to 1.25, Swiss-table maps from 1.24.
            if minor <= (1, 25) {
                for p in PATTERNS {
                    for f in p.functions {
                        let fa = fns.iter().find(|x| x.function == *f && x.family.is_none());
                        let fa = fa.unwrap_or_else(|| panic!("{v}: no {f}"));
                        assert!(
                            fa.anchors.iter().any(|a| a.probe == p.probe),
                            "{v}: {f} lacks {}",
                            p.probe
                        );
                    }
                }
            }
            if minor >= (1, 24) {
                for p in SWISS_PATTERNS {
                    for f in p.functions {
                        let fa = fns
                            .iter()
                            .find(|x| x.function == *f && x.family.as_deref() == Some(SWISS));
                        let fa = fa.unwrap_or_else(|| panic!("{v}: no Swiss {f}"));
                        assert!(
                            fa.anchors.iter().any(|a| a.probe == p.probe),
                            "{v}: {f} lacks {}",
                            p.probe
                        );
                    }
                }
            }
        }
        assert!(t.contains_key("go1.26.8") || t.keys().any(|k| k.starts_with("go1.26")));
    }

    #[test]
    fn swiss_anchors_take_the_first_toggle_only() {
        let src = "package maps\n\nfunc (m *Map) Delete(typ *abi.MapType, key unsafe.Pointer) {\n\tif m.writing != 0 {\n\t\tfatal(\"concurrent map writes\")\n\t}\n\tm.writing ^= 1 // toggle\n\tm.used--\n\tif m.writing == 0 {\n\t\tfatal(\"concurrent map writes\")\n\t}\n\tm.writing ^= 1\n}\n";
        let got = swiss_anchors_in_source(src, "src/internal/runtime/maps/map.go");
        assert_eq!(got.len(), 1);
        let f = &got[0];
        assert_eq!(f.function, "internal/runtime/maps.(*Map).Delete");
        assert_eq!(f.family.as_deref(), Some(SWISS));
        let a: Vec<(&str, Mode, u32)> = f
            .anchors
            .iter()
            .map(|a| (a.probe.as_str(), a.mode, a.line))
            .collect();
        assert_eq!(
            a,
            vec![
                ("writer-entry-checked", Mode::At, 7),
                ("writer-set-writing", Mode::After, 7),
                ("writer-end-check", Mode::At, 9),
            ]
        );
        assert_eq!(
            split_goroot("/usr/local/go/src/internal/runtime/maps/map.go"),
            Some(("/usr/local/go", "src/internal/runtime/maps/map.go"))
        );
        assert_eq!(
            runtime_rel("internal/runtime/maps/table.go").as_deref(),
            Some("src/internal/runtime/maps/table.go")
        );
    }
}
