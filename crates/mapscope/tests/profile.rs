//! `mapscope profile`: schema validity, layouts, role addresses (vs nm -C) and
//! probe points (vs the source markers and binutils addr2line), for gomap and Go.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn schema() -> jsonschema::JSONSchema {
    let text = std::fs::read_to_string(workspace().join("docs/profile.schema.json"))
        .expect("docs/profile.schema.json");
    let v: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::JSONSchema::compile(&v).expect("schema compiles")
}

fn assert_valid(profile: &Value, what: &str) {
    let s = schema();
    if let Err(errors) = s.validate(profile) {
        let msgs: Vec<String> = errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        panic!("{what} does not validate:\n{}", msgs.join("\n"));
    };
}

fn profile(bin: &Path) -> Value {
    json(&["profile", bin.to_str().unwrap()])
}

#[test]
fn schema_rejects_bad_profiles() {
    // The schema must be able to fail: break a valid-looking document in several ways.
    let Some(bin) = gomap_target() else { return };
    let good = profile(&bin);
    assert_valid(&good, "gomap-target profile");
    let s = schema();
    let mut bad = good.clone();
    bad["schema_version"] = 2.into();
    assert!(!s.is_valid(&bad));
    let mut bad = good.clone();
    bad["layouts"]["header"][0]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("oldbuckets");
    assert!(!s.is_valid(&bad));
    let mut bad = good.clone();
    bad["roles"].as_object_mut().unwrap().remove("evacuate");
    assert!(!s.is_valid(&bad));
    let mut bad = good.clone();
    bad["family"] = "java".into();
    assert!(!s.is_valid(&bad));
    // The additive keys are checked too when present.
    let mut bad = good.clone();
    bad["probe_source"]["kind"] = "guess".into();
    assert!(!s.is_valid(&bad));
    let mut bad = good.clone();
    bad["roles"]["evacuate"][0]["params"][0]["locations"] =
        serde_json::json!([{"low": 1, "high": 2, "location": {"cfa": "eight"}}]);
    assert!(!s.is_valid(&bad));
    let mut bad = good.clone();
    bad["roles"]["evacuate"][0]["params"][0]["locations"] =
        serde_json::json!([{"low": 1, "high": 2, "location": {"register": "rsp", "cfa": 8}}]);
    assert!(!s.is_valid(&bad));
    let mut bad = good;
    bad["layouts"]["map_handle"][0]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("header");
    assert!(!s.is_valid(&bad));
}

#[test]
fn example_profiles_validate() {
    let dir = workspace().join("docs/examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("docs/examples") {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_valid(&v, &p.display().to_string());
        n += 1;
    }
    assert!(n >= 2, "expected a gomap and a go example in docs/examples");
}

