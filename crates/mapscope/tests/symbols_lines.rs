//! `symbols` against nm, `lines` against binutils addr2line and gdb's breakpoint
//! locations (independent implementations).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

#[test]
fn symbol_addresses_equal_nm() {
    let Some(bin) = gomap_target() else { return };
    let b = bin.to_str().unwrap();
    let nm = nm(&bin);
    let v = json(&["symbols", b, "gomap::runtime::", "--json"]);
    let fns = v["functions"].as_array().unwrap();
    assert!(fns.len() > 20, "{}", fns.len());
    for f in fns {
        let sym = f["symbol"].as_str().unwrap();
        assert_eq!(nm.get(sym).copied(), f["address"].as_u64(), "{sym}");
    }
    // Source locations equal binutils addr2line's, on both lookup paths (a few functions
    // use .debug_aranges + one line program; many use one addr2line context).
    for pattern in ["gomap::runtime::grow::hash_grow", "gomap::runtime::"] {
        let v = json(&["symbols", b, pattern, "--json", "--no-inlined"]);
        for f in v["functions"].as_array().unwrap().iter().take(40) {
            let a = format!("{:#x}", f["address"].as_u64().unwrap());
            let theirs = sh("addr2line", &["-e", b, &a]);
            let theirs = theirs
                .lines()
                .next()
                .unwrap()
                .split(" (discriminator")
                .next()
                .unwrap()
                .to_string();
            let ours = format!(
                "{}:{}",
                f["file"].as_str().unwrap_or("??"),
                f["line"]
                    .as_u64()
                    .map(|l| l.to_string())
                    .unwrap_or("?".into())
            );
            assert_eq!(ours, theirs, "{pattern}: {}", f["name"]);
        }
    }
    // Every nm symbol that demangles into gomap::runtime is listed (nm -C is the oracle).
    let demangled = sh("nm", &["-C", b]);
    let want: BTreeSet<u64> = demangled
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            let (a, k, n) = (it.next()?, it.next()?, it.next()?);
            (matches!(k, "T" | "t") && n.starts_with("gomap::runtime::"))
                .then(|| u64::from_str_radix(a, 16).ok())?
        })
        .collect();
    let mine: BTreeSet<u64> = fns
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("gomap::runtime::"))
        .map(|f| f["address"].as_u64().unwrap())
        .collect();
    assert_eq!(mine, want);
}

#[test]
fn symbols_show_source_and_inlined_sites() {
    let Some(bin) = gomap_target() else { return };
    let b = bin.to_str().unwrap();
    let v = json(&["symbols", b, "toggle_writing", "--json"]);
    // toggle_writing is #[inline(always)]: no symbol, only inlined instances, one per
    // writer copy; their call sites are lines of gomap's delete.rs/assign.rs.
    let inl = v["inlined"].as_array().unwrap();
    assert!(inl.len() >= 4, "{v:#}");
    for i in inl {
        let file = i["call_file"].as_str().unwrap();
        let line = i["call_line"].as_u64().unwrap() as usize;
        let text = std::fs::read_to_string(file).unwrap();
        let src = text.lines().nth(line - 1).unwrap();
        assert!(src.contains("toggle_writing("), "{file}:{line}: {src}");
        // binutils addr2line agrees that the address is inside toggle_writing, called from there.
        let chain = sh(
            "addr2line",
            &[
                "-i",
                "-f",
                "-C",
                "-e",
                b,
                &format!("{:#x}", i["address"].as_u64().unwrap()),
            ],
        );
        assert!(chain.contains(&format!("{}:{}", file, line)), "{chain}");
    }
    let t = ok(&["symbols", b, "gomap::runtime::grow::hash_grow"]);
    assert!(
        t.contains("hash_grow<i64, i64>") && t.contains("grow.rs:"),
        "{t}"
    );
}

