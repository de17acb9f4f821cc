//! Go 1.19 as a reference: finding the toolchain, building `fixtures/go/mapdiff` and running it.
//!
//! The program is built once per test process into this crate's temporary target directory,
//! with a private build cache and GOPATH there, so that the tests neither read nor write the
//! user's Go state. Without Go 1.19 the tests that need it are skipped, unless
//! `MAPSCOPE_REQUIRE_FIXTURES=1` (set by `make test`) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Go 1.19 toolchain: `$GO`, Debian's `/usr/lib/go-1.19/bin/go`, or `go` on the PATH, the
/// first that reports version go1.19.
fn go() -> Option<PathBuf> {
    let from_env = std::env::var_os("GO").map(PathBuf::from);
    let candidates = from_env
        .into_iter()
        .chain(["/usr/lib/go-1.19/bin/go", "go"].map(PathBuf::from));
    for cand in candidates {
        let out = Command::new(&cand)
            .arg("version")
            .env("GOTOOLCHAIN", "local")
            .output();
        if let Ok(out) = out {
            if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("go1.19") {
                return Some(cand);
            }
        }
    }
    None
}

/// The built `mapdiff` program, or `None` (after a note) when Go 1.19 is missing and not
/// required.
pub fn mapdiff() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(build).clone()
}

fn build() -> Option<PathBuf> {
    let Some(go) = go() else {
        if std::env::var("MAPSCOPE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!(
                "Go 1.19 not found (/usr/lib/go-1.19/bin/go, or set GO): `make deps` installs it"
            );
        }
        eprintln!("note: Go 1.19 not installed, skipping the comparison with Go");
        return None;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/go/mapdiff");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-mapdiff");
    std::fs::create_dir_all(&dir).expect("create the Go build directory");
    // Test binaries build concurrently: each writes its own file, then renames it into place.
    let bin = dir.join("mapdiff");
    let tmp = dir.join(format!("mapdiff.{}.tmp", std::process::id()));
    let out = Command::new(&go)
        .arg("build")
        .arg("-o")
        .arg(&tmp)
        .arg(".")
        .current_dir(&src)
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "off")
        .output()
        .expect("spawn go build");
    assert!(
        out.status.success(),
        "go build {} failed: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).expect("move the Go program into place");
    Some(bin)
}

/// Runs `mapdiff` with `args` (and extra environment) and returns its standard output.
pub fn run(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("spawn mapdiff");
    assert!(
        out.status.success(),
        "mapdiff {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("mapdiff writes text")
}
