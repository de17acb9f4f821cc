//! The Go side of the profile, per Go version: probes (against the Go sources, binutils
//! addr2line, and the map's state at each probe in a running program under gdb), the Go
//! version, constants, map type descriptors and goroutine layouts.
//!
//! Go 1.19 (Debian) is always tested; other versions when the go command has their toolchain
//! cached (a skip line says which are not).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

fn profile(bin: &Path) -> Value {
    json(&["profile", bin.to_str().unwrap()])
}

/// The Go runtime's statement each probe is anchored on, and whether the probe is at it or
/// after it: the oracle, written from the Go sources independently of the inspector's table.
const STATEMENTS: &[(&str, &str, bool)] = &[
    ("writer-entry-checked", "h.flags ^= hashWriting", true),
    ("writer-set-writing", "h.flags ^= hashWriting", false),
    ("writer-end-check", "if h.flags&hashWriting == 0 {", true),
    (
        "reader-entry-checked",
        "fatal(\"concurrent map read and map write\")",
        false,
    ),
    (
        "iter-entry-checked",
        "fatal(\"concurrent map iteration and map write\")",
        false,
    ),
    ("grow-started", "h.buckets = newbuckets", false),
    ("grow-finished", "h.oldbuckets = nil", false),
    ("evacuate-start", "if !evacuated(b) {", false),
    ("evacuate-marked", "b.tophash[i] = evacuatedX + useY", false),
    ("evacuate-copied", "dst.i++", true),
    ("delete-removed", "h.count--", false),
];

/// Which role's functions must have each probe (every copy in the binary).
fn probe_roles(probe: &str) -> &'static [&'static str] {
    match probe {
        "writer-entry-checked" | "writer-set-writing" | "writer-end-check" => {
            &["mapassign", "mapdelete", "mapclear"]
        }
        "reader-entry-checked" => &["mapaccess1", "mapaccess2"],
        "iter-entry-checked" => &["mapiternext"],
        "grow-started" => &["hashGrow"],
        "grow-finished" => &["advanceEvacuationMark"],
        "delete-removed" => &["mapdelete"],
        _ => &["evacuate"],
    }
}

fn source_line(goroot: &str, probe_file: &str, line: u64) -> String {
    let rel = &probe_file[probe_file.rfind("/src/runtime/").unwrap() + 1..];
    let text = std::fs::read_to_string(Path::new(goroot).join(rel)).unwrap();
    text.lines()
        .nth(line as usize - 1)
        .unwrap()
        .trim()
        .to_string()
}

