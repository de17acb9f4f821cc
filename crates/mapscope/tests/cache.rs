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
