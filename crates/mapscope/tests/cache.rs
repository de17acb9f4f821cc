//! The opt-in struct catalog (`--cache` / MAPSCOPE_CACHE=1) gives exactly the
//! answers of a full scan, and survives a corrupt cache file.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn run_env(args: &[&str], cache_dir: &Path, cache: bool) -> Output {
    let mut c = Command::new(MAPSCOPE);
    c.args(args)
        .env("MAPSCOPE_CACHE_DIR", cache_dir)
        .env("MAPSCOPE_CACHE_MIN_BYTES", "0");
    if cache {
        c.env("MAPSCOPE_CACHE", "1");
    } else {
        c.env_remove("MAPSCOPE_CACHE");
    }
    c.output().expect("spawn")
}

#[test]
fn cached_answers_equal_scanned_answers() {
    let Some(bin) = gomap_target() else { return };
    let b = bin.to_str().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let queries: [&[&str]; 7] = [
        &["offsets", b, "gomap::runtime::Hmap<i64, i64>", "--json"],
        &["offsets", b, "runtime::Bucket", "--json"],
        &["offsets", b, "Bucket", "--all"],
        &["offsets", b, "Bucket"],
        &["offsets", b, "Hmapp"],
        &["offsets", b, "alloc::string::String", "MapExtra<i64,i64>"],
        &["offsets", b, "Vec", "--all", "--json"],
    ];
    for (round, corrupt) in [(0, false), (1, false), (2, true)] {
        if corrupt {
            for e in std::fs::read_dir(&dir).unwrap() {
                std::fs::write(e.unwrap().path(), "garbage\n1\t2").unwrap();
            }
        }
        for q in queries {
            let scanned = run_env(q, &dir, false);
            let cached = run_env(q, &dir, true);
            assert_eq!(
                scanned.status.code(),
                cached.status.code(),
                "round {round} {q:?}"
            );
            assert_eq!(
                String::from_utf8_lossy(&scanned.stdout),
                String::from_utf8_lossy(&cached.stdout),
                "round {round} {q:?}"
            );
            assert_eq!(
                String::from_utf8_lossy(&scanned.stderr),
                String::from_utf8_lossy(&cached.stderr),
                "round {round} {q:?}"
            );
        }
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1, "one catalog per binary");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The catalog file of `dir` (one per binary).
fn catalog_file(dir: &Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "types"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

/// Rewrites a catalog's body and gives it a correct header checksum, as a stale
/// or hand-edited file that passes the integrity check would look.
fn rewrite_body(path: &Path, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let body = edit(body);
    let mut fields: Vec<&str> = header.split('\t').collect();
    let crc = crc32fast::hash(body.as_bytes()).to_string();
    *fields.last_mut().unwrap() = &crc;
    std::fs::write(path, format!("{}\n{body}", fields.join("\t"))).unwrap();
}

/// The catalog line of a struct, split into fields.
fn line_of<'t>(text: &'t str, qualified: &str) -> Vec<&'t str> {
    text.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f.len() == 5 && f[3] == qualified)
        .unwrap_or_else(|| panic!("{qualified} not in catalog"))
}

/// Once, an edited DIE offset made `offsets` print another struct's layout under
/// the requested name with status 0. Every doubtful catalog is now rebuilt.
#[test]
fn an_edited_or_corrupt_catalog_never_gives_a_wrong_answer() {
    let Some(bin) = gomap_target() else { return };
    let b = bin.to_str().unwrap();
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-edit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let hmap = "gomap::runtime::Hmap<i64, i64>";
    let q: &[&str] = &["offsets", b, hmap, "--json"];
    let want = run_env(q, &dir, false);
    assert!(want.status.success());
    assert_eq!(
        run_env(q, &dir, true).stdout,
        want.stdout,
        "first cached run"
    );
    let path = catalog_file(&dir);
    let good = std::fs::read_to_string(&path).unwrap();
    let extra = line_of(&good, "gomap::runtime::MapExtra<i64, i64>")[0].to_string();
    let hmap_off = line_of(&good, hmap)[0].to_string();
    type Edit = Box<dyn Fn(&str) -> String>;
    let point_hmap_at = |off: String| -> Edit {
        let hmap_off = hmap_off.clone();
        Box::new(move |body: &str| {
            body.lines()
                .map(|l| {
                    if l.ends_with("\tHmap<i64, i64>") && l.starts_with(&format!("{hmap_off}\t")) {
                        l.replacen(&hmap_off, &off, 1)
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        })
    };
    let cases: Vec<(&str, Edit)> = vec![
        ("offset of another struct", point_hmap_at(extra.clone())),
        (
            "offset inside a struct",
            point_hmap_at((hmap_off.parse::<u64>().unwrap() + 1).to_string()),
        ),
        (
            "offset past the section",
            point_hmap_at("99999999999".into()),
        ),
        (
            "offset beyond u64",
            point_hmap_at("99999999999999999999999".into()),
        ),
        (
            "line without fields",
            Box::new(|b: &str| format!("garbage\n{b}")),
        ),
        (
            "Hmap line dropped",
            Box::new(|b: &str| {
                b.lines()
                    .filter(|l| !l.ends_with("\tHmap<i64, i64>"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            }),
        ),
    ];
    for (what, edit) in cases {
        std::fs::write(&path, &good).unwrap();
        rewrite_body(&path, &edit);
        let got = run_env(q, &dir, true);
        assert_eq!(got.status.code(), want.status.code(), "{what}");
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{what}: a doubtful catalog changed the answer"
        );
        assert!(
            got.stderr.is_empty(),
            "{what}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
    // Edits that break the checksum, the version or the identity are not even read.
    let raw_edits: Vec<(&str, Vec<u8>)> = vec![
        (
            "edited without checksum",
            good.replacen(&format!("\n{hmap_off}\t"), &format!("\n{extra}\t"), 1)
                .into_bytes(),
        ),
        (
            "old format version",
            good.replacen("mapscope-types 2", "mapscope-types 1", 1)
                .into_bytes(),
        ),
        (
            "other binary",
            good.replacen('\t', "\tffff", 1).into_bytes(),
        ),
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("not UTF-8", vec![0xff, 0xfe, b'\n', 0x80]),
    ];
    for (what, bytes) in raw_edits {
        std::fs::write(&path, bytes).unwrap();
        let got = run_env(q, &dir, true);
        assert_eq!(got.stdout, want.stdout, "{what}");
        assert!(got.status.success() && got.stderr.is_empty(), "{what}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            good,
            "{what}: rebuilt"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
