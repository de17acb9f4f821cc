//! The profile is enough for lldb, which has no Go support: at the probes of a running Go 1.19
//! program, the map header read at the profile's place of `h` shows the state each probe
//! promises, the CFA rule equals lldb's own CFA (`SBFrame.GetCFA`), and the current goroutine
//! found through r14 runs on the thread lldb stopped (lldb 16 cannot read `fs_base`, so the TLS
//! slot is checked only where it can).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

fn lldb() -> Option<&'static str> {
    ["lldb", "lldb-16"].into_iter().find(|l| have(l))
}

fn run_lldb(lldb: &str, bin: &Path, spec: Value, tag: &str) -> Vec<Value> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("harness");
    std::fs::create_dir_all(&dir).unwrap();
    let spec_path = dir.join(format!("{tag}.lldb.json"));
    let out_path = dir.join(format!("{tag}.lldb.jsonl"));
    let _ = std::fs::remove_file(&out_path);
    let mut spec = spec;
    spec["binary"] = json!(bin);
    spec["out"] = json!(out_path);
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lldb/check_places.py");
    let out = Command::new(lldb)
        .arg("-b")
        .arg("-o")
        .arg(format!("command script import {}", harness.display()))
        .env("MAPSCOPE_CHECK", &spec_path)
        .output()
        .expect("spawn lldb");
    let text = std::fs::read_to_string(&out_path).unwrap_or_else(|_| {
        panic!(
            "lldb wrote no records: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn go_probes_work_in_lldb() {
    let Some(lldb) = lldb() else {
        eprintln!("skip: lldb missing");
        return;
    };
    for (what, bin) in [("optimised", go_binary()), ("-N -l", go_binary_noopt())] {
        let Some(bin) = bin else { return };
        let p = json(&["profile", bin.to_str().unwrap()]);
        let flags = p["layouts"]["header"][0]["fields"]["flags"]["offset"]
            .as_u64()
            .unwrap();
        let mut stops = Vec::new();
        let mut want = std::collections::BTreeMap::new();
        for (probe, writing) in [
            ("writer-entry-checked", 0),
            ("writer-set-writing", 4),
            ("writer-end-check", 4),
        ] {
            for pr in p["probes"][probe].as_array().unwrap() {
                let Some(h) = pr["params"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|q| q["name"] == "h" && !q["location"].is_null())
                else {
                    continue;
                };
                let a = pr["address"].as_u64().unwrap();
                want.insert(a, (probe, writing));
                stops.push(json!({"pc": a, "cfa": pr["cfa"], "reads": [
                    {"label": "flags", "location": h["location"], "size": 8, "then": [flags, 1]}
                ]}));
            }
        }
        let spec = json!({"max_hits": 3, "g": p["runtime"], "stops": stops});
        let records = run_lldb(lldb, &bin, spec, &format!("lldb-{}", what.replace(' ', "")));
        let mut checked = 0;
        for r in &records {
            let pc = r["pc"].as_u64().unwrap();
            let (probe, writing) = want[&pc];
            assert_eq!(r["our_cfa"], r["lldb_cfa"], "{what} {probe} at {pc:#x}");
            // g in r14 (and at fs_base-8 where lldb can read fs_base, from lldb 17): its m's
            // procid is the thread lldb stopped.
            let g = &r["g"];
            if !g["tls_g"].is_null() {
                assert_eq!(g["tls_g"], g["reg_g"], "{what}: {r}");
            }
            assert_ne!(g["reg_g"], 0, "{what}: {r}");
            assert_eq!(g["procid"], g["tid"], "{what}: {r}");
            // -N -l mapdelete_fast64's end check: Go's location list is wrong there (see
            // tests/go_runtime.rs); the read fails or shows garbage, as in gdb.
            match r["reads"]["flags"].as_u64() {
                Some(f) if !(what == "-N -l" && probe == "writer-end-check" && f & 4 != 4) => {
                    assert_eq!(f & 4, writing, "{what} {probe} at {pc:#x}: {r}");
                    checked += 1;
                }
                _ => assert!(
                    what == "-N -l" && probe == "writer-end-check",
                    "{what}: {r}"
                ),
            }
        }
        eprintln!(
            "{what}: {} lldb stops, {checked} probe states checked",
            records.len()
        );
        assert!(checked >= 10, "{what}: only {checked} checked");
    }
}
