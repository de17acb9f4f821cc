//! Helpers shared by the integration tests: running the CLI, building target
//! programs, and parsing the independent oracles (gdb, llvm-dwarfdump, nm).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const MAPSCOPE: &str = env!("CARGO_BIN_EXE_mapscope");

/// Runs mapscope with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(MAPSCOPE)
        .args(args)
        .output()
        .expect("spawn mapscope")
}

/// Runs mapscope and returns stdout, asserting success.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "mapscope {:?} failed ({:?}): {}",
        args,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8 stdout")
}

/// Runs mapscope with `--json` output already in `args` and parses it.
pub fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).expect("valid JSON")
}

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs a command and returns its stdout (panics on spawn failure).
pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The workspace root (crates/mapscope/../..).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Builds tests/gomap-target (a small program using gomap) into a private target
/// directory and returns the binary. Built once per test process.
pub fn gomap_target() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let gomap = workspace().join("crates/gomap");
        if !gomap.join("Cargo.toml").exists() {
            eprintln!("note: crates/gomap missing, skipping gomap tests");
            return None;
        }
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gomap-target");
        std::fs::create_dir_all(tmp.join("src")).ok()?;
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gomap-target");
        let manifest = std::fs::read_to_string(src.join("Cargo.toml"))
            .ok()?
            .replace("../../../gomap", &gomap.display().to_string());
        write_if_changed(&tmp.join("Cargo.toml"), &manifest);
        write_if_changed(
            &tmp.join("src/main.rs"),
            &std::fs::read_to_string(src.join("src/main.rs")).ok()?,
        );
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(tmp.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(tmp.join("target"))
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .output()
            .expect("spawn cargo");
        assert!(
            out.status.success(),
            "building gomap-target failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(tmp.join("target/debug/mapscope-gomap-target"))
    })
    .clone()
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("write");
    }
}

/// Path of the Go 1.19 toolchain, if installed.
pub fn go() -> Option<PathBuf> {
    for cand in ["/usr/lib/go-1.19/bin/go", "go"] {
        let ok = Command::new(cand)
            .arg("version")
            .output()
            .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("go1.19"));
        if ok.unwrap_or(false) {
            return Some(PathBuf::from(cand));
        }
    }
    None
}

/// Builds tests/go/maps.go with Go 1.19.
pub fn go_binary() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        go_build(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/maps.go"),
            "maps",
        )
    })
    .clone()
}

/// Builds the Go fixture concurrent-writes (fixtures/go/cmd/concurrent-writes, a package of the
/// fixtures/go module) with Go 1.19, when both exist.
pub fn go_fixture() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let module = workspace().join("fixtures/go");
        if !module.join("cmd/concurrent-writes").exists() {
            eprintln!("note: {} missing, skipping", module.display());
            return None;
        }
        let Some(go) = go() else {
            eprintln!("note: Go 1.19 not installed, skipping Go tests");
            return None;
        };
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
        std::fs::create_dir_all(&dir).ok()?;
        let bin = dir.join("go-concurrent-writes");
        let out = Command::new(go)
            .args(["build", "-o"])
            .arg(&bin)
            .arg("./cmd/concurrent-writes")
            .current_dir(&module)
            .env("GOCACHE", dir.join("cache"))
            .env("GOPATH", dir.join("gopath"))
            .env("GOFLAGS", "")
            .env("GOTOOLCHAIN", "local")
            .env("GOWORK", "off")
            .env("GO111MODULE", "on")
            .env("GOPROXY", "off")
            .output()
            .expect("spawn go");
        assert!(
            out.status.success(),
            "go build ./cmd/concurrent-writes failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(bin)
    })
    .clone()
}

fn go_build(src: &Path, name: &str) -> Option<PathBuf> {
    let Some(go) = go() else {
        eprintln!("note: Go 1.19 not installed, skipping Go tests");
        return None;
    };
    Some(go_build_with(&go, &[], src, name, &[]))
}

