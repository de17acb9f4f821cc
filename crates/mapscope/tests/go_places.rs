//! Parameter places on Go (location lists, CFA rules) against gdb, an independent DWARF reader:
//! statically (`info scope` lists every range of every parameter) and at run time (at many pcs
//! of a running Go 1.19 program, `p h` equals the value read at the profile's place, and gdb's
//! CFA equals the profile's CFA rule), in optimised and `-N -l` builds.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

fn profile(bin: &Path) -> Value {
    json(&["profile", bin.to_str().unwrap()])
}

/// A range as gdb describes it: [low, high) and the place, if expressible.
type GdbRange = (u64, u64, Option<Value>);

/// gdb's ranges for each symbol of `info scope *PC`, in the profile's forms (None: a range gdb
/// knows but the closed set cannot express, such as an optimised-out piece). Go's frame base is the CFA, so
/// `DW_OP_fbreg K` is `{"cfa": K}`.
fn gdb_scope(bin: &Path, pc: u64) -> Vec<(String, Vec<GdbRange>)> {
    let out = sh(
        "gdb",
        &[
            "-nx",
            "-batch",
            "-iex",
            "set auto-load no",
            "-ex",
            &format!("info scope *{pc:#x}"),
            bin.to_str().unwrap(),
        ],
    );
    let mut syms: Vec<(String, Vec<GdbRange>)> = Vec::new();
    let text = out.replace('\n', " ");
    for chunk in text.split("Symbol ").skip(1) {
        let name = chunk.split_whitespace().next().unwrap_or("").to_string();
        let mut ranges = Vec::new();
        for r in chunk.split("Range ").skip(1) {
            let (span, desc) = r.split_once(": ").unwrap_or((r, ""));
            let Some((lo, hi)) = span.split_once('-') else {
                continue;
            };
            let parse =
                |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap();
            let desc = desc.split(", length").next().unwrap_or("").trim();
            let loc = if desc.contains("piece") {
                gdb_pieces(desc)
            } else if let Some(r) = desc.strip_prefix("a variable in $") {
                Some(json!({"register": r.split_whitespace().next().unwrap()}))
            } else if desc.contains("DW_OP_call_frame_cfa") && !desc.contains("1:") {
                Some(json!({"cfa": 0}))
            } else if let Some(k) = desc.split("0: DW_OP_fbreg ").nth(1) {
                if desc.contains("1:") {
                    None
                } else {
                    Some(
                        json!({"cfa": k.split_whitespace().next().unwrap().parse::<i64>().unwrap()}),
                    )
                }
            } else {
                None
            };
            ranges.push((parse(lo), parse(hi), loc));
        }
        syms.push((name, ranges));
    }
    syms
}

/// gdb's description of a composite ("a variable in $rcx [8-byte piece], and a variable in
/// $rdi [8-byte piece]") in the profile's `pieces` form; None when a part is not a whole
/// register (an empty, optimised-out piece, or memory), which the profile leaves out too.
fn gdb_pieces(desc: &str) -> Option<Value> {
    let mut parts = Vec::new();
    for part in desc.split(", and ") {
        let (register, size) = part.strip_prefix("a variable in $")?.split_once(" [")?;
        let size: u64 = size.strip_suffix("-byte piece]")?.parse().ok()?;
        parts.push(json!({"size": size, "register": register}));
    }
    Some(json!({ "pieces": parts }))
}

/// Joins adjacent ranges with equal places and drops inexpressible ones (as the profile does).
fn merged(mut v: Vec<GdbRange>) -> Vec<(u64, u64, Value)> {
    v.sort_by_key(|r| (r.0, r.1));
    let mut out: Vec<(u64, u64, Value)> = Vec::new();
    for (lo, hi, loc) in v {
        let Some(loc) = loc else { continue };
        if lo >= hi {
            continue;
        }
        if let Some(last) = out.last_mut() {
            if last.1 == lo && last.2 == loc {
                last.1 = hi;
                continue;
            }
        }
        out.push((lo, hi, loc));
    }
    out
}

fn go_builds() -> Vec<(&'static str, std::path::PathBuf)> {
    let mut v = Vec::new();
    if let Some(b) = go_binary() {
        v.push(("optimised", b));
    }
    if let Some(b) = go_binary_noopt() {
        v.push(("-N -l", b));
    }
    v
}