fn check_gomap_profile(bin: &Path, p: &Value) {
    assert_valid(p, &bin.display().to_string());
    assert_eq!(p["family"], "gomap");
    // Identity: build-id equals readelf's note.
    let notes = sh("readelf", &["-n", bin.to_str().unwrap()]);
    let want = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .map(str::trim);
    assert_eq!(p["binary"]["build_id"].as_str(), want);
    assert_eq!(
        p["binary"]["size"].as_u64(),
        Some(std::fs::metadata(bin).unwrap().len())
    );
    // Layouts: REFERENCE.md's offsets for every header instantiation.
    for h in p["layouts"]["header"].as_array().unwrap() {
        assert_eq!(h["size"], 48);
        for &(f, o) in HMAP_OFFSETS {
            assert_eq!(h["fields"][f]["offset"], o, "{} {f}", h["name"]);
        }
    }
    for x in p["layouts"]["extra"].as_array().unwrap() {
        assert_eq!(x["fields"]["nextOverflow"]["offset"], 16);
        assert_eq!(x["fields"]["nextOverflow"]["name"], "next_overflow");
    }
    // Buckets: overflow pointer at bucketsize - ptrsize; keys after 8 tophash bytes; elems after 8 keys.
    for b in p["layouts"]["buckets"].as_array().unwrap() {
        let f = &b["fields"];
        let (ks, es, size) = (
            b["key_size"].as_u64().unwrap(),
            b["elem_size"].as_u64().unwrap(),
            b["size"].as_u64().unwrap(),
        );
        assert_eq!(f["keys"]["offset"], 8);
        assert!(f["elems"]["offset"].as_u64().unwrap() >= 8 + 8 * ks);
        assert_eq!(
            f["overflow"]["offset"].as_u64().unwrap(),
            size - 8,
            "{}",
            b["name"]
        );
        assert!(es <= 128 && ks <= 128);
        let indirect = b["elem_type"]
            .as_str()
            .unwrap()
            .starts_with("gomap::key::Indirect<")
            || b["elem_type"]
                .as_str()
                .unwrap()
                .starts_with("gomap::Indirect<");
        assert_eq!(b["elem_indirect"].as_bool(), Some(indirect));
        assert!(b["header"].is_string(), "bucket {} has a header", b["name"]);
    }
    // Roles: addresses equal nm's, and every gomap::runtime role symbol in nm is listed.
    let demangled = sh("nm", &["-C", bin.to_str().unwrap()]);
    let variants = [
        ("assign", "assign|assign_fast64|assign_faststr"),
        ("evacuate", "evacuate|evacuate_fast64|evacuate_faststr"),
        ("grow_work", "grow_work|grow_work_fast64|grow_work_faststr"),
        ("hash_grow", "hash_grow"),
        ("iterate", "iter_next"),
        ("delete", "delete|delete_fast64|delete_faststr"),
        ("advance_evacuation_mark", "advance_evacuation_mark"),
    ];
    for (role, names) in variants {
        let names: Vec<&str> = names.split('|').collect();
        let want: BTreeSet<u64> = demangled
            .lines()
            .filter_map(|l| {
                let mut it = l.splitn(3, ' ');
                let (a, _k, n) = (it.next()?, it.next()?, it.next()?);
                let path = match n.rsplit_once("::h") {
                    Some((p, h)) if h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()) => p,
                    _ => n,
                };
                let last = path.rsplit("::").next()?;
                (path.starts_with("gomap::runtime::") && names.contains(&last))
                    .then(|| u64::from_str_radix(a, 16).ok())?
            })
            .collect();
        let mine: BTreeSet<u64> = p["roles"][role]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["address"].as_u64().unwrap())
            .collect();
        assert!(
            !mine.is_empty() || role == "iterate" || role == "delete",
            "role {role} empty"
        );
        assert_eq!(mine, want, "role {role}");
    }
    // Probes: the required names exist; each address is, per binutils addr2line, inside the
    // probe's function and at the probe's line (directly or as an inlined call site); the
    // marker line really holds `// probe: NAME`; the probe line is the first code line after it.
    for (name, role) in [
        ("writer-entry-checked", "assign"),
        ("writer-set-writing", "assign"),
        ("reader-entry-checked", "access"),
        ("evacuate-marked", "evacuate"),
        ("evacuate-copied", "evacuate"),
        ("grow-started", "hash_grow"),
    ] {
        if p["roles"][role].as_array().unwrap().is_empty() {
            assert!(p["probes"][name].is_null(), "{name} without {role}");
            continue;
        }
        let list = p["probes"][name]
            .as_array()
            .unwrap_or_else(|| panic!("probe {name} missing"));
        assert!(!list.is_empty());
        for pr in list {
            let file = pr["file"].as_str().unwrap();
            let line = pr["line"].as_u64().unwrap() as usize;
            let marker = pr["marker_line"].as_u64().unwrap() as usize;
            let text = std::fs::read_to_string(file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[marker - 1].trim(), format!("// probe: {name}"));
            let first_code = (marker..lines.len()).find(|&i| {
                let t = lines[i].trim();
                !t.is_empty() && !t.starts_with("//")
            });
            if first_code.map(|i| i + 1) != Some(line) {
                // Allowed only when the profile says so (a marker before a statement with no code).
                let warned = p["warnings"].as_array().unwrap().iter().any(|w| {
                    w.as_str().unwrap().contains(&format!(
                        "probe `{name}` at {file}:{marker}: the statement on line {}",
                        first_code.unwrap() + 1
                    ))
                });
                assert!(
                    warned,
                    "{name} in {}: {file}:{marker} resolved to {line}, no warning: {:#}",
                    pr["function"], p["warnings"]
                );
            }
            let chain = sh(
                "addr2line",
                &[
                    "-i",
                    "-f",
                    "-C",
                    "-e",
                    bin.to_str().unwrap(),
                    &format!("{:#x}", pr["address"].as_u64().unwrap()),
                ],
            );
            assert!(chain.contains(&format!("{file}:{line}")), "{name}: {chain}");
            let outer = chain.lines().rev().nth(1).unwrap_or("");
            assert_eq!(outer, pr["function"].as_str().unwrap(), "{name}: {chain}");
        }
    }
    // Role-level expectations: writers' probes are in assign/delete/clear, the reader's in access.
    for (probe, role) in [
        ("reader-entry-checked", "access"),
        ("evacuate-marked", "evacuate"),
        ("grow-started", "hash_grow"),
    ] {
        for pr in p["probes"][probe]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            assert_eq!(pr["role"], role, "{probe}");
        }
    }
}

