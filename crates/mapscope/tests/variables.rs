//! `mapscope variables`: the inline chain and the variables in scope at a pc, with their places,
//! against gdb's blocks and values at the same pcs of a running program (Go 1.19, optimised and
//! `-N -l`; and a gomap fixture); and its errors.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// Where gdb's `break FUNCTION` stops (after the prologue), per function.
fn gdb_prologue_ends(bin: &Path, functions: &[&str]) -> Vec<u64> {
    let mut args = vec!["-nx", "-batch", "-iex", "set auto-load no"];
    let cmds: Vec<String> = functions.iter().map(|f| format!("break {f}")).collect();
    for c in &cmds {
        args.extend(["-ex", c.as_str()]);
    }
    args.push(bin.to_str().unwrap());
    let out = sh("gdb", &args);
    let ends: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Breakpoint "))
        .filter_map(|l| l.split(" at 0x").nth(1))
        .filter_map(|l| u64::from_str_radix(l.split(':').next()?, 16).ok())
        .collect();
    assert_eq!(ends.len(), functions.len(), "gdb: {out}");
    ends
}

/// Up to `n` instruction addresses spread over each function's code (symbols from `nm`), each
/// with the address where that function's prologue ends.
fn sample_pcs(bin: &Path, functions: &[&str], n: usize) -> Vec<(u64, u64)> {
    let syms = sh("nm", &["-S", bin.to_str().unwrap()]);
    let ends = gdb_prologue_ends(bin, functions);
    let mut pcs = Vec::new();
    for (f, end) in functions.iter().zip(ends) {
        let line = syms
            .lines()
            .find(|l| l.split_whitespace().nth(3) == Some(f))
            .unwrap_or_else(|| panic!("nm has no {f}"));
        let mut it = line.split_whitespace();
        let start = u64::from_str_radix(it.next().unwrap(), 16).unwrap();
        let size = u64::from_str_radix(it.next().unwrap(), 16).unwrap();
        let insns = instructions(bin, start, start + size);
        let step = insns.len().div_ceil(n).max(1);
        pcs.extend(insns.iter().step_by(step).map(|&pc| (pc, end)));
    }
    pcs
}

fn variables(bin: &Path, pcs: &[u64]) -> Vec<Value> {
    let mut args = vec![
        "variables".to_string(),
        bin.display().to_string(),
        "--json".into(),
    ];
    args.extend(pcs.iter().map(|p| format!("{p:#x}")));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    json(&refs).as_array().unwrap().clone()
}

/// A function name without generic arguments and impl blocks, which demangled names
/// (`<impl *mut T>`) and DWARF names (`{impl#0}`) write differently.
fn without_generics(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '<' | '{' => depth += 1,
            '>' | '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace("::::", "::")
}

/// Compares gdb's view of every stop with ours; returns (frames, values compared).
///
/// One difference is by design: a single-expression location (rustc, `go -N -l` locals) holds,
/// for gdb, over the whole function, also before the prologue has made the frame; mapscope
/// gives no place there (`prologue`: pc to where the prologue ends).
fn compare(what: &str, records: &[Value], prologue: &BTreeMap<u64, u64>) -> (usize, usize) {
    let (mut frames, mut values) = (0, 0);
    for r in records {
        let pc = r["pc"].as_u64().unwrap();
        let in_prologue = pc < prologue[&pc];
        let gdb = r["gdb_frames"].as_array().unwrap();
        let ours = r["our_frames"].as_array().unwrap();
        // Inlined Rust frames are named by their linkage name, without generic arguments.
        let names = |v: &[Value]| -> Vec<String> {
            v.iter()
                .map(|f| without_generics(f["function"].as_str().unwrap_or("")))
                .collect()
        };
        assert_eq!(
            names(ours),
            names(gdb),
            "{what} {pc:#x}: inline chain differs"
        );
        for (o, g) in ours.iter().zip(gdb) {
            let ov: BTreeMap<String, Value> = serde_json::from_value(o["vars"].clone()).unwrap();
            let gv: BTreeMap<String, Value> = serde_json::from_value(g["vars"].clone()).unwrap();
            let on: Vec<&String> = ov.keys().collect();
            let gn: Vec<&String> = gv.keys().collect();
            assert_eq!(
                on, gn,
                "{what} {pc:#x} in {}: variables in scope",
                o["function"]
            );
            for (name, ours) in &ov {
                let theirs = &gv[name];
                let ctx = format!(
                    "{what} {pc:#x} {}.{name}: ours {ours}, gdb {theirs}",
                    o["function"]
                );
                if ours.is_null() {
                    // No place here (or an aggregate we do not read): gdb must not know a scalar.
                    assert!(!theirs.is_u64() || in_prologue, "{ctx}");
                } else {
                    assert_eq!(ours, theirs, "{ctx}");
                    values += 1;
                }
            }
            frames += 1;
        }
    }
    (frames, values)
}

