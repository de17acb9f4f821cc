//! Errors and their process exit codes.
//!
//! Every failure mapscope can report is a variant of [`Error`]. The CLI prints
//! `mapscope: error: <Display>` on one line of stderr and exits with
//! [`Error::exit_code`]:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | not found: unknown type, symbol, address or line; no map runtime in the binary; a replay failed |
//! | 2 | bad input or usage: missing file, directory, not ELF, corrupt ELF or DWARF, no debug info |
//! | 3 | ambiguous type name: several different types match (candidates are listed) |
//! | 4 | output could not be written |

use std::fmt;
use std::path::PathBuf;

/// Exit code for "not found".
pub const EXIT_NOT_FOUND: i32 = 1;
/// Exit code for bad input or usage.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for an ambiguous type name.
pub const EXIT_AMBIGUOUS: i32 = 3;
/// Exit code for an output failure.
pub const EXIT_OUTPUT: i32 = 4;

/// Anything that can go wrong while inspecting a binary.
#[derive(Debug)]
pub enum Error {
    /// The input path does not exist or cannot be opened.
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The input path is a directory.
    IsDirectory(PathBuf),
    /// The file is not an ELF file (wrong magic or too short).
    NotElf(PathBuf),
    /// The file is an ELF file that cannot be parsed (truncated, corrupt headers).
    CorruptElf { path: PathBuf, detail: String },
    /// The file has no DWARF debug information (stripped, or built without it).
    NoDebugInfo(PathBuf),
    /// A DWARF section is malformed.
    Dwarf(String),
    /// No type matches the user's name.
    TypeNotFound {
        name: String,
        suggestions: Vec<String>,
    },
    /// Several different types match the user's name.
    AmbiguousType {
        name: String,
        candidates: Vec<String>,
    },
    /// Nothing matched a symbol pattern, an address or a file:line.
    NotFound(String),
    /// The binary contains neither the gomap nor the Go map runtime.
    NoMapRuntime(PathBuf),
    /// A command-line argument could not be understood.
    Usage(String),
    /// Output could not be written.
    Output(String),
    /// A replayed scenario did not pass (its account has been shown).
    ReplayFailed(String),
}

impl Error {
    /// The process exit code for this error (see the module documentation).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::TypeNotFound { .. }
            | Error::NotFound(_)
            | Error::NoMapRuntime(_)
            | Error::ReplayFailed(_) => EXIT_NOT_FOUND,
            Error::AmbiguousType { .. } => EXIT_AMBIGUOUS,
            Error::Output(_) => EXIT_OUTPUT,
            _ => EXIT_BAD_INPUT,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Open { path, source } => {
                write!(f, "cannot open {}: {}", path.display(), source)
            }
            Error::IsDirectory(p) => write!(f, "{} is a directory, not an ELF binary", p.display()),
            Error::NotElf(p) => write!(f, "{} is not an ELF binary", p.display()),
            Error::CorruptElf { path, detail } => {
                write!(f, "{} is a truncated or corrupt ELF file: {}", path.display(), detail)
            }
            Error::NoDebugInfo(p) => write!(
                f,
                "{} has no DWARF debug info (stripped?); rebuild with debug info: \
                 Rust: `debug = 2` in the Cargo profile (or RUSTFLAGS=-g) and no `strip`; \
                 Go: build without `-ldflags=-w`/`-s` and do not strip",
                p.display()
            ),
            Error::Dwarf(d) => write!(f, "malformed DWARF: {d}"),
            Error::TypeNotFound { name, suggestions } => {
                write!(f, "no struct type matches `{name}`")?;
                if !suggestions.is_empty() {
                    write!(f, "; did you mean: {}", suggestions.join(", "))?;
                }
                Ok(())
            }
            Error::AmbiguousType { name, candidates } => write!(
                f,
                "`{name}` is ambiguous, it matches {} types: {} (give a longer path, or pass --all)",
                candidates.len(),
                candidates.join(", ")
            ),
            Error::NotFound(what) => write!(f, "{what}"),
            Error::NoMapRuntime(p) => write!(
                f,
                "{} contains no map runtime: neither gomap (gomap::runtime::Hmap) nor Go's (runtime.hmap)",
                p.display()
            ),
            Error::Usage(m) => write!(f, "{m}"),
            Error::Output(m) => write!(f, "cannot write output: {m}"),
            Error::ReplayFailed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<gimli::Error> for Error {
    fn from(e: gimli::Error) -> Self {
        Error::Dwarf(e.to_string())
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