#[test]
fn gomap_profile_is_right() {
    let Some(bin) = gomap_target() else { return };
    let p = profile(&bin);
    check_gomap_profile(&bin, &p);
    // This program instantiates four maps: one bucket layout each.
    let names: BTreeSet<&str> = p["layouts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let big = p["layouts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["key_type"] == "u32")
        .unwrap();
    assert_eq!(big["elem_indirect"], true);
    assert_eq!(big["elem_size"], 8);
    let bigkey = p["layouts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["elem_type"] == "u8")
        .unwrap();
    assert_eq!(bigkey["key_indirect"], true);
    // -o writes the same document, whole: a new file renamed over the old one (a debugger may
    // be reading it), nothing else left in the directory.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("profile-o");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("p.json");
    std::fs::write(&out, "old").unwrap();
    ok(&[
        "profile",
        bin.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, p);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![std::ffi::OsString::from("p.json")]);
}

#[test]
fn fixture_profiles_are_right() {
    let mut any = false;
    for name in [
        "concurrent-writes",
        "grow",
        "read-write",
        "iterate-write",
        "evacuate-race",
        "ghost-read",
    ] {
        let Some(bin) = fixture(name) else { continue };
        any = true;
        check_gomap_profile(&bin, &profile(&bin));
    }
    if !any {
        eprintln!("note: no fixture binaries built; only gomap-target was checked");
    }
}

fn go_bin() -> Option<PathBuf> {
    go_binary()
}

#[test]
fn go_offsets_equal_llvm_dwarfdump_and_reference() {
    let Some(bin) = go_bin() else { return };
    for (ty, want) in [
        ("runtime.hmap", HMAP_OFFSETS.to_vec()),
        (
            "runtime.mapextra",
            vec![("overflow", 0), ("oldoverflow", 8), ("nextOverflow", 16)],
        ),
        (
            "bucket<int64,int64>",
            vec![
                ("tophash", 0),
                ("keys", 8),
                ("values", 72),
                ("overflow", 136),
            ],
        ),
    ] {
        let mine = layouts(&bin, ty, false);
        assert_eq!(mine.len(), 1, "{ty}");
        let m = members(&mine[0]);
        let offs: Vec<(String, u64)> = m.iter().map(|x| (x.0.clone(), x.1)).collect();
        let want: Vec<(String, u64)> = want.into_iter().map(|(a, b)| (a.to_string(), b)).collect();
        assert_eq!(offs, want, "{ty} vs REFERENCE.md");
        if have("llvm-dwarfdump") {
            let (size, dd) = dwarfdump_struct(&bin, ty).expect("llvm-dwarfdump shows the type");
            assert_eq!(mine[0]["size"].as_u64(), Some(size), "{ty} size");
            let theirs: Vec<(String, u64, String)> = dd;
            // llvm-dwarfdump prints pointer types C-style ("void *"); compare those by position only.
            // and arrays C-style ("int64[8]"); compare those by position only.
            let norm = |t: &str| {
                if t.ends_with('*') || t.starts_with('*') || t == "unsafe.Pointer" {
                    "<ptr>".to_string()
                } else if t.contains('[') {
                    "<array>".to_string()
                } else {
                    t.to_string()
                }
            };
            let theirs: Vec<(String, u64, String)> = theirs
                .into_iter()
                .map(|(n, o, t)| (n, o, norm(&t)))
                .collect();
            let ours: Vec<(String, u64, String)> = mine[0]["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["name"].as_str().unwrap().to_string(),
                        m["offset"].as_u64().unwrap(),
                        norm(m["type"].as_str().unwrap()),
                    )
                })
                .collect();
            assert_eq!(ours, theirs, "{ty} vs llvm-dwarfdump");
        }
    }
    // Name forms: with a space after the comma, and the short `hmap`.
    assert_eq!(
        layouts(&bin, "bucket<int64, int64>", false)[0]["name"],
        "bucket<int64,int64>"
    );
    assert_eq!(layouts(&bin, "hmap", false)[0]["name"], "runtime.hmap");
    assert_eq!(layouts(&bin, "hmap", false)[0]["size"], 48);
}

