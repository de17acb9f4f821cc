//! A catalog of every struct type of a binary, cached on disk by build-id, so that
//! repeated `offsets` queries on a large binary decode only the matching DIEs.
//!
//! - Where: `$MAPSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/mapscope`, else `~/.cache/mapscope`.
//! - Key: GNU build-id (or Go build ID) and file size; binaries without one are not cached.
//! - When: opt-in with `MAPSCOPE_CACHE=1` (or `mapscope offsets --cache`), for binaries with
//!   at least `$MAPSCOPE_CACHE_MIN_BYTES` of `.debug_info` (default 8 MiB; smaller ones scan
//!   faster than the cache pays off). Building the catalog costs about 5 scans; each later
//!   query reads only the catalog lines that contain the name and decodes only those DIEs.
//! - Format: text, one struct per line: `die_offset \t copies \t size \t qualified \t name`.
//!   A file that does not parse is ignored (and rewritten).

use std::io::Write;
use std::path::PathBuf;

use crate::loader::Binary;

const MAGIC: &str = "mapscope-types 1";

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
    let id = bin.build_id_hex().or_else(|| {
        bin.go_build_id().map(|g| {
            g.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        })
    })?;
    let dir = match std::env::var_os("MAPSCOPE_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("XDG_CACHE_HOME") {
            Some(x) => PathBuf::from(x).join("mapscope"),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/mapscope"),
        },
    };
    Some(dir.join(format!("{id}-{}.types", bin.file_size())))
}

/// A catalog file's text; lines are parsed on demand.
pub struct Catalog {
    text: String,
}

impl Catalog {
    /// Reads a catalog; `None` if absent or not a catalog.
    pub fn load(path: &std::path::Path) -> Option<Catalog> {
        let text = std::fs::read_to_string(path).ok()?;
        if text.lines().next()? != MAGIC {
            return None;
        }
        Some(Catalog { text })
    }

    /// Builds an in-memory catalog (what `save` writes).
    pub fn from_entries(entries: &[Entry]) -> Catalog {
        let mut text = format!("{MAGIC}\n");
        for e in entries {
            if e.qualified.contains(['\t', '\n']) || e.name.contains(['\t', '\n']) {
                continue;
            }
            let size = e.size.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                e.offset, e.copies, size, e.qualified, e.name
            ));
        }
        Catalog { text }
    }

    /// Every entry.
    pub fn all(&self) -> Vec<Entry> {
        self.text.lines().skip(1).filter_map(parse_line).collect()
    }

    /// Entries whose name contains one of `needles` (found with memmem over the whole file).
    pub fn containing(&self, needles: &[&str]) -> Vec<Entry> {
        let bytes = self.text.as_bytes();
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
        starts
            .into_iter()
            .filter_map(|s| {
                let end = memchr::memchr(b'\n', &bytes[s..]).map_or(bytes.len(), |i| s + i);
                parse_line(self.text.get(s..end)?)
            })
            .filter(|e| needles.iter().any(|n| e.name.contains(n)))
            .collect()
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