fn check_probes(what: &str, bin: &Path, p: &Value) {
    assert_eq!(
        p["probe_source"]["kind"], "go-sources",
        "{what}: {}",
        p["probe_source"]
    );
    let goroot = p["probe_source"]["detail"].as_str().unwrap();
    let probes = p["probes"].as_object().unwrap();
    let role_fns: Vec<&Value> = p["roles"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|l| l.as_array().unwrap())
        .collect();
    let warnings: Vec<&str> = p["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let mut addrs = Vec::new();
    for &(name, statement, at) in STATEMENTS {
        // Every copy of every function that has the statement has the probe.
        let want: BTreeSet<&str> = role_fns
            .iter()
            .map(|f| f["function"].as_str().unwrap())
            .filter(|f| {
                let short = f.trim_start_matches("runtime.");
                probe_roles(name)
                    .iter()
                    .any(|r| short == *r || short.starts_with(&format!("{r}_fast")))
            })
            .collect();
        let list = probes
            .get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let have: BTreeSet<&str> = list
            .iter()
            .map(|x| x["function"].as_str().unwrap())
            .collect();
        assert_eq!(have, want, "{what}: functions with probe {name}");
        for pr in &list {
            let file = pr["file"].as_str().unwrap();
            let (line, marker) = (
                pr["line"].as_u64().unwrap(),
                pr["marker_line"].as_u64().unwrap(),
            );
            assert!(
                source_line(goroot, file, marker).starts_with(statement),
                "{what} {name} in {}: line {marker} of {file} is not `{statement}`",
                pr["function"]
            );
            if at {
                assert!(
                    line == marker
                        || warnings
                            .iter()
                            .any(|w| w.contains(&format!("{file}:{marker} has no code"))),
                    "{what} {name}: at-probe moved from {marker} to {line} without a warning"
                );
            } else {
                assert!(
                    line > marker,
                    "{what} {name}: after-probe at {line}, anchor {marker}"
                );
            }
            addrs.push((
                pr["address"].as_u64().unwrap(),
                format!("{file}:{line}"),
                pr["function"].as_str().unwrap().to_string(),
                name,
            ));
            // Its parameters' places at the address are those of the role function's lists.
            let f = role_fns
                .iter()
                .find(|f| f["symbol"] == pr["symbol"])
                .unwrap();
            for (q, fq) in pr["params"]
                .as_array()
                .unwrap()
                .iter()
                .zip(f["params"].as_array().unwrap())
            {
                let a = pr["address"].as_u64().unwrap();
                let want = fq["locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["low"].as_u64().unwrap() <= a && a < r["high"].as_u64().unwrap())
                    .map(|r| r["location"].clone())
                    .unwrap_or(Value::Null);
                assert_eq!(
                    q["location"], want,
                    "{what} {name}: {} at {a:#x}",
                    q["name"]
                );
            }
        }
    }
    // binutils addr2line (independent of the inspector's line reading; llvm-addr2line where
    // binutils 2.40 cannot read Go 1.25's DWARF 5 lines): each address is at the probe's line,
    // inside the probe's function (the outermost frame of the inline chain).
    for (a, loc, function, name) in &addrs {
        let addr = format!("{a:#x}");
        let args = ["-i", "-f", "-e", bin.to_str().unwrap(), addr.as_str()];
        let mut chain = sh("addr2line", &args);
        if chain.contains(":?") {
            chain = sh("llvm-addr2line", &args);
        }
        let lines: Vec<&str> = chain.lines().collect();
        let outer = lines[lines.len() - 2];
        assert_eq!(outer, function, "{what} {name} at {a:#x}: {chain}");
        assert!(
            lines
                .iter()
                .any(|l| l.split(" (").next() == Some(loc.as_str())),
            "{what} {name} at {a:#x}: {loc} not in {chain}"
        );
    }
    eprintln!("{what}: {} probe addresses checked", addrs.len());
}

#[test]
fn go_probes_match_the_sources_in_every_version() {
    let bins = all_go_binaries();
    for (what, bin) in &bins {
        let p = profile(bin);
        check_probes(what, bin, &p);
        // The built-in table gives the same probes without the sources.
        let t = json_env(
            &["profile", bin.to_str().unwrap()],
            &[("MAPSCOPE_GO_PROBES", "table")],
        );
        assert_eq!(t["probe_source"]["kind"], "go-table", "{what}");
        assert_eq!(
            t["probe_source"]["detail"].as_str().unwrap(),
            p["binary"]["go_version"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap(),
            "{what}"
        );
        assert_eq!(t["probes"], p["probes"], "{what}: table and sources differ");
    }
    if std::env::var("MAPSCOPE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        assert!(
            bins.iter().any(|(w, _)| w == "go1.19"),
            "Go 1.19 is required"
        );
    }
}

#[test]
fn go_table_is_generated_from_the_sources() {
    // The checked-in table equals `mapscope go-probe-table` over the GOROOTs at hand.
    let table: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/go_probe_table.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut roots: Vec<PathBuf> = Vec::new();
    if go().is_some() {
        roots.push(PathBuf::from("/usr/lib/go-1.19"));
    }
    for (version, _) in OTHER_GO {
        if let Some(go) = cached_toolchain(version) {
            roots.push(go.parent().unwrap().parent().unwrap().to_path_buf());
        }
    }
    for root in roots {
        let fresh = json(&["go-probe-table", root.to_str().unwrap()]);
        let (version, entry) = fresh.as_object().unwrap().iter().next().unwrap();
        assert_eq!(
            table.get(version),
            Some(entry),
            "regenerate src/go_probe_table.json: {version} differs"
        );
    }
}

#[test]
fn go_sources_of_another_version_are_refused() {
    // A binary built where Go lives at /usr/local/go (GOROOT_FINAL, as release builds do) names
    // /usr/local/go/src/runtime/map.go; on this machine that is another Go (1.26, no classic
    // maps). The version check refuses those sources and the table gives the same probes as
    // the binary's own sources do.
    let Some(go) = cached_toolchain("go1.21.13") else {
        return;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/maps.go");
    let env = [("GOROOT_FINAL", "/usr/local/go")];
    let elsewhere = go_build_with(&go, &env, &src, "maps-goroot-final", &[]);
    let here = go_build_with(&go, &[], &src, "maps-go1.21.13", &[]);
    let no_cache = [("GOMODCACHE", "/nonexistent"), ("GOPATH", "/nonexistent")];
    let p = json_env(&["profile", elsewhere.to_str().unwrap()], &no_cache);
    let file = p["probes"]["writer-set-writing"][0]["file"]
        .as_str()
        .unwrap();
    assert!(file.starts_with("/usr/local/go/src/runtime/"), "{file}");
    let installed = std::fs::read_to_string("/usr/local/go/VERSION").unwrap_or_default();
    if !installed.is_empty() && !installed.starts_with("go1.21.13") {
        let refused = p["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str()
                .unwrap()
                .contains("not the binary's Go version (go1.21.13): /usr/local/go is go1.")
        });
        assert!(refused, "{}", p["warnings"]);
    }
    assert_eq!(
        p["probe_source"],
        json!({"kind": "go-table", "detail": "go1.21.13"})
    );
    let q = profile(&here);
    assert_eq!(q["probe_source"]["kind"], "go-sources");
    let key = |v: &Value| -> BTreeMap<String, Vec<(String, u64, u64)>> {
        v["probes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, l)| {
                let mut l: Vec<(String, u64, u64)> = l
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| {
                        (
                            x["function"].as_str().unwrap().to_string(),
                            x["line"].as_u64().unwrap(),
                            x["marker_line"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                l.sort();
                (k.clone(), l)
            })
            .collect()
    };
    assert_eq!(key(&p), key(&q));
}

/// The map state each probe promises, as gdb expressions and their expected values: checked
/// at every hit of every probe of a running Go 1.19 program (single goroutine, so nothing else
/// touches the map between the statement and the stop). `$h` is the map header as the function
/// received it, saved by gdb at the function's entry: gdb's `h` later in the function follows
/// the location lists, which Go's compiler sometimes gets wrong (in `-N -l` mapdelete_fast64 it
/// says `h` is in RBX in a block after an early return, where RBX holds something else). Each expectation is a list of
/// alternatives; the first that gdb can read in scope at the stop is checked (Go's lexical
/// block ranges do not always cover the probe's pc, e.g. `dst` at `dst.i++`).
fn expectations(probe: &str) -> Vec<Vec<(&'static str, &'static str)>> {
    plain(probe)
        .into_iter()
        .map(|e| vec![e])
        .chain(more(probe))
        .collect()
}

fn more(probe: &str) -> Vec<Vec<(&'static str, &'static str)>> {
    match probe {
        "evacuate-copied" => vec![vec![
            ("dst.b.tophash[dst.i & 7] == top", "== 1"),
            ("b.tophash[i]", "evacuated X or Y"),
        ]],
        _ => vec![],
    }
}

fn plain(probe: &str) -> Vec<(&'static str, &'static str)> {
    match probe {
        "writer-entry-checked" | "reader-entry-checked" | "iter-entry-checked" => {
            vec![("$h.flags & 4", "== 0")]
        }
        "writer-set-writing" | "writer-end-check" => vec![("$h.flags & 4", "== 4")],
        "grow-started" => vec![
            ("$h.oldbuckets", "!= 0"),
            ("$h.buckets == newbuckets", "== 1"),
        ],
        "grow-finished" => vec![("$h.oldbuckets", "== 0")],
        "evacuate-start" => vec![("b.tophash[0]", "not evacuated")],
        "evacuate-marked" => vec![("b.tophash[i]", "evacuated X or Y")],
        "delete-removed" => vec![("b.tophash[i]", "empty")],
        _ => vec![],
    }
}

fn holds(value: u64, want: &str) -> bool {
    match want {
        "== 0" => value == 0,
        "== 1" => value == 1,
        "== 4" => value == 4,
        "!= 0" => value != 0,
        "not evacuated" => !(2..=4).contains(&value),
        "evacuated X or Y" => value == 2 || value == 3,
        "empty" => value <= 1,
        _ => unreachable!(),
    }
}

#[test]
fn go_probe_states_hold_at_runtime() {
    if !have("gdb") {
        eprintln!("skip: gdb missing");
        return;
    }
    for (what, bin) in [("-N -l", go_binary_noopt()), ("optimised", go_binary())] {
        let Some(bin) = bin else { return };
        let p = profile(&bin);
        let mut stops = Vec::new();
        let mut probe_at: BTreeMap<u64, String> = BTreeMap::new();
        // At each role function's entry (parameters in their ABI registers) save the header.
        let mut entries: BTreeSet<(u64, bool)> = BTreeSet::new();
        for list in p["probes"].as_object().unwrap().values() {
            for pr in list.as_array().unwrap() {
                let f = p["roles"]
                    .as_object()
                    .unwrap()
                    .values()
                    .flat_map(|l| l.as_array().unwrap())
                    .find(|f| f["symbol"] == pr["symbol"])
                    .unwrap();
                entries.insert((
                    f["address"].as_u64().unwrap(),
                    f["function"] == "runtime.mapiternext",
                ));
            }
        }
        for (entry, iter) in entries {
            let save = if iter { "set $h = it.h" } else { "set $h = h" };
            stops.push(json!({"pc": entry, "vars": [], "commands": [save], "silent": true, "max_hits": 1000000}));
        }
        for (name, list) in p["probes"].as_object().unwrap() {
            let exprs: Vec<&str> = expectations(name)
                .iter()
                .flat_map(|alts| alts.iter().map(|e| e.0))
                .collect();
            for pr in list.as_array().unwrap() {
                let a = pr["address"].as_u64().unwrap();
                probe_at.insert(a, name.clone());
                stops.push(json!({"pc": a, "cfa": pr["cfa"], "vars": [], "gdb_exprs": exprs}));
            }
        }
        let records = run_harness(&bin, stops, &format!("probes-{}", what.replace(' ', "")));
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut unreadable = 0;
        for r in &records {
            let name = &probe_at[&r["pc"].as_u64().unwrap()];
            for alts in expectations(name) {
                let readable = alts.iter().find_map(|(expr, want)| {
                    let v = r["reads"][format!("gdb:{expr}")].as_u64()?;
                    Some((expr, want, v))
                });
                match readable {
                    Some((expr, want, v)) => {
                        assert!(
                            holds(v, want),
                            "{what}: at {name} ({:#x}) {expr} = {v}, want {want}",
                            r["pc"].as_u64().unwrap()
                        );
                        *seen.entry(name.clone()).or_default() += 1;
                    }
                    // Optimised code may have no place for a local here (gdb says so).
                    None => {
                        assert_eq!(
                            what, "optimised",
                            "{name}: gdb could not read {alts:?}: {r}"
                        );
                        unreadable += 1;
                    }
                }
            }
        }
        eprintln!("{what}: states checked per probe {seen:?}; {unreadable} unreadable");
        if what == "-N -l" {
            // The program writes, grows, evacuates, deletes, reads and iterates.
            for name in [
                "writer-entry-checked",
                "writer-set-writing",
                "writer-end-check",
                "reader-entry-checked",
                "iter-entry-checked",
                "grow-started",
                "grow-finished",
                "evacuate-start",
                "evacuate-marked",
                "evacuate-copied",
                "delete-removed",
            ] {
                assert!(
                    seen.get(name).copied().unwrap_or(0) > 0,
                    "{what}: {name} never checked"
                );
            }
        } else {
            assert!(seen.values().sum::<usize>() > 20, "{what}: {seen:?}");
        }
    }
}

#[test]
fn go_version_and_constants_by_version() {
    for (what, bin) in all_go_binaries() {
        let p = profile(&bin);
        // `go version BIN` reads the same build information.
        let theirs = sh("go", &["version", bin.to_str().unwrap()]);
        let theirs = theirs.split(": ").nth(1).map(str::trim).unwrap_or("");
        let ours = p["binary"]["go_version"].as_str().unwrap();
        if !theirs.is_empty() && !theirs.contains("unrecognized") {
            assert_eq!(ours, theirs, "{what}");
        }
        let c = &p["constants"];
        assert_eq!(c["source"], "dwarf", "{what}: {c}");
        assert_eq!(c["bucket_count"], 8, "{what}");
        assert_eq!(c["flags"]["hashWriting"], 4, "{what}");
        assert_eq!(c["tophash"]["evacuatedEmpty"], 4, "{what}");
        // Go 1.21 computed the load factor as 6 by accident (golang/go#63438).
        let lf = if ours.starts_with("go1.21.") {
            6.0
        } else {
            6.5
        };
        assert_eq!(c["load_factor"], lf, "{what}");
        let sources = c["sources"].as_object().unwrap();
        assert!(sources.values().all(Value::is_string), "{what}: {c}");
        if ours.starts_with("go1.23.") {
            assert_eq!(
                sources["bucket_count"], "internal/abi.MapBucketCount",
                "{what}"
            );
        }
        if ours.starts_with("go1.19.") {
            assert_eq!(sources["bucket_count"], "runtime.bucketCnt", "{what}");
        }
    }
}

#[test]
fn go_type_descriptors_are_map_types() {
    let Some(bin) = go_binary() else { return };
    if !have("gdb") {
        eprintln!("skip: gdb missing");
        return;
    }
    let p = profile(&bin);
    let buckets = p["layouts"]["buckets"].as_array().unwrap();
    let i64map = buckets
        .iter()
        .find(|b| b["map_type"] == "map[int64]int64")
        .expect("map[int64]int64");
    assert_eq!(i64map["name"], "bucket<int64,int64>");
    // Statically: each descriptor is a map type's descriptor (kind 21, low 5 bits of the kind
    // byte at offset 23 of abi.Type) in the binary's type section.
    let mut args: Vec<String> = vec![
        "-nx".into(),
        "-batch".into(),
        "-iex".into(),
        "set auto-load no".into(),
    ];
    let descs: Vec<u64> = buckets
        .iter()
        .filter_map(|b| b["type_descriptor"].as_u64())
        .collect();
    assert!(descs.len() >= 3, "{descs:?}");
    for d in &descs {
        args.extend(["-ex".into(), format!("x/1bx {:#x}", d + 23)]);
        args.extend(["-ex".into(), format!("info symbol {d:#x}")]);
    }
    args.push(bin.display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sh("gdb", &refs);
    let kinds: Vec<u64> = out
        .lines()
        .filter_map(|l| l.split(":\t").nth(1))
        .filter_map(|b| u64::from_str_radix(b.trim().trim_start_matches("0x"), 16).ok())
        .collect();
    assert_eq!(kinds.len(), descs.len(), "{out}");
    assert!(kinds.iter().all(|k| k & 31 == 21), "{out}");
    assert_eq!(
        out.matches("in section .rodata").count(),
        descs.len(),
        "{out}"
    );
    // At run time: the `t` argument of mapassign_fast64 is always the descriptor of a map type
    // with 8-byte keys, and the program's map[int64]int64 is among them.
    let f = p["roles"]["assign"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "runtime.mapassign_fast64")
        .unwrap();
    let entry = f["address"].as_u64().unwrap();
    let t = f["params"][0]["locations"][0].clone();
    assert_eq!(t["low"], entry);
    let stops = vec![json!({"pc": entry, "cfa": null, "vars": [],
        "reads": [{"label": "t", "location": t["location"], "size": 8}]})];
    let spec_hits = run_harness_hits(&bin, stops, "descriptors", 1000);
    let fast64: BTreeSet<u64> = buckets
        .iter()
        .filter(|b| b["key_size"] == 8 && !b["key_type"].as_str().unwrap().contains("string"))
        .filter_map(|b| b["type_descriptor"].as_u64())
        .collect();
    let seen: BTreeSet<u64> = spec_hits
        .iter()
        .map(|r| r["reads"]["t"].as_u64().unwrap())
        .collect();
    assert!(!seen.is_empty());
    assert!(
        seen.is_subset(&fast64),
        "seen {seen:x?}, descriptors {fast64:x?}"
    );
    assert!(seen.contains(&i64map["type_descriptor"].as_u64().unwrap()));
}

#[test]
fn go_goroutine_layouts_find_g_and_thread() {
    let Some(bin) = go_binary() else { return };
    if !have("gdb") {
        eprintln!("skip: gdb missing");
        return;
    }
    let p = profile(&bin);
    let rt = &p["runtime"];
    assert_eq!(rt["g_register"], "r14");
    assert_eq!(rt["g_tls"], json!({"register": "fs_base", "offset": -8}));
    assert_eq!(rt["goroutine_status"]["_Grunning"], 2);
    for f in ["goid", "m", "atomicstatus", "startpc", "gopc", "labels"] {
        assert!(rt["g"]["fields"][f]["offset"].is_u64(), "g.{f}");
    }
    // Offsets equal llvm-dwarfdump's (an independent DWARF reader).
    if have("llvm-dwarfdump") {
        for (ty, key) in [("runtime.g", "g"), ("runtime.m", "m")] {
            let (_, members) = dwarfdump_struct(&bin, ty).unwrap();
            for (name, field) in rt[key]["fields"].as_object().unwrap() {
                let theirs = members.iter().find(|m| m.0 == *name).unwrap();
                assert_eq!(field["offset"].as_u64(), Some(theirs.1), "{ty}.{name}");
            }
        }
    }
    // At run time in main.main (the main goroutine, goid 1, on m0) and in the map runtime: the
    // TLS slot and r14 hold the same g; g.m.procid is the thread's LWP as gdb knows it.
    let lines = json(&["lines", bin.to_str().unwrap(), "maps.go:10", "--json"]);
    let main = lines[0]["locations"][0]["address"].as_u64().unwrap();
    assert_eq!(lines[0]["locations"][0]["function"], "main.main");
    let assign = p["roles"]["assign"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "runtime.mapassign_fast64")
        .unwrap()["breakpoint_address"]
        .as_u64()
        .unwrap();
    let stops = vec![
        json!({"pc": main, "cfa": null, "vars": []}),
        json!({"pc": assign, "cfa": null, "vars": []}),
    ];
    let records = run_harness_with(&bin, stops, "goroutines", 2, Some(rt.clone()));
    assert!(records.len() >= 2, "{records:?}");
    for r in &records {
        let g = &r["g"];
        assert_ne!(g["tls_g"], 0, "{r}");
        assert_eq!(g["tls_g"], g["reg_g"], "{r}");
        assert_eq!(g["procid"], g["lwp"], "{r}");
        if r["pc"] == main {
            assert_eq!(g["goid"], 1, "{r}");
            assert_eq!(g["curg"], g["tls_g"], "{r}");
            assert_eq!(g["mid"], 0, "{r}");
        }
    }
}
