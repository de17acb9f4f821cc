//! Bad input everywhere: one line on stderr starting `mapscope: error:`, the
//! documented exit code, never a panic. Includes the malformed-file corpus.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

const NOT_FOUND: i32 = 1;
const BAD_INPUT: i32 = 2;
const AMBIGUOUS: i32 = 3;

fn assert_clean_error(out: &Output, code: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit code; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: expected one stderr line, got {stderr:?}"
    );
    assert!(
        lines[0].starts_with("mapscope: error: "),
        "{what}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{what}: stdout should be empty");
    stderr
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("py" | "md")))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "corpus missing: run tests/corpus/generate.py"
    );
    files
}

#[test]
fn corpus_gives_clean_errors_for_every_command() {
    for f in corpus() {
        let p = f.to_str().unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let commands: [Vec<&str>; 6] = [
            vec!["offsets", p, "Foo"],
            vec!["symbols", p, "main"],
            vec!["lines", p, "0x401000"],
            vec!["lines", p, "x.c:1"],
            vec!["profile", p],
            vec!["variables", p, "0x401000"],
        ];
        for args in commands {
            let out = run(&args);
            let code = out.status.code();
            // A structurally valid file answers "not found" (1); everything else is bad input (2),
            // except where the damage is in entries the command does not need: a struct name
            // past .debug_str is found by offsets and profile; the file has no functions or lines
            // (variables looks for a function only).
            let want = match (name.as_str(), args[0]) {
                ("elf-minimal-valid-dwarf.bin", _) => NOT_FOUND,
                ("elf-strp-past-debug-str.bin", "symbols" | "lines" | "variables") => NOT_FOUND,
                _ => BAD_INPUT,
            };
            assert_eq!(
                code,
                Some(want),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_clean_error(&out, want, &format!("{args:?}"));
        }
    }
}

#[test]
fn specific_messages() {
    let c = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let msg = |f: &str| {
        let out = run(&["offsets", c.join(f).to_str().unwrap(), "T"]);
        assert_clean_error(&out, BAD_INPUT, f)
    };
    assert!(msg("text.txt").contains("is not an ELF binary"));
    assert!(msg("empty.bin").contains("is not an ELF binary"));
    assert!(msg("elf-header-truncated.bin").contains("truncated or corrupt ELF"));
    assert!(msg("elf-no-debug.bin").contains("debug = 2"));
    assert!(msg("elf-compressed-garbage.bin").contains(".debug_info"));
    assert!(msg("elf-compressed-huge-size.bin").contains("claims"));
    assert!(msg("elf-debug-info-garbage.bin").contains("malformed DWARF"));
}

#[test]
fn missing_file_and_directory() {
    let out = run(&["offsets", "/nonexistent/binary", "T"]);
    let e = assert_clean_error(&out, BAD_INPUT, "missing");
    assert!(e.contains("cannot open /nonexistent/binary"), "{e}");
    let dir = env!("CARGO_MANIFEST_DIR");
    for cmd in [
        vec!["offsets", dir, "T"],
        vec!["profile", dir],
        vec!["symbols", dir],
        vec!["lines", dir, "0x1"],
    ] {
        let out = run(&cmd);
        let e = assert_clean_error(&out, BAD_INPUT, "directory");
        assert!(e.contains("is a directory"), "{e}");
    }
}

#[test]
fn stripped_binary_says_how_to_build_with_debug_info() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stripped-mapscope");
    let out = std::process::Command::new("objcopy")
        .args(["--strip-debug", MAPSCOPE])
        .arg(&tmp)
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        _ => {
            eprintln!("note: objcopy unavailable, skipping");
            return;
        }
    }
    let out = run(&["offsets", tmp.to_str().unwrap(), "T"]);
    let e = assert_clean_error(&out, BAD_INPUT, "stripped");
    assert!(
        e.contains("no DWARF debug info") && e.contains("debug = 2") && e.contains("-ldflags=-w"),
        "{e}"
    );
}

#[test]
fn unknown_type_suggests_close_names() {
    let out = run(&["offsets", MAPSCOPE, "mapscope::types::Layot"]);
    let e = assert_clean_error(&out, NOT_FOUND, "unknown type");
    assert!(
        e.contains("no struct type matches `mapscope::types::Layot`"),
        "{e}"
    );
    assert!(
        e.contains("did you mean") && e.contains("mapscope::types::Layout"),
        "{e}"
    );
    let out = run(&["offsets", MAPSCOPE, "CompletelyUnheardOfTypeName"]);
    assert_clean_error(&out, NOT_FOUND, "unknown type");
}

#[test]
fn ambiguous_type_lists_candidates() {
    // mapscope has both mapscope::types::Layout and core::alloc::layout::Layout.
    let out = run(&["offsets", MAPSCOPE, "Layout"]);
    let e = assert_clean_error(&out, AMBIGUOUS, "ambiguous");
    assert!(
        e.contains("mapscope::types::Layout") && e.contains("core::alloc::layout::Layout"),
        "{e}"
    );
    // --all prints them all instead.
    let all = ok(&["offsets", MAPSCOPE, "Layout", "--all"]);
    assert!(
        all.contains("struct mapscope::types::Layout {")
            && all.contains("struct core::alloc::layout::Layout {")
    );
}

#[test]
fn usage_errors() {
    for args in [
        vec![],
        vec!["offsets"],
        vec!["offsets", MAPSCOPE],
        vec!["frobnicate"],
        vec!["lines", MAPSCOPE, "nonsense"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(BAD_INPUT), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    let out = run(&["lines", MAPSCOPE, "nonsense"]);
    assert_clean_error(&out, BAD_INPUT, "lines nonsense");
    let out = run(&["offsets", MAPSCOPE]);
    assert_clean_error(&out, BAD_INPUT, "offsets without type");
}

#[test]
fn not_found_lookups() {
    let out = run(&["symbols", MAPSCOPE, "no_such_function_anywhere_xyz"]);
    assert_clean_error(&out, NOT_FOUND, "symbol");
    let out = run(&["lines", MAPSCOPE, "no_such_file.rs:10"]);
    assert_clean_error(&out, NOT_FOUND, "file:line");
    let out = run(&["lines", MAPSCOPE, "0x1"]);
    assert_clean_error(&out, NOT_FOUND, "address");
    let out = run(&["profile", MAPSCOPE]);
    let e = assert_clean_error(&out, NOT_FOUND, "no map runtime");
    assert!(e.contains("contains no map runtime"), "{e}");
}

#[test]
fn help_has_examples_for_every_subcommand() {
    for sub in ["offsets", "symbols", "lines", "profile"] {
        let h = ok(&[sub, "--help"]);
        assert!(h.contains("Examples:"), "{sub} --help: {h}");
    }
    assert!(ok(&["--help"]).contains("Exit codes"));
}

#[test]
fn unwritable_output_is_an_error() {
    let Some(bin) = gomap_target() else { return };
    let out = run(&[
        "profile",
        bin.to_str().unwrap(),
        "-o",
        "/nonexistent-dir/p.json",
    ]);
    assert_clean_error(&out, 4, "output");
}
