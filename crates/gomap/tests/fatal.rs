//! Every misuse check fires with Go's message and exit status, at the place Go has it.

use std::process::Command;

fn run(case: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gomap-misuse"))
        .arg(case)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run gomap-misuse");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts the case dies through `fatal` with `message`, inside the role function `role`.
fn expect_fatal(case: &str, message: &str, role: &str) {
    let (code, stderr) = run(case);
    assert_eq!(code, Some(2), "{case}: exit status\n{stderr}");
    assert!(
        stderr.starts_with(&format!("fatal error: {message}\n")),
        "{case}: message\n{stderr}"
    );
    assert!(
        stderr.contains("[running]:"),
        "{case}: no thread header\n{stderr}"
    );
    // The backtrace names the detecting role (debug build: symbols are present).
    assert!(
        stderr.contains(&format!("gomap::runtime::{role}\n")),
        "{case}: not detected in {role}\n{stderr}"
    );
}

#[test]
fn concurrent_map_writes_at_assign_entry() {
    expect_fatal(
        "assign-entry",
        "concurrent map writes",
        "assign::assign_fast64",
    );
    expect_fatal(
        "assign-generic-entry",
        "concurrent map writes",
        "assign::assign",
    );
    expect_fatal(
        "assign-str-entry",
        "concurrent map writes",
        "assign::assign_faststr",
    );
}

#[test]
fn concurrent_map_writes_at_assign_end() {
    expect_fatal(
        "assign-end",
        "concurrent map writes",
        "assign::assign_fast64",
    );
}

#[test]
fn concurrent_map_writes_at_delete_and_clear() {
    expect_fatal(
        "delete-entry",
        "concurrent map writes",
        "delete::delete_fast64",
    );
    expect_fatal("clear-entry", "concurrent map writes", "delete::clear");
}

#[test]
fn concurrent_map_read_and_map_write() {
    expect_fatal(
        "access-entry",
        "concurrent map read and map write",
        "access::access2_fast64",
    );
    expect_fatal(
        "access1-entry",
        "concurrent map read and map write",
        "access::access1_fast64",
    );
}

#[test]
fn concurrent_map_iteration_and_map_write() {
    expect_fatal(
        "iterate",
        "concurrent map iteration and map write",
        "iter::iter_next",
    );
}

#[test]
fn unknown_case_is_a_usage_error() {
    let (code, stderr) = run("no-such-case");
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