#[test]
fn go_param_locations_equal_gdb_info_scope() {
    if !have("gdb") {
        eprintln!("skip: gdb missing");
        return;
    }
    let mut checked = 0;
    let mut cfa_forms = 0;
    for (what, bin) in go_builds() {
        let p = profile(&bin);
        for role in [
            "assign",
            "access",
            "delete",
            "evacuate",
            "grow_work",
            "hash_grow",
        ] {
            for f in p["roles"][role].as_array().unwrap() {
                let entry = f["address"].as_u64().unwrap();
                let scope = gdb_scope(&bin, entry);
                for param in f["params"].as_array().unwrap() {
                    let name = param["name"].as_str().unwrap();
                    let Some((_, theirs)) = scope.iter().find(|(n, _)| n == name) else {
                        // gdb lists `~r0` results only when they have a location.
                        assert!(
                            param["locations"].as_array().unwrap().is_empty(),
                            "{what} {}: gdb has no {name}",
                            f["function"]
                        );
                        continue;
                    };
                    let theirs = merged(theirs.clone());
                    let ours: Vec<(u64, u64, Value)> = param["locations"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| {
                            (
                                r["low"].as_u64().unwrap(),
                                r["high"].as_u64().unwrap(),
                                r["location"].clone(),
                            )
                        })
                        .collect();
                    assert_eq!(ours, theirs, "{what} {} {name}", f["function"]);
                    cfa_forms += ours.iter().filter(|r| r.2.get("cfa").is_some()).count();
                    checked += 1;
                }
            }
        }
    }
    if checked > 0 {
        assert!(checked > 40, "only {checked} parameters checked");
        assert!(cfa_forms > 20, "only {cfa_forms} CFA-relative ranges seen");
    }
}

/// The profile's place of every parameter at `pc`, and its CFA rule there.
fn stop_spec(f: &Value, pc: u64, names: &[&str]) -> Value {
    let cfa = f["cfa"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["low"].as_u64().unwrap() <= pc && pc < r["high"].as_u64().unwrap())
        .map(|r| json!({"register": r["register"], "offset": r["offset"]}));
    let vars: Vec<Value> = f["params"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| names.contains(&p["name"].as_str().unwrap()))
        .map(|p| {
            let loc = p["locations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["low"].as_u64().unwrap() <= pc && pc < r["high"].as_u64().unwrap())
                .map(|r| r["location"].clone());
            json!({"name": p["name"], "size": p["size"], "location": loc})
        })
        .collect();
    json!({"pc": pc, "cfa": cfa, "vars": vars})
}

#[test]
fn go_params_read_like_gdb_at_runtime() {
    if !have("gdb") || !have("objdump") {
        eprintln!("skip: gdb or objdump missing");
        return;
    }
    for (what, bin) in go_builds() {
        let p = profile(&bin);
        let mut stops = Vec::new();
        for (role, function, names) in [
            ("assign", "runtime.mapassign_fast64", &["t", "h", "key"][..]),
            (
                "evacuate",
                "runtime.evacuate_fast64",
                &["t", "h", "oldbucket"][..],
            ),
            (
                "grow_work",
                "runtime.growWork_fast64",
                &["t", "h", "bucket"][..],
            ),
            ("hash_grow", "runtime.hashGrow", &["t", "h"][..]),
        ] {
            let f = p["roles"][role]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["function"] == function)
                .unwrap_or_else(|| panic!("{what}: no {function}"));
            let start = f["address"].as_u64().unwrap();
            let insns = instructions(&bin, start, start + f["size"].as_u64().unwrap());
            assert!(insns.len() > 10, "{what} {function}: objdump found no code");
            // Every instruction of the function, up to 60 spread evenly, and the breakpoint address.
            let step = insns.len().div_ceil(60);
            let mut pcs: Vec<u64> = insns.iter().step_by(step).copied().collect();
            pcs.push(f["breakpoint_address"].as_u64().unwrap());
            pcs.sort_unstable();
            pcs.dedup();
            for pc in pcs {
                stops.push(stop_spec(f, pc, names));
            }
        }
        let tag = if what == "optimised" { "opt" } else { "noopt" };
        let records = run_harness(&bin, stops, &format!("places-{tag}"));
        let (mut known, mut cfa_known, mut absent) = (0, 0, 0);
        for r in &records {
            assert_eq!(
                r["our_cfa"],
                r["gdb_cfa"],
                "{what}: CFA at {:#x}",
                r["pc"].as_u64().unwrap()
            );
            for v in r["vars"].as_array().unwrap() {
                let ctx = format!(
                    "{what}: {} at {:#x}: {r}",
                    v["name"],
                    r["pc"].as_u64().unwrap()
                );
                if v["ours"].is_null() {
                    assert_eq!(v["gdb"], "optimized out", "{ctx}");
                    absent += 1;
                } else {
                    assert_eq!(v["gdb"], v["ours"], "{ctx}");
                    known += 1;
                }
            }
            if r["vars"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == "h" && !v["ours"].is_null())
            {
                cfa_known += 1;
            }
        }
        eprintln!(
            "{what}: {} stops, {known} values equal gdb's, {absent} absent in both, h known at {cfa_known} stops",
            records.len()
        );
        assert!(records.len() > 40, "{what}: only {} stops", records.len());
        assert!(known > 80, "{what}: only {known} values compared");
        if what == "optimised" {
            // evacuate_fast64's oldbucket is dead after its first uses: no place, and gdb agrees.
            assert!(absent > 5, "{what}: no parameter was ever optimised out");
        }
    }
}