/// `mapscope lines ADDR` frames equal binutils `addr2line -i` (file:line, innermost first).
#[test]
fn address_to_line_equals_binutils_addr2line() {
    let Some(bin) = gomap_target() else { return };
    let b = bin.to_str().unwrap();
    let v = json(&[
        "symbols",
        b,
        "gomap::runtime::grow::",
        "--json",
        "--no-inlined",
    ]);
    let mut checked = 0;
    for f in v["functions"].as_array().unwrap() {
        let start = f["address"].as_u64().unwrap();
        let size = f["size"].as_u64().unwrap();
        for addr in [start, start + size / 3, start + size / 2] {
            let a = format!("{addr:#x}");
            let ours = json(&["lines", b, &a, "--json"]);
            let frames: Vec<String> = ours[0]["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let line = f["line"]
                        .as_u64()
                        .map(|l| l.to_string())
                        .unwrap_or_else(|| "?".into());
                    format!("{}:{}", f["file"].as_str().unwrap_or("??"), line)
                })
                .collect();
            let theirs: Vec<String> = sh("addr2line", &["-i", "-e", b, &a])
                .lines()
                .map(|l| l.split(" (discriminator").next().unwrap().to_string())
                .collect();
            assert_eq!(frames, theirs, "{a}");
            checked += 1;
        }
    }
    assert!(checked >= 9);
}