#[test]
fn go_profile_is_right() {
    let Some(bin) = go_bin() else { return };
    let p = profile(&bin);
    assert_valid(&p, "go profile");
    assert_eq!(p["family"], "go");
    assert!(p["binary"]["go_build_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(p["layouts"]["header"][0]["name"], "runtime.hmap");
    assert_eq!(
        p["layouts"]["header"][0]["fields"]["oldbuckets"]["offset"],
        24
    );
    let b = p["layouts"]["buckets"].as_array().unwrap();
    let i64b = b
        .iter()
        .find(|x| x["name"] == "bucket<int64,int64>")
        .expect("bucket<int64,int64>");
    assert_eq!(i64b["fields"]["elems"]["offset"], 72);
    assert_eq!(i64b["fields"]["elems"]["name"], "values");
    let big = b
        .iter()
        .find(|x| x["name"] == "bucket<int32,main.Big>")
        .expect("big elem bucket");
    assert_eq!(big["elem_indirect"], true);
    assert_eq!(big["elem_size"], 8);
    // Constants come from the binary's DWARF and match REFERENCE.md.
    assert_eq!(p["constants"]["source"], "dwarf");
    // The fatal message arrives in two registers (ABIInternal: the string's pointer, then its
    // length), a composite of pieces, from the function's entry on.
    let fatal = p["roles"]["fatal"].as_array().unwrap();
    let fatal = fatal
        .iter()
        .find(|f| f["function"] == "runtime.fatal")
        .expect("runtime.fatal");
    let s = &fatal["params"][0];
    assert_eq!(s["name"], "s");
    let first = &s["locations"][0];
    assert_eq!(first["low"], fatal["address"]);
    assert_eq!(
        first["location"],
        serde_json::json!({"pieces": [{"size": 8, "register": "rax"}, {"size": 8, "register": "rbx"}]})
    );
    assert_eq!(p["constants"]["flags"]["hashWriting"], 4);
    assert_eq!(p["constants"]["tophash"]["evacuatedEmpty"], 4);
    assert_eq!(p["constants"]["load_factor"], 6.5);
    // Roles: addresses equal nm's.
    let nm = nm(&bin);
    for (role, must) in [
        ("assign", "runtime.mapassign_fast64"),
        ("evacuate", "runtime.evacuate_fast64"),
        ("hash_grow", "runtime.hashGrow"),
        ("fatal", "runtime.fatal"),
        ("iterate", "runtime.mapiternext"),
    ] {
        let list = p["roles"][role].as_array().unwrap();
        assert!(
            list.iter().any(|r| r["function"] == must),
            "{role} lacks {must}"
        );
        for r in list {
            assert_eq!(
                nm.get(r["symbol"].as_str().unwrap()).copied(),
                r["address"].as_u64(),
                "{r}"
            );
        }
    }
    // Probes on Go are checked in tests/go_runtime.rs; here: they are there.
    assert_eq!(p["probe_source"]["kind"], "go-sources");
    assert!(!p["probes"]["writer-set-writing"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn go_fixture_profile() {
    let Some(bin) = go_fixture() else { return };
    let p = profile(&bin);
    assert_valid(&p, "fixtures/go/cmd/concurrent-writes profile");
    assert_eq!(p["family"], "go");
    // map[int64]int64: an 8-byte key, so the fast64 variants; bucket<int64,int64> is 144 bytes.
    let b = p["layouts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "bucket<int64,int64>")
        .expect("bucket<int64,int64>");
    assert_eq!(b["size"], 144);
    assert_eq!(b["fields"]["overflow"]["offset"], 136);
    let nm = nm(&bin);
    let assign = p["roles"]["assign"].as_array().unwrap();
    assert!(assign
        .iter()
        .any(|r| r["function"] == "runtime.mapassign_fast64"));
    for r in assign {
        assert_eq!(
            nm.get(r["symbol"].as_str().unwrap()).copied(),
            r["address"].as_u64()
        );
    }
}

/// Breakpoint addresses and parameter places agree with gdb, an independent DWARF reader: gdb's
/// `break FUNCTION` skips the same prologue, and `info address PARAM` names the same frame slot.
#[test]
fn frames_agree_with_gdb() {
    let Some(bin) = fixture("grow") else { return };
    if !have("gdb") {
        eprintln!("note: gdb missing, skipping");
        return;
    }
    let p = profile(&bin);
    let mut checked = 0;
    for role in ["evacuate", "grow_work", "hash_grow", "assign", "fatal"] {
        for f in p["roles"][role].as_array().unwrap() {
            let name = f["dwarf_name"].as_str().unwrap();
            let entry = f["address"].as_u64().unwrap();
            // At the entry the innermost block is the function's own (later addresses are
            // inside inlined helpers), so gdb lists exactly its parameters there.
            let args = [
                "-nx".to_string(),
                "-batch".into(),
                "-ex".into(),
                format!("break {name}"),
                "-ex".into(),
                format!("info scope *{entry:#x}"),
                bin.display().to_string(),
            ];
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = sh("gdb", &refs);
            let bp = out
                .lines()
                .find_map(|l| l.strip_prefix("Breakpoint 1 at 0x"))
                .and_then(|l| u64::from_str_radix(l.split(':').next().unwrap(), 16).ok())
                .unwrap_or_else(|| panic!("gdb set no breakpoint on {name}:\n{out}"));
            assert_eq!(
                Some(bp),
                f["breakpoint_address"].as_u64(),
                "{name} (entry {entry:#x})"
            );
            for param in f["params"].as_array().unwrap() {
                let pname = param["name"].as_str().unwrap();
                let loc = &param["location"];
                let (reg, off) = (
                    loc["register"].as_str().unwrap(),
                    loc["offset"].as_i64().unwrap(),
                );
                let expected =
                    format!("Symbol {pname} is a variable at frame base reg ${reg} offset 0+{off}");
                assert!(
                    out.contains(&expected),
                    "{name}: {expected:?} not in gdb's scope:\n{out}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} parameters checked");
}
