//! The `go-swiss` profile of Go binaries with Swiss-table maps: Go 1.26 (required under
//! MAPSCOPE_REQUIRE_FIXTURES), 1.24 and 1.25 when their toolchains are cached. Oracles:
//! llvm-dwarfdump (layouts, constants), nm (roles), the Go sources and addr2line (probes), the
//! running program under gdb (the map type descriptors are what the runtime passes as `typ`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Go 1.26's go command: /usr/local/go (or $MAPSCOPE_GO126).
fn go126() -> Option<PathBuf> {
    let go = PathBuf::from(
        std::env::var("MAPSCOPE_GO126").unwrap_or_else(|_| "/usr/local/go/bin/go".into()),
    );
    let ok = Command::new(&go)
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("go1.26"))
        .unwrap_or(false);
    if ok {
        return Some(go);
    }
    if std::env::var("MAPSCOPE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("Go 1.26 is required at {} (MAPSCOPE_GO126)", go.display());
    }
    eprintln!("skip: Go 1.26 is not installed at {}", go.display());
    None
}

fn swiss_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/go/{name}"))
}

/// (what, binary) of every Swiss build at hand: Go 1.26 unoptimised checkpoints and optimised
/// maps.go, and the same two with 1.24 and 1.25 when cached.
fn builds() -> Vec<(String, PathBuf)> {
    let mut gos = Vec::new();
    if let Some(go) = go126() {
        gos.push(("go1.26".to_string(), go));
    }
    for v in ["go1.24.13", "go1.25.7"] {
        if let Some(go) = cached_toolchain(v) {
            gos.push((v.to_string(), go));
        }
    }
    let mut out = Vec::new();
    for (v, go) in gos {
        out.push((
            format!("{v} checkpoints -N -l"),
            go_build_with(
                &go,
                &[],
                &swiss_src("swiss/checkpoints.go"),
                &format!("swiss-checkpoints-{v}"),
                &["-gcflags=all=-N -l"],
            ),
        ));
        out.push((
            format!("{v} maps.go optimised"),
            go_build_with(
                &go,
                &[],
                &swiss_src("maps.go"),
                &format!("swiss-maps-{v}"),
                &[],
            ),
        ));
    }
    out
}

fn schema() -> jsonschema::JSONSchema {
    let text = std::fs::read_to_string(workspace().join("docs/profile.schema.json"))
        .expect("docs/profile.schema.json");
    let v: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::JSONSchema::compile(&v).expect("schema compiles")
}

fn profile(bin: &Path) -> Value {
    json(&["profile", bin.to_str().unwrap()])
}