/// `mapscope lines FILE:LINE` gives the same addresses as gdb's breakpoint locations.
#[test]
fn file_line_equals_gdb_breakpoint_locations() {
    let Some(bin) = gomap_target() else { return };
    if !have("gdb") {
        return;
    }
    let b = bin.to_str().unwrap();
    let grow = common::workspace().join("crates/gomap/src/runtime/grow.rs");
    let text = std::fs::read_to_string(&grow).unwrap();
    // Chosen lines: a few statements in evacuate_body/hash_grow (inlined into several copies),
    // located by content so that edits to gomap do not break the test. The `for` line has
    // two locations in each inlined copy of evacuate_body (the loop's setup, and the loop's
    // own lexical block): gdb keeps one per block, not one per function.
    let mut queries = Vec::new();
    for needle in [
        "let newbit = noldbuckets(h);",
        "set_nevacuate(h, 0);",
        "dst.i += 1;",
        "for i in 0..BUCKET_CNT {",
    ] {
        if let Some(i) = text.lines().position(|l| l.trim() == needle) {
            queries.push(format!("grow.rs:{}", i + 1));
        }
    }
    assert!(!queries.is_empty());
    for q in queries {
        let ours = json(&["lines", b, &q, "--json"]);
        let mine: BTreeSet<u64> = ours[0]["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["address"].as_u64().unwrap())
            .collect();
        let out = sh(
            "gdb",
            &[
                "-nx",
                "-batch",
                "-ex",
                &format!("break {q}"),
                "-ex",
                "info breakpoints",
                b,
            ],
        );
        let gdb: BTreeSet<u64> = out
            .lines()
            .filter_map(|l| {
                let t = l.trim_start();
                let first = t.split_whitespace().next()?;
                // "1.2  y  0x000...  in ..." (several locations) or "1  breakpoint keep y 0x... in ..."
                let addr = t.split_whitespace().find(|w| w.starts_with("0x"))?;
                if first.contains('.') || t.contains("breakpoint") {
                    u64::from_str_radix(addr.trim_start_matches("0x"), 16).ok()
                } else {
                    None
                }
            })
            .collect();
        assert!(!gdb.is_empty(), "gdb gave no locations for {q}: {out}");
        assert_eq!(mine, gdb, "{q}: ours {mine:x?} gdb {gdb:x?}\n{out}");
    }
}

/// A line of a function inlined twice into one caller has two locations, as in gdb:
/// one per inlined copy, not one per containing function.
#[test]
fn file_line_gives_every_inlined_copy() {
    let dir = scratch("inlined-copies");
    let src = "#include <stdio.h>
static volatile int sink;
static inline __attribute__((always_inline)) void bump(int x) {
    sink = sink * 3 + x;
}
int main(int argc, char **argv) {
    (void)argv;
    bump(argc);
    if (argc > 2)
        printf(\"%d\\n\", sink);
    bump(argc + 7);
    return sink & 1;
}
";
    let bin = gcc(&dir, "inlined", src, &["-O2", "-g"]);
    let b = bin.to_str().unwrap();
    let ours = json(&["lines", b, "inlined.c:4", "--json"]);
    let locs = ours[0]["locations"].as_array().unwrap();
    let addrs: BTreeSet<u64> = locs
        .iter()
        .map(|l| l["address"].as_u64().unwrap())
        .collect();
    assert_eq!(
        addrs.len(),
        2,
        "one location per inlined copy of bump: {ours}"
    );
    for l in locs {
        assert_eq!(l["function"], "main", "{ours}");
        assert_eq!(l["line"], 4, "{ours}");
    }
    // Each is the first instruction of line 4 in its copy: addr2line says `bump`, inlined
    // into main at the two call lines.
    let calls: BTreeSet<String> = addrs
        .iter()
        .map(|a| {
            let f = json(&["lines", b, &format!("{a:#x}"), "--json"]);
            let frames = f[0]["frames"].as_array().unwrap().clone();
            assert_eq!(frames[0]["function"], "bump", "{f}");
            assert_eq!(frames[1]["function"], "main", "{f}");
            frames[1]["line"].to_string()
        })
        .collect();
    assert_eq!(calls, BTreeSet::from(["8".to_string(), "11".to_string()]));
}

#[test]
fn file_suffix_matching() {
    let Some(bin) = gomap_target() else { return };
    let b = bin.to_str().unwrap();
    let full = common::workspace().join("crates/gomap/src/runtime/grow.rs");
    let a = json(&["lines", b, "grow.rs:41", "--json"]);
    let c = json(&["lines", b, &format!("{}:41", full.display()), "--json"]);
    let d = json(&["lines", b, "runtime/grow.rs:41", "--json"]);
    assert_eq!(a[0]["locations"], c[0]["locations"]);
    assert_eq!(a[0]["locations"], d[0]["locations"]);
    // "ow.rs" is not a path-component suffix.
    let out = run(&["lines", b, "ow.rs:41"]);
    assert_eq!(out.status.code(), Some(1));
    let _ = Path::new(b);
}

/// `symbols NAME` reads only the units that can hold NAME's inlined instances; it finds
/// exactly what a scan of every unit finds (instances and DWARF names).
#[test]
fn symbols_reads_only_candidate_units_and_finds_the_same() {
    use mapscope::loader::{Binary, MappedFile};
    use mapscope::symbols;
    let mut bins: Vec<std::path::PathBuf> = Vec::new();
    bins.extend(gomap_target());
    bins.extend(fixture("grow"));
    assert!(!bins.is_empty());
    for path in bins {
        let file = MappedFile::open(&path).unwrap();
        let bin = Binary::parse(&file).unwrap();
        for p in [
            "hash_grow",
            "evacuate",
            "gomap::runtime::grow",
            "grow::evacuate_body",
            "main",
            "new",
            "no such function",
            // Words the v0 demangler writes, not found verbatim in mangled names.
            "{closure#0}",
            "Lines>::ranges::{closure#0}",
            "call_once",
        ] {
            let funcs = symbols::functions(&bin, Some(p));
            let addrs: Vec<u64> = funcs.iter().map(|f| f.address).collect();
            let (all, all_names) = symbols::scan_functions(&bin, Some(p)).unwrap();
            let (some, some_names) = symbols::scan_functions_for(&bin, Some(p), &addrs).unwrap();
            let key = |v: &[symbols::Inlined]| {
                v.iter()
                    .map(|i| (i.function.clone(), i.address, i.size, i.caller.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(key(&all), key(&some), "{}: {p}", path.display());
            for a in &addrs {
                assert_eq!(
                    all_names.get(a),
                    some_names.get(a),
                    "{}: {p} at {a:#x}",
                    path.display()
                );
            }
        }
    }
}
