//! Split DWARF (`gcc -gsplit-dwarf`, DWARF 4 and 5): types live in `.dwo` files
//! (or a `.dwp` package); `offsets` finds them through the skeleton units, reads a
//! `.dwo`/`.dwp` given directly, and names the file when it is missing or stale.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::*;

fn offsets(bin: &Path, ty: &str) -> std::process::Output {
    run_with_timeout(
        &[OsStr::new("offsets"), bin.as_os_str(), OsStr::new(ty)],
        60,
    )
}

/// `struct point` and `struct segment` as gcc lays them out on x86-64.
fn assert_points(bin: &Path) {
    let p = layouts(bin, "point", false);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["size"], 24);
    assert_eq!(
        members(&p[0]),
        vec![
            ("x".into(), 0, 4),
            ("y".into(), 8, 8),
            ("tag".into(), 16, 1)
        ]
    );
    let s = layouts(bin, "segment", false);
    assert_eq!(s[0]["size"], 56);
    let m = members(&s[0]);
    assert_eq!(
        m[1],
        ("b".into(), 24, 24),
        "member type resolved in the .dwo"
    );
    assert_eq!(s[0]["members"][1]["type"], "point");
}

fn build(dir: &Path, dwarf: &str) -> PathBuf {
    gcc(dir, "points", C_POINTS, &["-g", dwarf, "-gsplit-dwarf"])
}

/// The .dwo gcc wrote in `dir` (its name depends on the gcc version).
fn dwo_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "dwo"))
        .unwrap_or_else(|| panic!("gcc -gsplit-dwarf wrote no .dwo in {}", dir.display()))
}

#[test]
fn types_are_read_from_dwo_files() {
    for dwarf in ["-gdwarf-4", "-gdwarf-5"] {
        let dir = scratch(&format!("split{dwarf}"));
        let bin = build(&dir, dwarf);
        let dwo = dwo_in(&dir);
        assert_points(&bin);
        // The .dwo itself is a DWARF file too.
        assert_points(&dwo);
        // Moved together with its .dwo, the binary still finds it (beside the binary).
        let moved = dir.join("moved");
        std::fs::create_dir_all(&moved).unwrap();
        std::fs::copy(&bin, moved.join("points")).unwrap();
        std::fs::rename(&dwo, moved.join(dwo.file_name().unwrap())).unwrap();
        assert_points(&moved.join("points"));
    }
}

#[test]
fn types_are_read_from_a_dwp_package() {
    // GNU dwp handles DWARF 4; DWARF 5 packages need llvm-dwp.
    for (dwarf, packer) in [("-gdwarf-4", "dwp"), ("-gdwarf-5", "llvm-dwp")] {
        if !have(packer) {
            assert!(packer != "dwp", "binutils' dwp is required");
            eprintln!("note: {packer} not installed, skipping {dwarf}");
            continue;
        }
        let dir = scratch(&format!("dwp{dwarf}"));
        let bin = build(&dir, dwarf);
        let dwp = dir.join("points.dwp");
        tool(
            packer,
            &[
                OsStr::new("-e"),
                bin.as_os_str(),
                OsStr::new("-o"),
                dwp.as_os_str(),
            ],
        );
        std::fs::remove_file(dwo_in(&dir)).unwrap();
        assert_points(&bin);
        assert_points(&dwp);
    }
}

