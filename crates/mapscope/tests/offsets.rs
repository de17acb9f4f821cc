//! `mapscope offsets` against gdb's `ptype /o` (an independent oracle), on structs
//! defined in this test binary and on gomap's types.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Holes and tail padding (C layout).
#[repr(C)]
pub struct Holey {
    pub a: u8,
    pub b: u64,
    pub c: u16,
    pub d: u32,
    pub e: u8,
}

/// A generic C-layout struct with a self pointer (pointers carry no DW_AT_byte_size).
#[repr(C)]
pub struct Pair<K, V> {
    pub k: K,
    pub v: V,
    pub next: *mut Pair<K, V>,
    pub arr: [K; 3],
}

/// A Rust-layout struct (rustc reorders fields).
pub struct Reordered {
    pub s: String,
    pub x: u8,
    pub v: Vec<u32>,
    pub y: u16,
}

#[inline(never)]
fn keep() -> usize {
    let h = Holey {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
    };
    let p1: Pair<u8, u64> = Pair {
        k: 1,
        v: 2,
        next: std::ptr::null_mut(),
        arr: [0; 3],
    };
    let p2: Pair<i32, Holey> = Pair {
        k: 1,
        v: Holey {
            a: 1,
            b: 2,
            c: 3,
            d: 4,
            e: 5,
        },
        next: std::ptr::null_mut(),
        arr: [0; 3],
    };
    let r = Reordered {
        s: String::new(),
        x: 1,
        v: Vec::new(),
        y: 2,
    };
    std::hint::black_box((&h, &p1, &p2, &r));
    h.a as usize
        + p1.k as usize
        + p2.k as usize
        + r.x as usize
        + r.s.len()
        + r.v.len()
        + r.y as usize
}

fn me() -> PathBuf {
    std::env::current_exe().expect("current exe")
}

/// Compares mapscope's layout of `query` with gdb's `ptype /o gdb_name`.
fn check_against_gdb(bin: &Path, query: &str, gdb_name: &str) {
    let ours = layouts(bin, query, false);
    assert_eq!(ours.len(), 1, "{query}: expected one layout, got {ours:#?}");
    let (gsize, gmembers) =
        gdb_ptype(bin, gdb_name).unwrap_or_else(|| panic!("gdb could not show {gdb_name}"));
    assert_eq!(ours[0]["size"].as_u64(), Some(gsize), "{query}: size");
    let mine = members(&ours[0]);
    assert_eq!(
        mine.len(),
        gmembers.len(),
        "{query}: members {mine:?} vs gdb {gmembers:?}"
    );
    for (m, g) in mine.iter().zip(&gmembers) {
        assert_eq!(m.0, g.name, "{query}: member order/name");
        assert_eq!(m.1, g.offset, "{query}.{}: offset", m.0);
        if let Some(gs) = g.size {
            assert_eq!(m.2, gs, "{query}.{}: size", m.0);
        }
    }
}

#[test]
fn own_structs_match_gdb() {
    assert!(keep() > 0);
    if !have("gdb") {
        eprintln!("note: gdb missing, skipping");
        return;
    }
    let bin = me();
    check_against_gdb(&bin, "offsets::Holey", "offsets::Holey");
    check_against_gdb(&bin, "Holey", "offsets::Holey");
    check_against_gdb(&bin, "Pair<u8, u64>", "offsets::Pair::<u8, u64>");
    check_against_gdb(
        &bin,
        "offsets::Pair<i32,offsets::Holey>",
        "offsets::Pair::<i32, offsets::Holey>",
    );
    check_against_gdb(&bin, "offsets::Reordered", "offsets::Reordered");
}