fn group<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["layouts"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

/// `name -> value` of the DW_TAG_constant entries named `names`, as llvm-dwarfdump shows them.
fn dwarf_constants(bin: &Path, names: &[&str]) -> std::collections::HashMap<String, i64> {
    let mut args: Vec<String> = names.iter().map(|n| format!("--name={n}")).collect();
    args.push(bin.to_str().unwrap().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sh("llvm-dwarfdump", &args);
    let mut found = std::collections::HashMap::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.contains("DW_TAG_constant") {
            continue;
        }
        let (mut name, mut value) = (None, None);
        for l in lines.by_ref() {
            let t = l.trim();
            if t.is_empty() {
                break;
            }
            if t.starts_with("DW_AT_name") {
                name = t.split('"').nth(1).map(str::to_string);
            } else if t.starts_with("DW_AT_const_value") {
                value = t
                    .split('(')
                    .nth(1)
                    .and_then(|s| s.trim_end_matches(')').parse::<i64>().ok());
            }
        }
        if let (Some(n), Some(v)) = (name, value) {
            found.insert(n, v);
        }
    }
    found
}

#[test]
fn swiss_profiles_validate_and_have_dwarfs_layouts_and_constants() {
    let schema = schema();
    for (what, bin) in builds() {
        let p = profile(&bin);
        if let Err(errors) = schema.validate(&p) {
            let msgs: Vec<String> = errors
                .map(|e| format!("{} at {}", e, e.instance_path))
                .collect();
            panic!("{what} does not validate:\n{}", msgs.join("\n"));
        }
        assert_eq!(p["family"], "go-swiss", "{what}");
        assert_eq!(p["layouts"]["buckets"], serde_json::json!([]));
        // Layouts vs llvm-dwarfdump, member by member.
        for (key, ty) in [
            ("header", "internal/runtime/maps.Map"),
            ("table", "internal/runtime/maps.table"),
            ("groups_reference", "internal/runtime/maps.groupsReference"),
        ] {
            let ours = if key == "header" {
                &p["layouts"]["header"][0]
            } else {
                &p["layouts"][key]
            };
            assert_eq!(ours["name"], ty);
            let (size, theirs) = dwarfdump_struct(&bin, ty).expect(ty);
            assert_eq!(ours["size"].as_u64(), Some(size), "{what} {ty}");
            for (name, offset, _) in &theirs {
                assert_eq!(
                    ours["fields"][name]["offset"].as_u64(),
                    Some(*offset),
                    "{what} {ty}.{name}"
                );
            }
            assert_eq!(ours["fields"].as_object().unwrap().len(), theirs.len());
        }
        let g = group(&p, "noalg.map.group[int64]int64");
        let (size, theirs) = dwarfdump_struct(&bin, "noalg.map.group[int64]int64").unwrap();
        assert_eq!(g["size"].as_u64(), Some(size));
        let slots = theirs.iter().find(|m| m.0 == "slots").unwrap();
        assert_eq!(g["slots_offset"].as_u64(), Some(slots.1));
        assert_eq!(
            g["ctrl_offset"].as_u64(),
            Some(theirs.iter().find(|m| m.0 == "ctrl").unwrap().1)
        );
        let slot_name = g["slot"]["name"].as_str().unwrap();
        let (slot_size, slot) = dwarfdump_struct(&bin, slot_name).unwrap();
        assert_eq!(g["slot_size"].as_u64(), Some(slot_size));
        assert_eq!(g["key_offset"].as_u64(), Some(slot[0].1));
        assert_eq!(g["elem_offset"].as_u64(), Some(slot[1].1));
        assert_eq!(g["map_type"], "map[int64]int64");
        assert!(g["type_descriptor"].as_u64().is_some(), "{what}");
        // Indirect elems: a slot holds a pointer to the value.
        let big_name = if what.contains("checkpoints") {
            "noalg.map.group[string]main.Big"
        } else {
            "noalg.map.group[int32]main.Big"
        };
        let big = group(&p, big_name);
        assert_eq!(big["elem_indirect"], true);
        assert_eq!(big["elem_size"], 8);
        assert!(big["elem_slot_type"].as_str().unwrap().starts_with('*'));
        // Constants: the DWARF's, under each version's names.
        let c = &p["constants"];
        let sources: Vec<&str> = c["sources"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_str)
            .collect();
        let dc = dwarf_constants(&bin, &sources);
        for (key, value) in [
            ("slots_per_group", &c["slots_per_group"]),
            ("ctrl.empty", &c["ctrl"]["empty"]),
            ("ctrl.deleted", &c["ctrl"]["deleted"]),
            ("max_table_capacity", &c["max_table_capacity"]),
            ("max_avg_group_load", &c["max_avg_group_load"]),
        ] {
            let source = c["sources"][key].as_str().expect(key);
            assert_eq!(
                value.as_i64(),
                dc.get(source).copied(),
                "{what} {key} from {source}"
            );
        }
        assert_eq!(c["ctrl"]["empty"], 128);
        assert_eq!(c["ctrl"]["deleted"], 254);
        assert_eq!(c["load_factor"], 0.875);
        let v126 = what.starts_with("go1.26");
        assert_eq!(
            c["sources"]["slots_per_group"],
            if v126 {
                "internal/abi.MapGroupSlots"
            } else {
                "internal/abi.SwissMapGroupSlots"
            }
        );
        // Go 1.26 dropped bitsetDeleted: null, and said so.
        assert_eq!(c["bitset"]["deleted"].is_null(), v126, "{what}");
        let warned = p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("bitset.deleted"));
        assert_eq!(warned, v126, "{what}");
    }
}