#[test]
fn a_missing_dwo_is_named() {
    for dwarf in ["-gdwarf-4", "-gdwarf-5"] {
        let dir = scratch(&format!("split-missing{dwarf}"));
        let bin = build(&dir, dwarf);
        let dwo = dwo_in(&dir);
        std::fs::remove_file(&dwo).unwrap();
        let line = clean_error(&offsets(&bin, "point"), 2, dwarf);
        // gcc records the directory it ran in (DW_AT_comp_dir) and the .dwo's name.
        let want = format!(
            "types are in split DWARF file {}, which is missing",
            dir.canonicalize()
                .unwrap()
                .join(dwo.file_name().unwrap())
                .display()
        );
        assert!(line.contains(&want), "{line}");
        assert!(
            line.contains("points.dwp"),
            "the package searched is named: {line}"
        );
        // Addresses and lines come from the skeleton's line table: still answered.
        let out = run(&["symbols", bin.to_str().unwrap(), "main", "--no-inlined"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_dwo_from_another_build_is_not_used() {
    let dir = scratch("split-stale");
    let bin = build(&dir, "-gdwarf-5");
    // Rebuild the same source with a different struct: same .dwo name, other DWO id.
    let other = C_POINTS.replace("char tag;", "char tag; int extra;");
    let elsewhere = dir.join("other");
    gcc(
        &elsewhere,
        "points",
        &other,
        &["-g", "-gdwarf-5", "-gsplit-dwarf"],
    );
    let dwo = dwo_in(&dir);
    std::fs::copy(dwo_in(&elsewhere), &dwo).unwrap();
    let line = clean_error(&offsets(&bin, "point"), 2, "stale dwo");
    assert!(
        line.contains("belongs to another build") && line.contains("DWO id"),
        "{line}"
    );
}

#[test]
fn a_damaged_dwo_is_named_as_unreadable() {
    let dir = scratch("split-damaged");
    let bin = build(&dir, "-gdwarf-5");
    let dwo = dwo_in(&dir);
    std::fs::write(&dwo, b"not an ELF file").unwrap();
    let line = clean_error(&offsets(&bin, "point"), 2, "damaged dwo");
    assert!(
        line.contains("split DWARF file the binary needs cannot be read")
            && line.contains("is not an ELF binary")
            && !line.contains("another build"),
        "{line}"
    );
}

#[test]
fn a_stale_package_does_not_hide_good_dwo_files() {
    let dir = scratch("split-stale-dwp");
    let bin = build(&dir, "-gdwarf-4");
    // A package made for another build, beside the binary and its good .dwo.
    let other = dir.join("other");
    let ob = gcc(
        &other,
        "points",
        C_POINTS,
        &["-g", "-gdwarf-4", "-gsplit-dwarf", "-DOTHER"],
    );
    let dwp = dir.join("points.dwp");
    tool(
        "dwp",
        &[
            OsStr::new("-e"),
            ob.as_os_str(),
            OsStr::new("-o"),
            dwp.as_os_str(),
        ],
    );
    assert_points(&bin);
    // Without the .dwo, the stale package is what is reported.
    std::fs::remove_file(dwo_in(&dir)).unwrap();
    let line = clean_error(&offsets(&bin, "point"), 2, "stale dwp");
    assert!(
        line.contains("points.dwp belongs to another build"),
        "{line}"
    );
}

/// A program with a function inlined into main (gcc -O2).
const C_INLINE: &str = "#include <stdio.h>
struct point { int x; long y; };
static inline __attribute__((always_inline)) long sum(struct point *p) { return p->x + p->y; }
int main(int argc, char **argv) { struct point p = {argc, 2}; printf(\"%ld\\n\", sum(&p)); return 0; }
";

/// `symbols` (inlined instances, with call sites) and `lines ADDR` (inline chains)
/// read the split units: the answers equal those of the same program without
/// split DWARF. (Before, `symbols inl sum` found nothing, `lines` said `??`.)
#[test]
fn inlined_functions_and_inline_chains_come_from_split_units() {
    let root = scratch("split-inline");
    // Same source name in each directory; paths are compared by file name.
    let build = |sub: &str, flags: &[&str]| gcc(&root.join(sub), "inl", C_INLINE, flags);
    let base = |v: &mut serde_json::Value| {
        for item in v.as_array_mut().into_iter().flatten() {
            for key in ["call_file", "file"] {
                if let Some(f) = item[key].as_str() {
                    item[key] = f.rsplit('/').next().unwrap_or(f).into();
                }
            }
        }
    };
    let inlined = |b: &Path| {
        let mut v = json(&["symbols", b.to_str().unwrap(), "sum", "--json"])["inlined"].clone();
        base(&mut v);
        v
    };
    let plain = build("plain", &["-g", "-O2"]);
    let want = inlined(&plain);
    let site = want[0]["address"].as_u64().expect("sum is inlined");
    let frames = |b: &Path| {
        let v = json(&[
            "lines",
            b.to_str().unwrap(),
            &format!("{site:#x}"),
            "--json",
        ]);
        let mut f = v[0]["frames"].clone();
        base(&mut f);
        f
    };
    let want_frames = frames(&plain);
    assert_eq!(want_frames[0]["function"], "sum");
    assert_eq!(want_frames[1]["function"], "main");
    for dwarf in ["-gdwarf-4", "-gdwarf-5"] {
        let bin = build(dwarf, &["-g", "-O2", dwarf, "-gsplit-dwarf"]);
        assert_eq!(inlined(&bin), want, "{dwarf}");
        assert_eq!(frames(&bin), want_frames, "{dwarf}");
    }
}
