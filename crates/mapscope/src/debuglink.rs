//! Separate debug files of stripped binaries, found as gdb finds them.
//!
//! A distribution strips its binaries and ships the DWARF in a debug file
//! (Debian's `-dbgsym` packages install them under `/usr/lib/debug`). The
//! binary names it in one or both of two ways:
//! - its build-id: `DIR/.build-id/ab/cdef….debug`, for each debug directory DIR;
//!   the file must carry the same build-id;
//! - `.gnu_debuglink` (a file name and the CRC-32 of the debug file): looked for
//!   beside the binary, in its `.debug/` subdirectory, and as
//!   `DIR/<the binary's absolute directory>/NAME`; the file's CRC must match.
//!
//! The debug directories are `$MAPSCOPE_DEBUG_FILE_DIRECTORY` (colon-separated,
//! like gdb's `debug-file-directory`), else `/usr/lib/debug`.
//!
//! ```sh
//! objcopy --only-keep-debug prog prog.debug && strip prog
//! objcopy --add-gnu-debuglink=prog.debug prog
//! mapscope offsets prog 'struct point'     # reads prog.debug
//! ```

use std::path::{Path, PathBuf};

use object::Object;

use crate::loader::{open_regular, MappedFile};

/// The environment variable naming the debug directories.
pub const ENV_DIRS: &str = "MAPSCOPE_DEBUG_FILE_DIRECTORY";

/// The result of looking for a binary's separate debug file.
pub enum Lookup {
    /// The binary names no separate debug file (or only a build-id, which almost
    /// every binary has, and no debug directory holds a file for it).
    NotLinked,
    /// The debug file, verified.
    Found(Box<MappedFile>),
    /// No candidate exists.
    Missing {
        wanted: String,
        searched: Vec<PathBuf>,
    },
    /// A candidate exists but belongs to another build.
    Mismatch { found: PathBuf, detail: String },
}

/// The debug directories, in search order.
pub fn debug_dirs() -> Vec<PathBuf> {
    match std::env::var_os(ENV_DIRS) {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
        _ => vec![PathBuf::from("/usr/lib/debug")],
    }
}

/// Looks for the separate debug file of the binary at `bin` (parsed as `object`).
pub fn lookup(bin: &Path, object: &object::File<'_>) -> Lookup {
    let build_id = object
        .build_id()
        .ok()
        .flatten()
        .filter(|b| b.len() >= 2)
        .map(<[u8]>::to_vec);
    let link = object
        .gnu_debuglink()
        .ok()
        .flatten()
        .and_then(|(name, crc)| Some((valid_name(name)?, crc)));
    if build_id.is_none() && link.is_none() {
        return Lookup::NotLinked;
    }
    let me = std::fs::canonicalize(bin).ok();
    let dirs = debug_dirs();
    let mut searched = Vec::new();
    let mut mismatch: Option<(PathBuf, String)> = None;
    let mut wanted = Vec::new();

    if let Some(id) = &build_id {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let rel = format!(".build-id/{}/{}.debug", &hex[..2], &hex[2..]);
        wanted.push(format!("{rel} (build-id)"));
        for dir in &dirs {
            let p = dir.join(&rel);
            match check(&p, me.as_deref(), |f| has_build_id(f, id)) {
                Check::Found(f) => return Lookup::Found(f),
                Check::Wrong(d) => {
                    mismatch.get_or_insert((p.clone(), d));
                }
                Check::Absent => {}
            }
            searched.push(p);
        }
    }
    if let Some((name, crc)) = &link {
        wanted.push(format!(
            "{} (.gnu_debuglink, CRC {crc:#010x})",
            name.display()
        ));
        let dir = crate::split::dir_of(bin);
        // gdb's global place uses the real directory of the binary (symlinks resolved).
        let abs_dir = me
            .as_deref()
            .and_then(Path::parent)
            .map_or_else(|| dir.clone(), Path::to_path_buf);
        let mut places = vec![dir.join(name), dir.join(".debug").join(name)];
        for d in &dirs {
            // DIR + absolute directory: `/usr/lib/debug` + `/usr/bin` + name.
            let rel = abs_dir.strip_prefix("/").unwrap_or(&abs_dir);
            places.push(d.join(rel).join(name));
        }
        for p in places {
            match check(&p, me.as_deref(), |f| crc_matches(f, *crc)) {
                Check::Found(f) => return Lookup::Found(f),
                Check::Wrong(d) => {
                    mismatch.get_or_insert((p.clone(), d));
                }
                Check::Absent => {}
            }
            searched.push(p);
        }
    }
    match mismatch {
        Some((found, detail)) => Lookup::Mismatch { found, detail },
        // Almost every binary has a build-id; only a debuglink says that a debug
        // file was made. Without one, "stripped, rebuild with debug info" is the news.
        None if link.is_none() => Lookup::NotLinked,
        None => Lookup::Missing {
            wanted: wanted.join(" or "),
            searched,
        },
    }
}

/// A debuglink name is a file name; anything with a directory in it is ignored
/// (a crafted binary must not make us read arbitrary files).
fn valid_name(name: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(name)))
}

enum Check {
    Found(Box<MappedFile>),
    Wrong(String),
    Absent,
}

fn check(
    path: &Path,
    me: Option<&Path>,
    verify: impl Fn(&MappedFile) -> Result<(), String>,
) -> Check {
    // The binary itself is not its own debug file (a debuglink naming itself).
    if me.is_some() && std::fs::canonicalize(path).ok().as_deref() == me {
        return Check::Absent;
    }
    let Some(f) = open_regular(path) else {
        return Check::Absent;
    };
    match verify(&f) {
        Ok(()) => Check::Found(Box::new(f)),
        Err(d) => Check::Wrong(d),
    }
}

fn has_build_id(f: &MappedFile, want: &[u8]) -> Result<(), String> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let got = object::File::parse(f.bytes())
        .ok()
        .and_then(|o| o.build_id().ok().flatten().map(<[u8]>::to_vec));
    match got {
        Some(g) if g == want => Ok(()),
        Some(g) => Err(format!(
            "its build-id is {}, the binary's is {}",
            hex(&g),
            hex(want)
        )),
        None => Err(format!("it has no build-id; the binary's is {}", hex(want))),
    }
}

fn crc_matches(f: &MappedFile, want: u32) -> Result<(), String> {
    let got = crc32fast::hash(f.bytes());
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "its CRC-32 is {got:#010x}, the binary's .gnu_debuglink wants {want:#010x}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_directories_are_ignored() {
        assert!(valid_name(b"prog.debug").is_some());
        assert!(valid_name(b"../../etc/passwd").is_none());
        assert!(valid_name(b"/etc/passwd").is_none());
        assert!(valid_name(b"..").is_none());
        assert!(valid_name(b"").is_none());
    }

    #[test]
    fn crc_is_the_gnu_debuglink_crc() {
        // The CRC objcopy --add-gnu-debuglink writes: CRC-32 (IEEE), as zlib's crc32.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
    }
}