#[test]
fn swiss_roles_and_probes_match_symbols_and_sources() {
    for (what, bin) in builds() {
        let p = profile(&bin);
        let nm = nm(&bin);
        let roles = p["roles"].as_object().unwrap();
        let mut names: Vec<&str> = roles.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, mapscope::roles::SWISS_ROLE_NAMES);
        for (role, must) in [
            ("assign", "runtime.mapassign_fast64"),
            ("access", "runtime.mapaccess2_fast64"),
            ("delete", "internal/runtime/maps.(*Map).Delete"),
            ("iterate", "internal/runtime/maps.(*Iter).Next"),
            ("grow", "internal/runtime/maps.(*table).grow"),
            ("grow", "internal/runtime/maps.(*Map).growToTable"),
            ("split", "internal/runtime/maps.(*table).split"),
            ("fatal", "runtime.fatal"),
        ] {
            let list = roles[role].as_array().unwrap();
            if role == "access" && what.contains("checkpoints") {
                continue; // the checkpoints program reads with mapaccess2_fast64 only in check()
            }
            assert!(
                list.iter().any(|r| r["function"] == must),
                "{what}: {role} lacks {must}"
            );
        }
        for r in roles.values().flat_map(|l| l.as_array().unwrap()) {
            assert_eq!(
                nm.get(r["symbol"].as_str().unwrap()).copied(),
                r["address"].as_u64(),
                "{r}"
            );
            // The map and its type, where the conditions look for them.
            let params: Vec<&str> = r["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["name"].as_str().unwrap())
                .collect();
            if r["function"]
                .as_str()
                .unwrap()
                .starts_with("runtime.mapassign")
            {
                assert_eq!(params[..2], ["typ", "m"], "{what} {r}");
                assert!(r["breakpoint_address"].as_u64().is_some());
            }
        }
        // Probes: each one's statement is on its marker line of the sources, and addr2line puts
        // its address on its line, in its function.
        let mut checked = 0;
        for (name, list) in p["probes"].as_object().unwrap() {
            let pattern = mapscope::go_probes::SWISS_PATTERNS
                .iter()
                .find(|x| x.probe == name)
                .unwrap_or_else(|| panic!("{what}: unknown probe {name}"));
            for probe in list.as_array().unwrap() {
                let file = probe["file"].as_str().unwrap();
                let text = std::fs::read_to_string(file).expect(file);
                let marker = probe["marker_line"].as_u64().unwrap() as usize;
                let line = text.lines().nth(marker - 1).unwrap().trim();
                let statement = mapscope::go_probes::SWISS_PATTERNS
                    .iter()
                    .filter(|x| x.probe == name)
                    .map(|x| x.statement)
                    .find(|s| line.starts_with(s));
                assert!(
                    statement.is_some(),
                    "{what} {name}: line {marker} of {file} is {line:?}, not {:?}",
                    pattern.statement
                );
                let addr = format!("{:#x}", probe["address"].as_u64().unwrap());
                let args = ["-i", "-f", "-e", bin.to_str().unwrap(), addr.as_str()];
                let mut out = sh("addr2line", &args);
                if out.contains(":?") {
                    out = sh("llvm-addr2line", &args);
                }
                let want = format!("{file}:{}", probe["line"]);
                assert!(
                    out.lines()
                        .any(|l| l.split(" (").next() == Some(want.as_str())),
                    "{what} {name} at {addr}: {want} not in {out}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 20, "{what}: only {checked} probe addresses");
        for name in [
            "writer-entry-checked",
            "writer-set-writing",
            "writer-end-check",
            "reader-entry-checked",
            "iter-entry-checked",
            "grow-started",
            "grow-finished",
            "split-started",
            "split-finished",
        ] {
            assert!(p["probes"].get(name).is_some(), "{what}: no {name}");
        }
        // The built-in table gives the same probes without the sources.
        let t = json_env(
            &["profile", bin.to_str().unwrap()],
            &[("MAPSCOPE_GO_PROBES", "table")],
        );
        assert_eq!(t["probe_source"]["kind"], "go-table", "{what}");
        assert_eq!(t["probes"], p["probes"], "{what}: table and sources differ");
    }
}

#[test]
fn swiss_table_entry_is_generated_from_the_go126_sources() {
    let Some(go) = go126() else { return };
    let root = go.parent().unwrap().parent().unwrap();
    let fresh = json(&["go-probe-table", root.to_str().unwrap()]);
    let (version, entry) = fresh.as_object().unwrap().iter().next().unwrap();
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/go_probe_table.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        &table[version], entry,
        "regenerate src/go_probe_table.json: {version} differs"
    );
    // 1.26 has Swiss maps only: no classic entries.
    assert!(entry
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["family"] == "go-swiss"));
}

#[test]
fn swiss_descriptors_are_what_the_runtime_passes() {
    // In an optimised build the compiler keeps no `map[int64]int64` typedef: the descriptor is
    // found in the type section by its group type. The runtime passes it to
    // mapassign_fast64 in RAX (ABIInternal's first argument), at the entry.
    let Some(go) = go126() else { return };
    if !have("gdb") {
        eprintln!("skip: gdb missing");
        return;
    }
    let bin = go_build_with(&go, &[], &swiss_src("maps.go"), "swiss-maps-go1.26", &[]);
    let p = profile(&bin);
    let want = group(&p, "noalg.map.group[int64]int64")["type_descriptor"]
        .as_u64()
        .unwrap();
    let entry = p["roles"]["assign"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["function"] == "runtime.mapassign_fast64")
        .unwrap()["address"]
        .as_u64()
        .unwrap();
    let out = sh(
        "gdb",
        &[
            "-nx",
            "-batch",
            "-ex",
            &format!("break *{entry:#x}"),
            "-ex",
            "run",
            "-ex",
            "printf \"RAX %#lx\\n\", $rax",
            "-ex",
            "kill",
            bin.to_str().unwrap(),
        ],
    );
    let rax = out
        .lines()
        .find_map(|l| l.strip_prefix("RAX "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        u64::from_str_radix(rax.trim_start_matches("0x"), 16).ok(),
        Some(want)
    );
}
