//! The adversarial pass of issue 9, class by class, with a count per class and
//! outcome. Run it to reproduce the table in docs/RELIABILITY.md:
//!
//! ```sh
//! cargo test -p mapscope --test adversarial -- --nocapture
//! ```
//!
//! Files: every case is made here from small real ELF files (fuzz/seeds, a gcc
//! binary, a Rust binary with DWARF 5 and `.debug_names`) and run through the
//! library's commands in a worker thread (a panic or a 30 s hang fails).
//! Paths and arguments: run through the CLI with a deadline.
//! Outcomes: `ok` (exit 0), `not found` (1), `bad input` (2), `ambiguous` (3);
//! `PANIC`, `HANG` and `UNCLEAN` (an error that is not one escaped line) fail the
//! test, as does an `ok` that disagrees with the unmutated file where it must agree.

mod common;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use mapscope::loader::Binary;

/// Outcome counts of one class.
#[derive(Default)]
struct Tally {
    cases: usize,
    by: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, outcome: &'static str, what: impl FnOnce() -> String) {
        self.cases += 1;
        if std::env::var_os("ADVERSARIAL_VERBOSE").is_some() {
            let w = what();
            eprintln!("{outcome}: {}", w.chars().take(160).collect::<String>());
            *self.by.entry(outcome).or_default() += 1;
            if matches!(outcome, "PANIC" | "HANG" | "UNCLEAN" | "WRONG") {
                self.failures.push(format!("{outcome}: {w}"));
            }
            return;
        }
        *self.by.entry(outcome).or_default() += 1;
        if matches!(outcome, "PANIC" | "HANG" | "UNCLEAN" | "WRONG") {
            self.failures.push(format!("{outcome}: {}", what()));
        }
    }
}

fn outcome_of(code: i32) -> &'static str {
    match code {
        0 => "ok",
        1 => "not found",
        2 => "bad input",
        3 => "ambiguous",
        _ => "other exit",
    }
}

/// An error message fit for a terminal: one line, no control characters.
fn clean(msg: &str) -> bool {
    !msg.is_empty() && !msg.chars().any(|c| c.is_control())
}

/// What the library commands answer for one file: per command, an exit code, or
/// `None` for an unclean error message. The `hmap` layout is (size, extra offset).
#[derive(Debug, Clone, PartialEq)]
struct Answers {
    codes: Vec<Option<i32>>,
    hmap: Option<(u64, Option<u64>)>,
}

fn exercise(data: &[u8]) -> Answers {
    let mut codes = Vec::new();
    let mut code = |r: Result<(), mapscope::Error>| {
        codes.push(match r {
            Ok(()) => Some(0),
            Err(e) => clean(&e.to_string()).then(|| e.exit_code()),
        })
    };
    let bin = match Binary::parse_bytes(Path::new("case"), data) {
        Ok(b) => b,
        Err(e) => {
            code(Err(e));
            return Answers { codes, hmap: None };
        }
    };
    let mut hmap = None;
    code(mapscope::types::TypeIndex::new(&bin).and_then(|idx| {
        let f = idx.lookup(&["hmap"], false)?;
        let l = &f[0].types[0];
        hmap = Some((l.size, l.member("extra").map(|m| m.offset)));
        Ok(())
    }));
    code(mapscope::symbols::lookup(&bin, Some("main"), true).map(drop));
    code(mapscope::lines::query(&bin, &["0x1139".into(), "seed.c:6".into()]).map(drop));
    code(mapscope::profile::build(&bin).map(drop));
    Answers { codes, hmap }
}

/// Runs `exercise` with a deadline, catching panics.
fn run_case(data: Vec<u8>) -> Result<Answers, &'static str> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| exercise(&data));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(_)) => Err("PANIC"),
        Err(_) => Err("HANG"),
    }
}

/// Classifies a mutated file. A mutated file may fail, but when `offsets` still
/// answers, the answer must be the unmutated file's.
fn judge(t: &mut Tally, data: Vec<u8>, base: &Answers, what: impl Fn() -> String) {
    match run_case(data) {
        Err(o) => t.add(o, what),
        Ok(a) => {
            if a.codes.iter().any(Option::is_none) {
                t.add("UNCLEAN", || format!("{} {:?}", what(), a.codes));
            } else if a.hmap.is_some() && a.hmap != base.hmap {
                t.add("WRONG", || {
                    format!("{} {:?} vs {:?}", what(), a.hmap, base.hmap)
                });
            } else {
                // The outcome of `offsets` (or of loading, when that failed).
                let c = a.codes.first().copied().flatten().unwrap_or(2);
                t.add(outcome_of(c), what);
            }
        }
    }
}

