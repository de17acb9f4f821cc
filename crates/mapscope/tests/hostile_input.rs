//! Issue 9: nothing a user types or a file holds can hang, crash, or silently give
//! a wrong answer. What users type: control characters, non-UTF-8 paths. Every
//! failure is one escaped line.

mod common;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

/// A small C binary (builds in milliseconds, scans instantly).
fn c_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| gcc(&scratch("hostile-c"), "points", C_POINTS, &["-g"]))
        .clone()
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn control_characters_in_arguments_are_escaped() {
    let bin = c_binary();
    let b = bin.as_os_str();
    let cases: Vec<(Vec<&OsStr>, i32)> = vec![
        (vec![os("offsets"), b, os("point\x1b[31mred")], 1),
        (vec![os("offsets"), b, os("a\nb\rc")], 1),
        (vec![os("symbols"), b, os("x\x1b]0;title\x07")], 1),
        (vec![os("lines"), b, os("f\x1b[2J.c:1")], 1),
        (vec![os("lines"), b, os("\x1b[2Jnonsense")], 2),
        (vec![os("lines"), b, os("0x\x1b")], 2),
        (vec![os("offsets"), os("/nonexistent/\x1b[2J"), os("T")], 2),
        (vec![os("offsets"), b, os("x\u{202e}y\u{9b}z")], 1),
    ];
    // clap removes control characters from the argument it quotes; still one clean line.
    let out = run_with_timeout(&[os("\x1b[1mfrob\x07nicate")], 30);
    clean_error(&out, 2, "unknown subcommand");
    for (args, code) in cases {
        let out = run_with_timeout(&args, 60);
        let line = clean_error(&out, code, &format!("{args:?}"));
        assert!(
            line.contains("\\x1b")
                || line.contains("\\x0a")
                || line.contains("\\u{202e}")
                || line.contains("\\x07"),
            "{args:?}: the control character is not shown escaped: {line}"
        );
    }
}

#[test]
fn non_utf8_paths_are_shown_as_bytes() {
    let p = OsString::from_vec(b"/nonexistent/\xff\xfe-\x1b".to_vec());
    let out = run_with_timeout(&[os("offsets"), &p, os("T")], 30);
    let line = clean_error(&out, 2, "non-UTF-8 path");
    assert!(line.contains("/nonexistent/\\xff\\xfe-\\x1b"), "{line}");
    // A real file under a non-UTF-8 name works.
    let dir = scratch("hostile-utf8");
    let odd = dir.join(OsStr::from_bytes(b"bin\xff"));
    std::fs::copy(c_binary(), &odd).unwrap();
    let out = run_with_timeout(&[os("offsets"), odd.as_os_str(), os("point")], 30);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn errors_say_what_is_wrong_on_one_line() {
    let c = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let msg = |f: &str| {
        let p = c.join(f);
        let out = run_with_timeout(&[os("offsets"), p.as_os_str(), os("T")], 30);
        clean_error(&out, 2, f)
    };
    // gimli says this one on two lines.
    let m = msg("elf-abbrev-tag-zero.bin");
    assert!(m.contains("abbreviation has tag 0"), "{m}");
}