/// Builds tests/go/maps.go with Go 1.19 and `-gcflags=all=-N -l` (parameters spilled early).
pub fn go_binary_noopt() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let Some(go) = go() else {
            eprintln!("note: Go 1.19 not installed, skipping Go tests");
            return None;
        };
        Some(go_build_with(
            &go,
            &[],
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/maps.go"),
            "maps-noopt",
            &["-gcflags=all=-N -l"],
        ))
    })
    .clone()
}

/// Builds `src` with the `go` command at `go`, extra environment and build flags.
pub fn go_build_with(
    go: &Path,
    env: &[(&str, &str)],
    src: &Path,
    name: &str,
    flags: &[&str],
) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let bin = dir.join(name);
    let out = Command::new(go)
        .arg("build")
        .arg("-o")
        .arg(&bin)
        .args(flags)
        .arg(src)
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GO111MODULE", "off")
        .env("GOTOOLCHAIN", "local")
        .envs(env.iter().copied())
        .output()
        .expect("spawn go");
    assert!(
        out.status.success(),
        "go build {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// The Go toolchains the tests use besides Debian's 1.19: (version, extra environment).
/// 1.24 and 1.25 default to Swiss tables; `GOEXPERIMENT=noswissmap` restores classic maps.
pub const OTHER_GO: &[(&str, &[(&str, &str)])] = &[
    ("go1.20.14", &[]),
    ("go1.21.13", &[]),
    ("go1.22.12", &[]),
    ("go1.23.12", &[]),
    ("go1.24.13", &[("GOEXPERIMENT", "noswissmap")]),
    ("go1.25.7", &[("GOEXPERIMENT", "noswissmap")]),
];

/// The `go` binary of toolchain `version` when the go command already has it cached
/// (`GOPROXY=off`: never downloads). Prints a skip line otherwise.
pub fn cached_toolchain(version: &str) -> Option<PathBuf> {
    let out = Command::new("go")
        .args(["env", "GOROOT"])
        .env("GOTOOLCHAIN", version)
        .env("GOPROXY", "off")
        .env_remove("GOEXPERIMENT")
        .output();
    let root = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => {
            eprintln!(
                "skip: Go toolchain {version} is not cached (GOTOOLCHAIN={version} go version)"
            );
            return None;
        }
    };
    let go = Path::new(&root).join("bin/go");
    let ok = Command::new(&go)
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .map(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains(&format!("{version} "))
        })
        .unwrap_or(false);
    if !ok {
        eprintln!("skip: {} is not Go {version}", go.display());
        return None;
    }
    Some(go)
}

/// Builds tests/go/maps.go with toolchain `version` (optimised), when it is cached.
pub fn go_binary_version(version: &str) -> Option<PathBuf> {
    let (_, env) = OTHER_GO.iter().find(|(v, _)| *v == version)?;
    let go = cached_toolchain(version)?;
    Some(go_build_with(
        &go,
        env,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/maps.go"),
        &format!("maps-{version}"),
        &[],
    ))
}

/// Instruction addresses of `[start, end)` according to objdump.
pub fn instructions(bin: &Path, start: u64, end: u64) -> Vec<u64> {
    let out = sh(
        "objdump",
        &[
            "-d",
            "--no-show-raw-insn",
            &format!("--start-address={start:#x}"),
            &format!("--stop-address={end:#x}"),
            bin.to_str().expect("path"),
        ],
    );
    out.lines()
        .filter_map(|l| {
            let (a, rest) = l.trim_start().split_once(':')?;
            if rest.trim().is_empty() || rest.contains(".byte") || rest.contains("(bad)") {
                return None;
            }
            u64::from_str_radix(a.trim(), 16).ok()
        })
        .filter(|a| (start..end).contains(a))
        .collect()
}