#[test]
fn holes_padding_and_alignment() {
    assert!(keep() > 0);
    let l = &layouts(&me(), "offsets::Holey", false)[0];
    // Independent: the C layout rules, computed here by hand from the field sizes.
    assert_eq!(
        members(l),
        vec![
            ("a".into(), 0, 1),
            ("b".into(), 8, 8),
            ("c".into(), 16, 2),
            ("d".into(), 20, 4),
            ("e".into(), 24, 1)
        ]
    );
    assert_eq!(l["size"], 32);
    assert_eq!(l["align"], 8);
    assert_eq!(l["tail_padding"], 7);
    let holes: Vec<(u64, u64)> = l["holes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["offset"].as_u64().unwrap(), h["size"].as_u64().unwrap()))
        .collect();
    assert_eq!(holes, vec![(1, 7), (18, 2)]);
    assert_eq!(std::mem::size_of::<Holey>(), 32);
    let table = ok(&["offsets", me().to_str().unwrap(), "offsets::Holey"]);
    assert!(table.contains("XXX 7 bytes hole"), "{table}");
    assert!(table.contains("padding: 7"), "{table}");
}

#[test]
fn generic_query_gives_every_instantiation() {
    assert!(keep() > 0);
    let all = layouts(&me(), "offsets::Pair", false);
    let mut names: Vec<&str> = all.iter().map(|l| l["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "offsets::Pair<i32, offsets::Holey>",
            "offsets::Pair<u8, u64>"
        ]
    );
    // Sizes from Rust itself (independent of DWARF).
    for l in &all {
        let want = if l["name"].as_str().unwrap().contains("u8") {
            std::mem::size_of::<Pair<u8, u64>>()
        } else {
            std::mem::size_of::<Pair<i32, Holey>>()
        };
        assert_eq!(l["size"].as_u64(), Some(want as u64));
    }
    // Pointer members get the address size even without DW_AT_byte_size.
    let p = all
        .iter()
        .find(|l| l["name"] == "offsets::Pair<u8, u64>")
        .unwrap();
    let next = p["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "next")
        .unwrap();
    assert_eq!(next["size"], 8);
    assert_eq!(next["type"], "*mut offsets::Pair<u8, u64>");
    let arr = p["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "arr")
        .unwrap();
    assert_eq!(arr["type"], "[u8; 3]");
    assert_eq!(arr["size"], 3);
}

#[test]
fn duplicates_are_merged() {
    // String is defined in many codegen units of this binary; the output has one layout.
    let s = layouts(&me(), "alloc::string::String", false);
    assert_eq!(s.len(), 1);
    assert!(s[0]["copies"].as_u64().unwrap() >= 1);
}

#[test]
fn gomap_types_match_gdb() {
    let Some(bin) = gomap_target() else { return };
    if !have("gdb") {
        eprintln!("note: gdb missing, skipping");
        return;
    }
    for (k, v) in [
        ("i64", "i64"),
        ("alloc::string::String", "u32"),
        ("u32", "gomap::key::Indirect<[u8; 200]>"),
    ] {
        for t in ["Hmap", "MapExtra", "Bucket"] {
            let q = format!("gomap::runtime::{t}<{k}, {v}>");
            let g = format!("gomap::runtime::{t}::<{k}, {v}>");
            check_against_gdb(&bin, &q, &g);
        }
    }
    // Short names work too.
    check_against_gdb(
        &bin,
        "runtime::Hmap<i64,i64>",
        "gomap::runtime::Hmap::<i64, i64>",
    );
    check_against_gdb(
        &bin,
        "Bucket<i64, i64>",
        "gomap::runtime::Bucket::<i64, i64>",
    );
}

#[test]
fn gomap_layouts_match_reference_table() {
    let Some(bin) = gomap_target() else { return };
    // REFERENCE.md §1: hmap 48 bytes, mapextra 24, bucket<int64,int64> 144 with overflow at 136.
    let h = &layouts(&bin, "gomap::runtime::Hmap<i64, i64>", false)[0];
    let offs: Vec<(String, u64)> = members(h).into_iter().map(|m| (m.0, m.1)).collect();
    let want: Vec<(String, u64)> = HMAP_OFFSETS
        .iter()
        .map(|(n, o)| (n.to_string(), *o))
        .collect();
    assert_eq!(offs, want);
    assert_eq!(h["size"], 48);
    let b = &layouts(&bin, "gomap::runtime::Bucket<i64, i64>", false)[0];
    let offs: Vec<(String, u64)> = members(b).into_iter().map(|m| (m.0, m.1)).collect();
    assert_eq!(
        offs,
        vec![
            ("tophash".into(), 0),
            ("keys".into(), 8),
            ("elems".into(), 72),
            ("overflow".into(), 136)
        ]
    );
    assert_eq!(b["size"], 144);
    // `Bucket` alone is ambiguous in a binary that also has std's hashbrown? Only if
    // present; `runtime::Bucket` always gives every instantiation.
    let all = layouts(&bin, "runtime::Bucket", false);
    assert!(all.len() >= 4, "{all:#?}");
}

#[test]
fn fixtures_hmap_matches_gdb() {
    for name in ["concurrent-writes", "grow"] {
        let Some(bin) = fixture(name) else { continue };
        if !have("gdb") {
            return;
        }
        let hs = layouts(&bin, "gomap::runtime::Hmap", false);
        assert!(!hs.is_empty());
        for h in hs {
            let n = h["name"].as_str().unwrap().to_string();
            let g = n.replacen("Hmap<", "Hmap::<", 1);
            check_against_gdb(&bin, &n, &g);
        }
    }
}

/// C binaries built by gcc with DWARF 4, DWARF 5 (str_offsets, line_str, addrx) and
/// zlib-compressed sections (SHF_COMPRESSED): the same struct, checked against gdb.
#[test]
fn c_dwarf4_dwarf5_compressed_match_gdb() {
    if !have("gdb") {
        return;
    }
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for f in ["seed-dwarf4.elf", "seed-dwarf5.elf", "seed-zlib.elf"] {
        let bin = seeds.join(f);
        check_against_gdb(&bin, "hmap", "struct hmap");
        let l = &layouts(&bin, "hmap", false)[0];
        assert_eq!(l["members"][5]["type"], "void *", "{f}");
        assert_eq!(l["members"][8]["type"], "hmap *", "{f}");
    }
}
