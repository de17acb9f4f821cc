//! A catalog of every struct type of a binary, cached on disk by build-id, so that
//! repeated `offsets` queries on a large binary decode only the matching DIEs.
//!
//! - Where: `$MAPSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/mapscope`, else `~/.cache/mapscope`.
//! - Key: GNU build-id (or Go build ID) and file size; binaries without one are not cached.
//! - When: opt-in with `MAPSCOPE_CACHE=1` (or `mapscope offsets --cache`), for binaries with
//!   at least `$MAPSCOPE_CACHE_MIN_BYTES` of `.debug_info` (default 8 MiB; smaller ones scan
//!   faster than the cache pays off). Building the catalog costs about 3 scans; each later
//!   query reads only the catalog lines that contain the name and decodes only those DIEs.
//! - Format: text. A header `mapscope-types 2 \t identity \t crc32 of the rest`, then one
//!   struct per line: `die_offset \t copies \t size \t qualified \t name`.
//!
//! A cache file is never trusted: the format version, the identity of the binary
//! (build-id, file size, DWARF size) and the checksum must match, every line used
//! must parse, and the entry at each recorded offset must be a struct definition of
//! the recorded qualified name and size (checked in [`crate::types`]). Any failure
//! and the catalog is rebuilt from the binary.

use std::io::Write;
use std::path::PathBuf;

use crate::loader::Binary;

const MAGIC: &str = "mapscope-types 2";

/// A cache file larger than this is not read (a catalog is about 100 bytes a struct).
const MAX_BYTES: u64 = 1 << 30;

/// One struct definition (the first of `copies` identical-name, identical-size ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub offset: u64,
    pub copies: usize,
    pub size: Option<u64>,
    pub qualified: String,
    pub name: String,
}

/// The cache file for a binary, if caching applies to it.
pub fn path_for(bin: &Binary<'_>) -> Option<PathBuf> {
    if std::env::var("MAPSCOPE_CACHE").as_deref() != Ok("1") {
        return None;
    }
    let min: u64 = std::env::var("MAPSCOPE_CACHE_MIN_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8 << 20);
    if (bin.section(gimli::SectionId::DebugInfo).len() as u64) < min {
        return None;
    }
    let id = key(bin)?;
    let dir = match std::env::var_os("MAPSCOPE_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("XDG_CACHE_HOME") {
            Some(x) => PathBuf::from(x).join("mapscope"),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/mapscope"),
        },
    };
    Some(dir.join(format!("{id}-{}.types", bin.file_size())))
}

/// The binary's build-id (GNU, else Go's), as a file-name-safe string.
fn key(bin: &Binary<'_>) -> Option<String> {
    bin.build_id_hex().or_else(|| {
        bin.go_build_id().map(|g| {
            g.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        })
    })
}

/// What a catalog records about the binary it describes: build-id, file size and
/// the size of its DWARF (split DWARF files included).
pub fn identity(bin: &Binary<'_>) -> String {
    format!(
        "{} {} {}",
        key(bin).unwrap_or_default(),
        bin.file_size(),
        bin.dwarf_size()
    )
}

/// A catalog file's text; lines are parsed on demand.
pub struct Catalog {
    text: String,
    /// Where the entries start (after the header line).
    body: usize,
}

impl Catalog {
    /// Reads a catalog; `None` if absent, unreadable, of another format version,
    /// made for another binary (`identity`), or altered since it was written.
    pub fn load(path: &std::path::Path, identity: &str) -> Option<Catalog> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() > MAX_BYTES {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        let (header, _) = text.split_once('\n')?;
        let body = header.len() + 1;
        let mut f = header.split('\t');
        if f.next()? != MAGIC || f.next()? != identity {
            return None;
        }
        let crc: u32 = f.next()?.parse().ok()?;
        if f.next().is_some() || crc32fast::hash(&text.as_bytes()[body..]) != crc {
            return None;
        }
        Some(Catalog { text, body })
    }