/// An ELF64 little-endian file's section headers.
struct Elf {
    data: Vec<u8>,
    shoff: usize,
    shentsize: usize,
    shnum: usize,
}

impl Elf {
    fn new(data: Vec<u8>) -> Elf {
        let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
        let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap()) as usize;
        Elf {
            shentsize: u16_at(0x3a),
            shnum: u16_at(0x3c),
            shoff,
            data,
        }
    }
    fn field(&self, i: usize, off: usize) -> usize {
        self.shoff + i * self.shentsize + off
    }
    fn get(&self, i: usize, off: usize) -> u64 {
        let p = self.field(i, off);
        u64::from_le_bytes(self.data[p..p + 8].try_into().unwrap())
    }
    fn with(&self, i: usize, off: usize, v: u64) -> Vec<u8> {
        let mut d = self.data.clone();
        let p = self.field(i, off);
        d[p..p + 8].copy_from_slice(&v.to_le_bytes());
        d
    }
    fn name(&self, i: usize) -> String {
        let strndx = u16::from_le_bytes([self.data[0x3e], self.data[0x3f]]) as usize;
        let str_off = self.get(strndx, 24) as usize;
        let p = self.field(i, 0);
        let n = u32::from_le_bytes(self.data[p..p + 4].try_into().unwrap()) as usize;
        let s = &self.data[str_off + n..];
        String::from_utf8_lossy(&s[..s.iter().position(|&b| b == 0).unwrap_or(0)]).into_owned()
    }
}

const SH_OFFSET: usize = 24;
const SH_SIZE: usize = 32;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "elf"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 3);
    v
}

