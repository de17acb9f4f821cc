//! Stripped binaries with their DWARF in a separate file, found as gdb finds it:
//! `.gnu_debuglink` (same directory, `.debug/`, the global debug directory + the
//! binary's directory; the CRC must match) and the build-id under
//! `DIR/.build-id/xx/yyyy.debug`. Made with `objcopy --only-keep-debug`, `strip`
//! and `objcopy --add-gnu-debuglink`, as Debian's -dbgsym packages are.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// (stripped binary, its debug file) in `dir`; the debug file is `prog.debug`.
fn stripped(dir: &Path, link: bool) -> (PathBuf, PathBuf) {
    let bin = gcc(dir, "prog", C_POINTS, &["-g", "-Wl,--build-id"]);
    let dbg = dir.join("prog.debug");
    let o = |s: &str| OsStr::new(s).to_os_string();
    tool(
        "objcopy",
        &[
            o("--only-keep-debug").as_os_str(),
            bin.as_os_str(),
            dbg.as_os_str(),
        ],
    );
    tool("strip", &[bin.as_os_str()]);
    if link {
        let mut arg = o("--add-gnu-debuglink=");
        arg.push(&dbg);
        tool("objcopy", &[arg.as_os_str(), bin.as_os_str()]);
    }
    (bin, dbg)
}

/// Runs mapscope with a given debug directory (never the machine's /usr/lib/debug).
fn run_dirs(args: &[&OsStr], dirs: &Path) -> Output {
    Command::new(MAPSCOPE)
        .args(args)
        .env("MAPSCOPE_DEBUG_FILE_DIRECTORY", dirs)
        .output()
        .expect("spawn")
}

fn offsets(bin: &Path, dirs: &Path) -> Output {
    run_dirs(
        &[
            OsStr::new("offsets"),
            bin.as_os_str(),
            OsStr::new("segment"),
            OsStr::new("--json"),
        ],
        dirs,
    )
}

fn assert_segment(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let l = &v[0]["types"][0];
    assert_eq!(l["size"], 56);
    assert_eq!(members(l)[2], ("name".into(), 48, 8));
}

fn build_id(bin: &Path) -> String {
    let out = sh("readelf", &["-n", bin.to_str().unwrap()]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .expect("build-id note")
        .trim()
        .to_string()
}

#[test]
fn debuglink_beside_the_binary_and_in_dot_debug() {
    let dir = scratch("debuglink-beside");
    let nowhere = dir.join("no-debug-dir");
    let (bin, dbg) = stripped(&dir, true);
    assert_segment(&offsets(&bin, &nowhere));
    // Symbols come from the debug file's symbol table (the binary has none left).
    let out = run_dirs(
        &[
            OsStr::new("symbols"),
            bin.as_os_str(),
            OsStr::new("main"),
            OsStr::new("--json"),
        ],
        &nowhere,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["functions"][0]["name"], "main");
    assert!(v["functions"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("prog.c"));
    // In the .debug subdirectory.
    std::fs::create_dir_all(dir.join(".debug")).unwrap();
    std::fs::rename(&dbg, dir.join(".debug/prog.debug")).unwrap();
    assert_segment(&offsets(&bin, &nowhere));
}

#[test]
fn debuglink_under_the_global_debug_directory() {
    let dir = scratch("debuglink-global");
    let (bin, dbg) = stripped(&dir, true);
    // DIR + the binary's absolute directory + name, like /usr/lib/debug/usr/bin/prog.debug.
    let global = dir.join("global");
    let real_dir = bin.parent().unwrap().canonicalize().unwrap();
    let target = global.join(real_dir.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&target).unwrap();
    std::fs::rename(&dbg, target.join("prog.debug")).unwrap();
    assert_segment(&offsets(&bin, &global));
}

#[test]
fn build_id_path_is_followed() {
    let dir = scratch("debuglink-build-id");
    let (bin, dbg) = stripped(&dir, false);
    let id = build_id(&bin);
    let global = dir.join("global");
    let sub = global.join(".build-id").join(&id[..2]);
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::rename(&dbg, sub.join(format!("{}.debug", &id[2..]))).unwrap();
    assert_segment(&offsets(&bin, &global));
    // Without it: the old advice (no debuglink means nothing promised a debug file).
    let line = clean_error(&offsets(&bin, &dir.join("elsewhere")), 2, "no debug file");
    assert!(line.contains("no DWARF debug info (stripped?)"), "{line}");
}

#[test]
fn a_debug_file_from_another_build_is_refused() {
    let dir = scratch("debuglink-crc");
    let (bin, dbg) = stripped(&dir, true);
    let mut bytes = std::fs::read(&dbg).unwrap();
    bytes.extend_from_slice(b"not the same file");
    std::fs::write(&dbg, bytes).unwrap();
    let line = clean_error(&offsets(&bin, &dir.join("none")), 2, "crc mismatch");
    assert!(
        line.contains("belongs to another build") && line.contains("CRC"),
        "{line}"
    );
}

#[test]
fn a_missing_debug_file_is_named_with_the_places_searched() {
    let dir = scratch("debuglink-missing");
    let (bin, dbg) = stripped(&dir, true);
    std::fs::remove_file(&dbg).unwrap();
    let line = clean_error(&offsets(&bin, &dir.join("global")), 2, "missing");
    assert!(
        line.contains("prog.debug (.gnu_debuglink, CRC 0x")
            && line.contains(&format!(
                "{}/.debug/prog.debug",
                dir.canonicalize().unwrap().display()
            ))
            && line.contains("MAPSCOPE_DEBUG_FILE_DIRECTORY"),
        "{line}"
    );
}