fn check_against_gdb(
    what: &str,
    bin: &Path,
    functions: &[&str],
    per_function: usize,
) -> (usize, usize) {
    let sampled = sample_pcs(bin, functions, per_function);
    let prologue: BTreeMap<u64, u64> = sampled.iter().copied().collect();
    let pcs: Vec<u64> = prologue.keys().copied().collect();
    let answers = variables(bin, &pcs);
    assert_eq!(answers.len(), pcs.len());
    let stops: Vec<Value> = answers
        .iter()
        .map(|a| {
            let frames: Vec<Value> = a["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| json!({"function": f["function"], "vars": f["variables"]}))
                .collect();
            json!({"pc": a["address"], "cfa": a["cfa"], "vars": [], "frames": frames})
        })
        .collect();
    let records = run_harness(bin, stops, &format!("variables-{}", what.replace(' ', "")));
    let (frames, values) = compare(what, &records, &prologue);
    eprintln!(
        "{what}: {} stops, {frames} frames, {values} values equal gdb's",
        records.len()
    );
    assert!(
        records.len() > 30,
        "{what}: only {} stops hit",
        records.len()
    );
    (frames, values)
}

#[test]
fn go_variables_agree_with_gdb() {
    if !have("gdb") || !have("objdump") {
        eprintln!("skip: gdb or objdump missing");
        return;
    }
    let functions = [
        "main.main",
        "runtime.mapassign_fast64",
        "runtime.evacuate_fast64",
        "runtime.mapiternext",
        "runtime.hashGrow",
    ];
    for (what, bin) in [("optimised", go_binary()), ("-N -l", go_binary_noopt())] {
        let Some(bin) = bin else { return };
        let (frames, values) = check_against_gdb(what, &bin, &functions, 40);
        assert!(
            frames > 40 && values > 100,
            "{what}: {frames} frames, {values} values"
        );
    }
}

#[test]
fn gomap_variables_agree_with_gdb() {
    if !have("gdb") || !have("objdump") {
        eprintln!("skip: gdb or objdump missing");
        return;
    }
    let Some(bin) = fixture("grow") else { return };
    let p = json(&["profile", bin.to_str().unwrap()]);
    let functions: Vec<String> = ["assign_fast64", "evacuate_fast64", "hash_grow"]
        .iter()
        .filter_map(|v| {
            p["roles"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|l| l.as_array().unwrap())
                .find(|f| f["variant"] == *v)
                .map(|f| f["symbol"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(functions.len(), 3);
    let refs: Vec<&str> = functions.iter().map(String::as_str).collect();
    let (frames, values) = check_against_gdb("gomap", &bin, &refs, 40);
    assert!(
        frames > 30 && values > 30,
        "gomap: {frames} frames, {values} values"
    );
}

#[test]
fn variables_json_shape_and_errors() {
    let Some(bin) = go_binary() else { return };
    let b = bin.to_str().unwrap();
    let p = json(&["profile", b]);
    let f = p["roles"]["assign"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "runtime.mapassign_fast64")
        .unwrap();
    let bp = f["breakpoint_address"].as_u64().unwrap();
    let v = json(&["variables", b, &format!("{bp:#x}"), "--json"]);
    let at = &v[0];
    assert_eq!(at["address"], bp);
    assert_eq!(at["function"], "runtime.mapassign_fast64");
    let frame = at["frames"].as_array().unwrap().last().unwrap();
    assert_eq!(frame["inlined"], false);
    let h = frame["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "h")
        .unwrap();
    assert_eq!(h["kind"], "param");
    assert_eq!(h["type"], "*runtime.hmap");
    assert_eq!(h["size"], 8);
    // The place agrees with the profile's location list at that pc.
    let want = f["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "h")
        .unwrap()["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["low"].as_u64().unwrap() <= bp && bp < r["high"].as_u64().unwrap())
        .unwrap()["location"]
        .clone();
    assert_eq!(h["location"], want);
    // Text output names the function.
    assert!(ok(&["variables", b, &format!("{bp}")]).contains("runtime.mapassign_fast64"));

    // --stdin: the same answers, one JSON line per address, errors as lines, until EOF.
    let mut child = std::process::Command::new(MAPSCOPE)
        .args(["variables", b, "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        writeln!(input, "{bp:#x}\nzz\n\n0xdeadbeef\n{bp}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], *at);
    assert_eq!(lines[3], *at);
    assert_eq!(lines[1]["query"], "zz");
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("not an address"));
    assert_eq!(lines[2]["error"], "no function contains 0xdeadbeef");

    // Errors: one line, non-zero exit, no panic.
    let out = run(&["variables", b, "0xdeadbeef"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "mapscope: error: no function contains 0xdeadbeef"
    );
    let out = run(&["variables", b, "zz"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    let out = run(&["variables", "/nonexistent", "0x1"]);
    assert_eq!(out.status.code(), Some(2));
    let text = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/text.txt");
    let out = run(&["variables", text.to_str().unwrap(), "0x1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}
