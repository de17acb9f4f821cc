//! Embeds the debugger front-ends (python/mapscope_core, gdb-scripts, lldb-scripts) into the
//! `mapscope` binary, so that `mapscope replay` works from a binary installed with
//! `cargo install --path crates/mapscope`, away from any checkout. The scripts stay the one
//! source: this lists whatever `.py` files those directories hold when the binary is built.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const DIRECTORIES: &[&str] = &["python/mapscope_core", "gdb-scripts", "lldb-scripts"];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../..");
    let mut entries = Vec::new();
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a over names and contents
    for dir in DIRECTORIES {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        for file in python_files(&path) {
            let relative = file.strip_prefix(&path).expect("found under the directory");
            let name = format!("{dir}/{}", relative.to_string_lossy());
            println!("cargo:rerun-if-changed={}", file.display());
            let bytes = fs::read(&file).expect("readable script");
            for b in name.bytes().chain(bytes.iter().copied()) {
                digest = (digest ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            entries.push((name, absolute(&file)));
        }
    }
    let mut code = String::from("/// The front-end scripts, by path relative to a checkout.\n");
    code.push_str("pub const SCRIPTS: &[(&str, &str)] = &[\n");
    for (name, file) in &entries {
        code.push_str(&format!("    ({name:?}, include_str!({file:?})),\n"));
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "/// A digest of the scripts, naming their extracted copy.\npub const DIGEST: u64 = {digest:#x};\n"
    ));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it")).join("scripts.rs");
    fs::write(out, code).expect("writable OUT_DIR");
}

/// The `.py` files under `dir` and its subdirectories (packages such as `explore/`), sorted;
/// none when the directory is absent (packaged without the checkout).
fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(read) = fs::read_dir(dir) else {
        return found;
    };
    for path in read.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            found.extend(python_files(&path));
        } else if path.extension().is_some_and(|x| x == "py") {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn absolute(path: &Path) -> String {
    fs::canonicalize(path)
        .expect("existing file")
        .to_string_lossy()
        .into_owned()
}