/// A fixture binary from the workspace's target/debug, when built.
/// With MAPSCOPE_REQUIRE_FIXTURES=1 a missing fixture fails the test.
pub fn fixture(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let p = dir.join("debug").join(name);
    if p.exists() {
        // Work on a copy: a concurrent rebuild must not change the file mid-test.
        let copy_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixtures");
        std::fs::create_dir_all(&copy_dir).ok()?;
        let meta = std::fs::metadata(&p).ok()?;
        let stamp = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        let copy = copy_dir.join(format!("{name}-{stamp}-{}", meta.len()));
        if !copy.exists() {
            let tmp = copy_dir.join(format!("{name}.{}.tmp", std::process::id()));
            std::fs::copy(&p, &tmp).ok()?;
            std::fs::rename(&tmp, &copy).ok()?;
        }
        return Some(copy);
    }
    if std::env::var("MAPSCOPE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!(
            "fixture {} not built (cargo build -p fixtures)",
            p.display()
        );
    }
    eprintln!("note: fixture {} not built, skipping", p.display());
    None
}

/// One member as an oracle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OMember {
    pub name: String,
    pub offset: u64,
    pub size: Option<u64>,
}

/// Parses `gdb -batch -ex 'ptype /o T'` output: (total size, top-level members).
pub fn gdb_ptype(bin: &Path, ty: &str) -> Option<(u64, Vec<OMember>)> {
    let out = sh(
        "gdb",
        &[
            "-nx",
            "-batch",
            "-ex",
            &format!("ptype /o {ty}"),
            bin.to_str()?,
        ],
    );
    let mut depth = 0i32;
    let mut started = false;
    let mut members = Vec::new();
    let mut total = None;
    for line in out.lines() {
        if !started {
            if line.contains("type = ") && line.trim_end().ends_with('{') {
                started = true;
                depth = 1;
            }
            continue;
        }
        let (prefix, content) = match line.find("*/") {
            Some(i) if line.trim_start().starts_with("/*") => (&line[..i], line[i + 2..].trim()),
            _ => ("", line.trim()),
        };
        if let Some(rest) = prefix.trim_start().strip_prefix("/* total size (bytes):") {
            total = rest.trim().parse().ok();
            continue;
        }
        if let Some(rest) = line.trim().strip_prefix("/* total size (bytes):") {
            if depth == 1 {
                total = rest.trim_end_matches("*/").trim().parse().ok();
            }
            continue;
        }
        if content.starts_with('}') {
            depth -= 1;
            if depth == 0 {
                break;
            }
            continue;
        }
        if depth == 1 && !prefix.is_empty() && !prefix.contains("XXX") {
            // "/*      0      |       8 */    count: isize,"
            let nums: Vec<&str> = prefix
                .trim_start_matches([' ', '/', '*'])
                .split('|')
                .collect();
            let offset = nums
                .first()
                .and_then(|s| s.trim().split(':').next()?.trim().parse().ok());
            let size = nums.get(1).and_then(|s| s.trim().parse().ok());
            // Rust: "name: type,"; C: "type name;" (possibly "type *name;" or "type name[8];").
            let name = if content.contains(':') {
                content.split(':').next().map(|n| n.trim().to_string())
            } else {
                content
                    .trim_end_matches([';', '{'])
                    .split_whitespace()
                    .last()
                    .map(|n| {
                        n.trim_start_matches('*')
                            .split('[')
                            .next()
                            .unwrap_or("")
                            .to_string()
                    })
            };
            if let (Some(offset), Some(name)) = (offset, name) {
                members.push(OMember { name, offset, size });
            }
        }
        if content.ends_with('{') {
            depth += 1;
        }
    }
    Some((total?, members))
}

/// (name, offset, type name) of a member as llvm-dwarfdump shows it.
pub type DdMember = (String, u64, String);