fn report(classes: &[(&str, Tally)]) {
    eprintln!("\n| class | cases | outcomes |");
    eprintln!("| --- | --- | --- |");
    for (name, t) in classes {
        let o: Vec<String> = t.by.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!("| {name} | {} | {} |", t.cases, o.join(", "));
    }
    let failures: Vec<&String> = classes.iter().flat_map(|(_, t)| &t.failures).collect();
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn malformed_files() {
    let seeds = seeds();
    let mut classes: Vec<(&str, Tally)> = Vec::new();
    let bases: Vec<Answers> = seeds
        .iter()
        .map(|(_, d)| run_case(d.clone()).unwrap())
        .collect();
    for b in &bases {
        assert_eq!(b.hmap, Some((48, Some(40))), "seed answers");
    }

    let mut t = Tally::default();
    for ((name, d), base) in seeds.iter().zip(&bases) {
        for len in 0..=64 {
            judge(&mut t, d[..len].to_vec(), base, || {
                format!("{name} cut at {len}")
            });
        }
    }
    classes.push(("ELF header truncated (0..=64 bytes)", t));

    let mut t = Tally::default();
    for ((name, d), base) in seeds.iter().zip(&bases) {
        for k in 1..48 {
            let len = d.len() * k / 48;
            judge(&mut t, d[..len].to_vec(), base, || {
                format!("{name} cut at {len}")
            });
        }
    }
    classes.push(("file truncated anywhere (47 points)", t));

    let mut t = Tally::default();
    for ((name, d), base) in seeds.iter().zip(&bases) {
        let elf = Elf::new(d.clone());
        let len = d.len() as u64;
        for i in 1..elf.shnum {
            for v in [len - 1, len + 1, 1 << 40, u64::MAX - 7] {
                judge(&mut t, elf.with(i, SH_OFFSET, v), base, || {
                    format!("{name} {} offset {v:#x}", elf.name(i))
                });
            }
        }
    }
    classes.push(("section offset past end of file", t));

    let mut t = Tally::default();
    for ((name, d), base) in seeds.iter().zip(&bases) {
        let elf = Elf::new(d.clone());
        for i in 1..elf.shnum {
            for v in [d.len() as u64, 1 << 32, 1 << 62, u64::MAX] {
                judge(&mut t, elf.with(i, SH_SIZE, v), base, || {
                    format!("{name} {} size {v:#x}", elf.name(i))
                });
            }
        }
    }
    classes.push(("huge section size", t));

    let mut t = Tally::default();
    for ((name, d), base) in seeds.iter().zip(&bases) {
        let elf = Elf::new(d.clone());
        for i in 1..elf.shnum {
            let n = elf.name(i);
            if n.starts_with(".debug") || n.starts_with(".zdebug") {
                judge(&mut t, elf.with(i, SH_SIZE, 0), base, || {
                    format!("{name} {n} empty")
                });
            }
        }
    }
    classes.push(("zero-length DWARF section (each)", t));

    let mut t = Tally::default();
    for ((name, d), base) in seeds.iter().zip(&bases) {
        for (field, width, vals) in [
            (0x28usize, 8usize, vec![0u64, d.len() as u64, u64::MAX]), // e_shoff
            (0x3a, 2, vec![0, 1, 0xffff]),                             // e_shentsize
            (0x3c, 2, vec![0, 1, 0xffff]),                             // e_shnum
            (0x3e, 2, vec![0, 0xfeff, 0xffff]),                        // e_shstrndx
            (0x04, 1, vec![0, 3]),                                     // EI_CLASS
            (0x05, 1, vec![0, 2, 3]),                                  // EI_DATA
        ] {
            for v in vals {
                let mut m = d.clone();
                m[field..field + width].copy_from_slice(&v.to_le_bytes()[..width]);
                judge(&mut t, m, base, || {
                    format!("{name} header {field:#x}={v:#x}")
                });
            }
        }
    }
    classes.push(("ELF header fields corrupted", t));

    report(&classes);
}

/// DWARF 5 with `.debug_names` (rustc `-C dwarf-version=5`) answers exactly as DWARF 4.
#[test]
fn dwarf5_with_debug_names_answers_like_dwarf4() {
    let dir = scratch("adversarial-dwarf5");
    let src = dir.join("m.rs");
    std::fs::write(
        &src,
        "pub struct Pair<K, V> { pub k: K, pub v: V, pub tag: u8 }
         fn main() { let p = Pair { k: 1u64, v: String::from(\"x\"), tag: 3 };
                     println!(\"{}\", p.k + p.tag as u64 + p.v.len() as u64); }",
    )
    .unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut t = Tally::default();
    let mut answers = Vec::new();
    for (v, flags) in [
        ("4", vec!["-g"]),
        ("5", vec!["-g", "-C", "dwarf-version=5"]),
    ] {
        let bin = dir.join(format!("m{v}"));
        let out = std::process::Command::new(&rustc)
            .args(&flags)
            .arg("-o")
            .arg(&bin)
            .arg(&src)
            .output()
            .expect("rustc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if v == "5" {
            let sections = sh("readelf", &["-S", bin.to_str().unwrap()]);
            assert!(
                sections.contains(".debug_names"),
                "rustc wrote no .debug_names"
            );
        }
        let b = bin.to_str().unwrap();
        let mut per = Vec::new();
        for args in [
            vec![
                "offsets",
                b,
                "m::Pair<u64, alloc::string::String>",
                "--json",
            ],
            vec!["offsets", b, "alloc::string::String", "--json"],
            vec!["symbols", b, "m::main", "--json", "--no-inlined"],
            vec!["lines", b, "m.rs:3", "--json"],
        ] {
            let out = run(&args);
            let code = out.status.code().unwrap_or(-1);
            t.add(outcome_of(code), || format!("{args:?}"));
            let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            // DIE offsets and addresses differ between builds; layouts and names must not.
            strip_volatile(&mut v);
            per.push((code, v));
        }
        answers.push(per);
    }
    if answers[0] != answers[1] {
        t.add("WRONG", || format!("DWARF 4 and 5 differ: {:?}", answers));
    }
    report(&[("Rust DWARF 5 + .debug_names vs DWARF 4", t)]);
}

fn strip_volatile(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for k in ["die_offset", "address", "size_of_code", "copies", "frames"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_volatile);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

/// Paths that are not regular files, and arguments users can type, through the CLI.
#[test]
fn paths_and_arguments() {
    let dir = scratch("adversarial-cli");
    let bin = gcc(&dir, "points", C_POINTS, &["-g"]);
    let mut classes: Vec<(&str, Tally)> = Vec::new();
    let cli = |t: &mut Tally, args: Vec<OsString>| {
        let refs: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        let out = run_with_timeout(&refs, 60);
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let unclean = stderr.contains("panicked")
            || (code != 0
                && (stderr.lines().count() != 1
                    || stderr.trim_end().chars().any(|c| c.is_control())));
        if unclean {
            t.add("UNCLEAN", || format!("{args:?}: {stderr:?}"));
        } else {
            t.add(outcome_of(code), || format!("{args:?}"));
        }
    };
    let o = |s: &str| OsString::from(s);

    // Non-regular files and odd paths.
    let fifo = dir.join("fifo");
    tool("mkfifo", &[fifo.as_os_str()]);
    let a = dir.join("loop-a");
    std::os::unix::fs::symlink(dir.join("loop-b"), &a).unwrap();
    std::os::unix::fs::symlink(&a, dir.join("loop-b")).unwrap();
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink(dir.join("nothing"), &dangling).unwrap();
    let sock = dir.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let odd = dir.join(OsString::from_vec(b"odd\xff\x1b[2J".to_vec()));
    std::fs::copy(&bin, &odd).unwrap();
    let paths: Vec<PathBuf> = vec![
        dir.clone(),
        "/dev/null".into(),
        "/dev/zero".into(),
        "/dev/urandom".into(),
        fifo,
        a,
        dangling,
        sock,
        dir.join("missing"),
        odd,
        PathBuf::from(OsString::from_vec(b"/nonexistent/\xff\xfe".to_vec())),
    ];
    let mut t = Tally::default();
    for p in &paths {
        for cmd in ["offsets", "symbols", "lines", "profile"] {
            let mut args = vec![o(cmd), p.clone().into_os_string()];
            if cmd == "offsets" {
                args.push(o("point"));
            }
            if cmd == "lines" {
                args.push(o("points.c:4"));
            }
            cli(&mut t, args);
        }
    }
    classes.push(("non-regular and odd paths x 4 commands", t));

    // What users type.
    let b = bin.clone().into_os_string();
    let long = "A".repeat(100_000);
    let names: Vec<String> = vec![
        String::new(),
        " ".into(),
        "<".into(),
        ">".repeat(1000),
        "<".repeat(50_000),
        "::".repeat(50_000),
        ".".repeat(100_000),
        "point<".into(),
        "point>".into(),
        "(&*[<{".into(),
        long.clone(),
        format!("point{long}"),
        "point\x1b[31m".into(),
        "po\u{202e}int".into(),
        "point\u{0}".replace('\u{0}', "\u{7f}"),
        "struct point".into(),
        "POINT".into(),
    ];
    let mut t = Tally::default();
    for n in &names {
        cli(&mut t, vec![o("offsets"), b.clone(), o(n)]);
        cli(&mut t, vec![o("symbols"), b.clone(), o(n)]);
        cli(&mut t, vec![o("lines"), b.clone(), o(n)]);
        cli(&mut t, vec![o("lines"), b.clone(), o(&format!("{n}:1"))]);
    }
    for n in [
        "0x",
        "0xffffffffffffffffff",
        "-1",
        "1e9",
        "points.c:",
        "points.c:-1",
        "points.c:99999999999",
    ] {
        cli(&mut t, vec![o("lines"), b.clone(), o(n)]);
    }
    cli(
        &mut t,
        vec![
            o("offsets"),
            b.clone(),
            OsString::from_vec(b"poi\xffnt".to_vec()),
        ],
    );
    classes.push(("type names, patterns, lines queries", t));

    report(&classes);
}

/// Split DWARF files and separate debug files that are damaged, replaced by
/// something else, or made for another build: the answer is right or an error.
#[test]
fn damaged_companion_files() {
    let root = scratch("adversarial-companions");
    let mut t = Tally::default();
    // Runs every command; `offsets` must give the right layout whenever it answers.
    let check = |t: &mut Tally, bin: &Path, what: &str| {
        for cmd in ["offsets", "symbols", "lines", "profile"] {
            let mut args = vec![OsString::from(cmd), bin.as_os_str().to_os_string()];
            match cmd {
                "offsets" => args.extend(["point".into(), "--json".into()]),
                "symbols" => args.push("main".into()),
                "lines" => args.push("points.c:4".into()),
                _ => {}
            }
            let refs: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
            let out = run_with_timeout(&refs, 60);
            let code = out.status.code().unwrap_or(-1);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("panicked")
                || (code != 0
                    && (stderr.lines().count() != 1
                        || stderr.trim_end().chars().any(|c| c.is_control())))
            {
                t.add("UNCLEAN", || format!("{what} {cmd}: {stderr:?}"));
            } else if cmd == "offsets" && code == 0 {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                if v[0]["types"][0]["size"] != 24 {
                    t.add("WRONG", || format!("{what}: {v}"));
                } else {
                    t.add("ok", || format!("{what} {cmd}"));
                }
            } else {
                t.add(outcome_of(code), || format!("{what} {cmd}: {stderr}"));
            }
        }
    };
    let dwo_in = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "dwo"))
            .unwrap()
    };
    let replace = |p: &Path, how: &str, good: &[u8]| {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_dir_all(p);
        match how {
            "dir" => std::fs::create_dir(p).unwrap(),
            "fifo" => tool("mkfifo", &[p.as_os_str()]),
            "loop" => std::os::unix::fs::symlink(p, p).unwrap(),
            "garbage" => std::fs::write(p, b"not an ELF file at all\n").unwrap(),
            "empty" => std::fs::write(p, b"").unwrap(),
            cut => {
                let n: usize = cut.parse().unwrap();
                std::fs::write(p, &good[..good.len() * n / 100]).unwrap()
            }
        }
    };
    let hows = [
        "dir", "fifo", "loop", "garbage", "empty", "1", "10", "50", "90", "99",
    ];

    // .dwo files (DWARF 4 and 5) and .dwp packages.
    for dwarf in ["-gdwarf-4", "-gdwarf-5"] {
        let dir = root.join(format!("dwo{dwarf}"));
        let bin = gcc(&dir, "points", C_POINTS, &["-g", dwarf, "-gsplit-dwarf"]);
        let dwo = dwo_in(&dir);
        let good = std::fs::read(&dwo).unwrap();
        for how in hows {
            replace(&dwo, how, &good);
            check(&mut t, &bin, &format!("{dwarf} .dwo {how}"));
        }
        replace(&dwo, "garbage", &good);
        std::fs::write(&dwo, &good).unwrap();
        let packer = if dwarf == "-gdwarf-4" {
            "dwp"
        } else {
            "llvm-dwp"
        };
        if have(packer) {
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
            std::fs::remove_file(&dwo).unwrap();
            let good = std::fs::read(&dwp).unwrap();
            for how in hows {
                replace(&dwp, how, &good);
                check(&mut t, &bin, &format!("{dwarf} .dwp {how}"));
            }
            // Flipped bytes in the package's index.
            for k in 0..16 {
                let mut bad = good.clone();
                let i = bad.len() * (k + 1) / 17;
                bad[i] ^= 0xff;
                std::fs::write(&dwp, bad).unwrap();
                check(&mut t, &bin, &format!("{dwarf} .dwp byte {i} flipped"));
            }
        }
    }

    // Separate debug files: linked with the right CRC to something damaged, or replaced.
    let dir = root.join("debuglink");
    let bin = gcc(&dir, "prog", C_POINTS, &["-g"]);
    let dbg = dir.join("prog.debug");
    tool(
        "objcopy",
        &[
            OsStr::new("--only-keep-debug"),
            bin.as_os_str(),
            dbg.as_os_str(),
        ],
    );
    tool("strip", &[bin.as_os_str()]);
    let good = std::fs::read(&dbg).unwrap();
    let stripped = std::fs::read(&bin).unwrap();
    for how in ["garbage", "empty", "50", "99"] {
        // Link to the damaged file itself, so that its CRC matches.
        std::fs::write(&bin, &stripped).unwrap();
        replace(&dbg, how, &good);
        let mut arg = OsString::from("--add-gnu-debuglink=");
        arg.push(&dbg);
        tool("objcopy", &[arg.as_os_str(), bin.as_os_str()]);
        check(&mut t, &bin, &format!("debug file {how}, CRC matching"));
    }
    std::fs::write(&bin, &stripped).unwrap();
    std::fs::write(&dbg, &good).unwrap();
    let mut arg = OsString::from("--add-gnu-debuglink=");
    arg.push(&dbg);
    tool("objcopy", &[arg.as_os_str(), bin.as_os_str()]);
    for how in hows {
        replace(&dbg, how, &good);
        check(&mut t, &bin, &format!("debug file replaced: {how}"));
    }
    report(&[("damaged split DWARF and debug files x 4 commands", t)]);
}