    /// Builds an in-memory catalog (what `save` writes).
    pub fn from_entries(identity: &str, entries: &[Entry]) -> Catalog {
        use std::fmt::Write as _;
        let guess: usize = entries
            .iter()
            .map(|e| e.qualified.len() + e.name.len() + 24)
            .sum();
        let mut body = String::with_capacity(guess);
        for e in entries {
            if e.qualified.contains(['\t', '\n']) || e.name.contains(['\t', '\n']) {
                continue;
            }
            let _ = write!(body, "{}\t{}\t", e.offset, e.copies);
            match e.size {
                Some(s) => {
                    let _ = write!(body, "{s}");
                }
                None => body.push('-'),
            }
            for field in ["\t", &e.qualified, "\t", &e.name, "\n"] {
                body.push_str(field);
            }
        }
        let identity: String = identity
            .chars()
            .filter(|c| *c != '\t' && *c != '\n')
            .collect();
        let header = format!(
            "{MAGIC}\t{identity}\t{}\n",
            crc32fast::hash(body.as_bytes())
        );
        Catalog {
            body: header.len(),
            text: header + &body,
        }
    }

    fn body(&self) -> &str {
        self.text.get(self.body..).unwrap_or("")
    }

    /// Every entry; `None` if a line does not parse.
    pub fn all(&self) -> Option<Vec<Entry>> {
        self.body().lines().map(parse_line).collect()
    }

    /// Entries whose name contains one of `needles` (found with memmem over the
    /// whole file); `None` if a line among them does not parse.
    pub fn containing(&self, needles: &[&str]) -> Option<Vec<Entry>> {
        let bytes = self.body().as_bytes();
        let mut starts: Vec<usize> = Vec::new();
        for n in needles {
            if n.is_empty() {
                return self.all();
            }
            for pos in memchr::memmem::find_iter(bytes, n.as_bytes()) {
                starts.push(memchr::memrchr(b'\n', &bytes[..pos]).map_or(0, |i| i + 1));
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let body = self.body();
        let mut out = Vec::new();
        for s in starts {
            let end = memchr::memchr(b'\n', &bytes[s..]).map_or(bytes.len(), |i| s + i);
            let e = parse_line(body.get(s..end)?)?;
            if needles.iter().any(|n| e.name.contains(n)) {
                out.push(e);
            }
        }
        Some(out)
    }

    /// The raw text (for `save`).
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let mut f = line.splitn(5, '\t');
    let offset = f.next()?.parse().ok()?;
    let copies = f.next()?.parse().ok()?;
    let size = match f.next()? {
        "-" => None,
        s => Some(s.parse().ok()?),
    };
    let qualified = f.next()?.to_string();
    let name = f.next()?.to_string();
    Some(Entry {
        offset,
        copies,
        size,
        qualified,
        name,
    })
}

/// Writes a catalog atomically; errors are ignored (the cache is best effort).
pub fn save(path: &std::path::Path, catalog: &Catalog) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        w.write_all(catalog.text().as_bytes())?;
        w.flush()
    };
    if write().is_ok() {
        let _ = std::fs::rename(&tmp, path);
    } else {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: u64, name: &str) -> Entry {
        Entry {
            offset,
            copies: 1,
            size: Some(8),
            qualified: format!("m::{name}"),
            name: name.into(),
        }
    }

    #[test]
    fn altered_or_foreign_catalogs_are_not_loaded() {
        let dir = std::env::temp_dir().join(format!("mapscope-cache-unit-{}", std::process::id()));
        let path = dir.join("c.types");
        let c = Catalog::from_entries("abc 10 20", &[entry(11, "A"), entry(42, "B")]);
        save(&path, &c);
        let good = Catalog::load(&path, "abc 10 20").expect("loads");
        assert_eq!(good.all().unwrap().len(), 2);
        assert_eq!(good.containing(&["B"]).unwrap()[0].offset, 42);
        assert!(Catalog::load(&path, "abc 10 21").is_none(), "other binary");
        // An edited offset (the case that once printed another struct's layout).
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("42\t", "11\t");
        std::fs::write(&path, text).unwrap();
        assert!(Catalog::load(&path, "abc 10 20").is_none(), "checksum");
        for junk in [
            &b""[..],
            b"mapscope-types 1\n1\t1\t-\ta\ta\n",
            b"\xff\xfe",
            b"\n\n\n",
        ] {
            std::fs::write(&path, junk).unwrap();
            assert!(Catalog::load(&path, "abc 10 20").is_none());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