/// Parses `llvm-dwarfdump --name=T --show-children`: (byte size, members) of the
/// first structure_type definition named exactly `name`.
pub fn dwarfdump_struct(bin: &Path, name: &str) -> Option<(u64, Vec<DdMember>)> {
    let out = sh(
        "llvm-dwarfdump",
        &[&format!("--name={name}"), "--show-children", bin.to_str()?],
    );
    let mut size = None;
    let mut members = Vec::new();
    let mut in_struct = false;
    let mut cur: Option<(Option<String>, Option<u64>, Option<String>)> = None;
    let flush = |cur: &mut Option<(Option<String>, Option<u64>, Option<String>)>,
                 members: &mut Vec<(String, u64, String)>| {
        if let Some((Some(n), Some(o), t)) = cur.take() {
            members.push((n, o, t.unwrap_or_default()));
        }
    };
    for line in out.lines() {
        let t = line.trim();
        if t.contains("DW_TAG_structure_type") {
            if in_struct && size.is_some() {
                break;
            }
            in_struct = true;
            continue;
        }
        if !in_struct {
            continue;
        }
        if t.contains("DW_TAG_member") {
            flush(&mut cur, &mut members);
            cur = Some((None, None, None));
            continue;
        }
        if t.contains("DW_TAG_") {
            flush(&mut cur, &mut members);
            continue;
        }
        let quoted = |t: &str| t.split('"').nth(1).map(str::to_string);
        let paren = |t: &str| {
            t.split('(')
                .nth(1)
                .and_then(|s| s.trim_end_matches(')').parse::<u64>().ok())
        };
        match &mut cur {
            Some(m) => {
                if t.starts_with("DW_AT_name") {
                    m.0 = quoted(t);
                } else if t.starts_with("DW_AT_data_member_location") {
                    m.1 = paren(t);
                } else if t.starts_with("DW_AT_type") {
                    m.2 = quoted(t);
                }
            }
            None => {
                if t.starts_with("DW_AT_byte_size") {
                    size = paren(t);
                }
            }
        }
    }
    flush(&mut cur, &mut members);
    Some((size?, members))
}

/// Function symbols from `nm` (address by exact raw symbol name).
pub fn nm(bin: &Path) -> std::collections::HashMap<String, u64> {
    let out = sh("nm", &[bin.to_str().expect("path")]);
    let mut m = std::collections::HashMap::new();
    for line in out.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() == 3 && matches!(parts[1], "T" | "t" | "W" | "w") {
            if let Ok(a) = u64::from_str_radix(parts[0], 16) {
                m.insert(parts[2].to_string(), a);
            }
        }
    }
    m
}

/// The first `--json` type layout for a query.
pub fn layouts(bin: &Path, ty: &str, all: bool) -> Vec<serde_json::Value> {
    let b = bin.to_str().expect("path");
    let mut args = vec!["offsets", b, ty, "--json"];
    if all {
        args.push("--all");
    }
    let v = json(&args);
    v[0]["types"].as_array().cloned().unwrap_or_default()
}

/// (name, offset, size) of each member of a JSON layout.
pub fn members(layout: &serde_json::Value) -> Vec<(String, u64, u64)> {
    layout["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_string(),
                m["offset"].as_u64().expect("offset"),
                m["size"].as_u64().expect("size"),
            )
        })
        .collect()
}

/// Go 1.19's hmap on amd64, field by field (REFERENCE.md §1, read from a Go binary's DWARF);
/// gomap's `Hmap` must match it.
pub const HMAP_OFFSETS: &[(&str, u64)] = &[
    ("count", 0),
    ("flags", 8),
    ("B", 9),
    ("noverflow", 10),
    ("hash0", 12),
    ("buckets", 16),
    ("oldbuckets", 24),
    ("nevacuate", 32),
    ("extra", 40),
];

/// Runs mapscope with a deadline: a hang fails the test instead of stalling the run.
pub fn run_with_timeout(args: &[&std::ffi::OsStr], secs: u64) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(MAPSCOPE)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mapscope");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mapscope {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A small C program with two structs, for split DWARF and debug-file tests.
pub const C_POINTS: &str = "#include <stdio.h>
struct point { int x; long y; char tag; };
struct segment { struct point a, b; const char *name; };
int main(void) { struct segment s = {{1, 2, 'a'}, {3, 4, 'b'}, \"s\"}; printf(\"%d\\n\", s.a.x); return 0; }
";

/// Compiles `src` (C) with gcc in `dir` (created) as `name`, with `flags`, and
/// returns the binary. gcc is required: a missing compiler fails the test.
pub fn gcc(dir: &Path, name: &str, src: &str, flags: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).expect("write C source");
    let bin = dir.join(name);
    let out = Command::new("gcc")
        .current_dir(dir)
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(&c)
        .output()
        .expect("gcc is required for these tests");
    assert!(
        out.status.success(),
        "gcc {flags:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Runs a tool (objcopy, strip, dwp) and asserts it succeeded.
pub fn tool(cmd: &str, args: &[&std::ffi::OsStr]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir scratch");
    d
}

/// Asserts a clean failure: the exit code, one stderr line `mapscope: error: ...`
/// without raw control characters, no panic, nothing on stdout. Returns the line.
pub fn clean_error(out: &Output, code: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit code; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr);
    assert!(
        !line.contains('\n') && line.starts_with("mapscope: error: "),
        "{what}: expected one error line, got {stderr:?}"
    );
    assert!(
        !line.chars().any(|c| c.is_control()),
        "{what}: raw control character in {line:?}"
    );
    assert!(out.stdout.is_empty(), "{what}: stdout should be empty");
    line.to_string()
}

/// Runs `bin` under gdb with tests/gdb/check_places.py, stopping at `stops`; returns one record per stop.
pub fn run_harness(bin: &Path, stops: Vec<serde_json::Value>, tag: &str) -> Vec<serde_json::Value> {
    run_harness_with(bin, stops, tag, 2, None)
}

/// [`run_harness`] recording up to `max_hits` stops per pc.
pub fn run_harness_hits(
    bin: &Path,
    stops: Vec<serde_json::Value>,
    tag: &str,
    max_hits: usize,
) -> Vec<serde_json::Value> {
    run_harness_with(bin, stops, tag, max_hits, None)
}

/// [`run_harness`] with a hit limit and, when `g` (a profile's `runtime`) is given, the
/// goroutine checks at every stop.
pub fn run_harness_with(
    bin: &Path,
    stops: Vec<serde_json::Value>,
    tag: &str,
    max_hits: usize,
    g: Option<serde_json::Value>,
) -> Vec<serde_json::Value> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("harness");
    std::fs::create_dir_all(&dir).unwrap();
    let spec_path = dir.join(format!("{tag}.spec.json"));
    let out_path = dir.join(format!("{tag}.out.jsonl"));
    let _ = std::fs::remove_file(&out_path);
    let spec = serde_json::json!({"out": out_path, "max_hits": max_hits, "stops": stops, "g": g});
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gdb/check_places.py");
    let out = Command::new("gdb")
        .args(["-nx", "-batch", "-iex", "set auto-load no", "-x"])
        .arg(&harness)
        .arg(bin)
        .env("MAPSCOPE_CHECK", &spec_path)
        .output()
        .expect("spawn gdb");
    let text = std::fs::read_to_string(&out_path).unwrap_or_else(|_| {
        panic!(
            "gdb wrote no records: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs mapscope with extra environment and parses its JSON stdout, asserting success.
pub fn json_env(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let out = Command::new(MAPSCOPE)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("spawn mapscope");
    assert!(
        out.status.success(),
        "mapscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Go binaries to test: Debian's 1.19 (optimised and `-N -l`) and each cached toolchain of
/// [`OTHER_GO`], as (label, binary).
pub fn all_go_binaries() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    if let Some(b) = go_binary() {
        v.push(("go1.19".to_string(), b));
    }
    if let Some(b) = go_binary_noopt() {
        v.push(("go1.19 -N -l".to_string(), b));
    }
    for (version, _) in OTHER_GO {
        if let Some(b) = go_binary_version(version) {
            v.push((version.to_string(), b));
        }
    }
    v
}
