//! Errors and their process exit codes.
//!
//! Every failure mapscope can report is a variant of [`Error`]. The CLI prints
//! `mapscope: error: <Display>` on one line of stderr and exits with
//! [`Error::exit_code`]. Every `Display` is one line: strings from the user or
//! the file are shown through [`crate::escape`], and gimli's messages (some of
//! which span two lines and leave out the offending value) are rewritten by
//! [`dwarf_message`].
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | not found: unknown type, symbol, address or line; no map runtime in the binary; a replay failed |
//! | 2 | bad input or usage: missing file, directory or device, not ELF, corrupt ELF or DWARF, no debug info, separate debug file or split DWARF file missing or from another build; a malformed scenario |
//! | 3 | ambiguous type name: several different types match (candidates are listed) |
//! | 4 | output could not be written |

use std::fmt;
use std::path::PathBuf;

use crate::escape;

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
    /// The input is neither a regular file nor a pipe (a device or a socket).
    NotRegular { path: PathBuf, kind: &'static str },
    /// A FIFO that no process has open for writing: there is nothing to read.
    NoWriter(PathBuf),
    /// A pipe delivered more bytes than mapscope keeps in memory.
    TooLarge { path: PathBuf, limit: u64 },
    /// The file is not an ELF file (wrong magic or too short).
    NotElf(PathBuf),
    /// The file is an ELF file that cannot be parsed (truncated, corrupt headers).
    CorruptElf { path: PathBuf, detail: String },
    /// The file has no DWARF debug info (stripped, or built without it).
    NoDebugInfo(PathBuf),
    /// The binary names a separate debug file (`.gnu_debuglink` or build-id)
    /// that is in none of the places searched.
    DebugFileMissing {
        path: PathBuf,
        /// What was looked for, e.g. `prog.debug (CRC 0x1234abcd)`.
        wanted: String,
        searched: Vec<PathBuf>,
    },
    /// A separate debug file was found, but it belongs to another build.
    DebugFileMismatch {
        path: PathBuf,
        found: PathBuf,
        detail: String,
    },
    /// Types are in split DWARF (`.dwo`) files that cannot be found.
    SplitDwarfMissing {
        /// The first missing file, where its skeleton unit says it is.
        path: PathBuf,
        /// The other places it was looked for.
        searched: Vec<PathBuf>,
        /// How many more split DWARF files are missing.
        more: usize,
    },
    /// A split DWARF file was found, but it belongs to another build.
    SplitDwarfMismatch { path: PathBuf, detail: String },
    /// A split DWARF file was found, but cannot be read (the inner error's message).
    SplitDwarfUnreadable(String),
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
    /// Nothing matched a symbol pattern, an address or a file:line. The message
    /// is composed by the caller, with the user's part shown by [`escape::text`].
    NotFound(String),
    /// The binary contains neither the gomap nor the Go map runtime.
    NoMapRuntime(PathBuf),
    /// A command-line argument could not be understood (composed like `NotFound`).
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

    /// A gimli error with the place it happened, e.g. `in the unit at .debug_info+0x2a0`.
    pub fn dwarf_at(e: &gimli::Error, place: &str) -> Error {
        Error::Dwarf(format!("{}, {place}", dwarf_message(e)))
    }

    /// Like [`Error::dwarf_at`]; for a read past the end of data, also names the
    /// section and offset where it happened (which `dwarf` can tell).
    pub fn dwarf_in(
        dwarf: &gimli::Dwarf<crate::loader::R<'_>>,
        e: &gimli::Error,
        place: &str,
    ) -> Error {
        let mut msg = dwarf_message(e);
        if let gimli::Error::UnexpectedEof(_) = e {
            if let Some((_, at)) = dwarf.format_error(*e).rsplit_once(" at ") {
                msg = format!(
                    "a read at {at} ran past the end of the data \
                     (an offset or length is wrong, or the section is truncated)"
                );
            }
        }
        Error::Dwarf(format!("{msg}, {place}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Open { path, source } => {
                write!(f, "cannot open {}: {}", escape::path(path), source)
            }
            Error::IsDirectory(p) => {
                write!(f, "{} is a directory, not an ELF binary", escape::path(p))
            }
            Error::NotRegular { path, kind } => write!(
                f,
                "{} is a {kind}, not an ELF binary (mapscope reads regular files, and pipes to their end)",
                escape::path(path)
            ),
            Error::NoWriter(p) => write!(
                f,
                "{} is a FIFO with no writer, so there is nothing to read",
                escape::path(p)
            ),
            Error::TooLarge { path, limit } => write!(
                f,
                "{} delivered more than {limit} bytes; save it to a file first",
                escape::path(path)
            ),
            Error::NotElf(p) => write!(f, "{} is not an ELF binary", escape::path(p)),
            Error::CorruptElf { path, detail } => write!(
                f,
                "{} is a truncated or corrupt ELF file: {}",
                escape::path(path),
                escape::line(detail)
            ),
            Error::NoDebugInfo(p) => write!(
                f,
                "{} has no DWARF debug info (stripped?); rebuild with debug info: \
                 Rust: `debug = 2` in the Cargo profile (or RUSTFLAGS=-g) and no `strip`; \
                 Go: build without `-ldflags=-w`/`-s` and do not strip",
                escape::path(p)
            ),
            Error::DebugFileMissing {
                path,
                wanted,
                searched,
            } => write!(
                f,
                "{} has no DWARF debug info of its own; its separate debug file {} is not in {} \
                 (install the -dbg/-dbgsym package, or set MAPSCOPE_DEBUG_FILE_DIRECTORY \
                 to the directory that holds it)",
                escape::path(path),
                escape::text(wanted),
                list_paths(searched)
            ),
            Error::DebugFileMismatch {
                path,
                found,
                detail,
            } => write!(
                f,
                "{} has no DWARF debug info of its own, and the separate debug file found for it, \
                 {}, belongs to another build: {}",
                escape::path(path),
                escape::path(found),
                escape::line(detail)
            ),
            Error::SplitDwarfMissing {
                path,
                searched,
                more,
            } => {
                write!(
                    f,
                    "types are in split DWARF file {}, which is missing",
                    escape::path(path)
                )?;
                if !searched.is_empty() {
                    write!(f, " (also looked for {})", list_paths(searched))?;
                }
                if *more > 0 {
                    write!(f, "; {more} more split DWARF files are missing")?;
                }
                write!(
                    f,
                    "; keep the .dwo files where the compiler wrote them or beside the binary, \
                     or package them into BIN.dwp with `dwp -e BIN -o BIN.dwp` (llvm-dwp for DWARF 5)"
                )
            }
            Error::SplitDwarfMismatch { path, detail } => write!(
                f,
                "split DWARF file {} belongs to another build: {}",
                escape::path(path),
                escape::line(detail)
            ),
            Error::SplitDwarfUnreadable(inner) => write!(
                f,
                "a split DWARF file the binary needs cannot be read: {}",
                escape::line(inner)
            ),
            Error::Dwarf(d) => write!(f, "malformed DWARF: {}", escape::line(d)),
            Error::TypeNotFound { name, suggestions } => {
                write!(f, "no struct type matches `{}`", escape::text(name))?;
                if !suggestions.is_empty() {
                    let shown: Vec<String> = suggestions.iter().map(|s| escape::text(s)).collect();
                    write!(f, "; did you mean: {}", shown.join(", "))?;
                }
                Ok(())
            }
            Error::AmbiguousType { name, candidates } => {
                let shown: Vec<String> = candidates.iter().map(|s| escape::text(s)).collect();
                write!(
                    f,
                    "`{}` is ambiguous, it matches {} types: {} (give a longer path, or pass --all)",
                    escape::text(name),
                    candidates.len(),
                    shown.join(", ")
                )
            }
            Error::NotFound(what) => write!(f, "{}", escape::line(what)),
            Error::NoMapRuntime(p) => write!(
                f,
                "{} contains no map runtime: neither gomap (gomap::runtime::Hmap) nor Go's (runtime.hmap, internal/runtime/maps.Map)",
                escape::path(p)
            ),
            Error::Usage(m) => write!(f, "{}", escape::line(m)),
            Error::Output(m) => write!(f, "cannot write output: {}", escape::line(m)),
            Error::ReplayFailed(m) => write!(f, "{}", escape::line(m)),
        }
    }
}

impl std::error::Error for Error {}

impl From<gimli::Error> for Error {
    fn from(e: gimli::Error) -> Self {
        Error::Dwarf(dwarf_message(&e))
    }
}

/// Up to three paths, then how many more.
fn list_paths(paths: &[PathBuf]) -> String {
    let mut shown: Vec<String> = paths.iter().take(3).map(|p| escape::path(p)).collect();
    if paths.len() > 3 {
        let n = paths.len() - 3;
        shown.push(format!("{n} more place{}", if n == 1 { "" } else { "s" }));
    }
    shown.join(", ")
}

/// One line saying what is wrong, for a gimli error. gimli's own descriptions
/// leave out the value that was wrong, and three of them span two lines.
pub fn dwarf_message(e: &gimli::Error) -> String {
    use gimli::Error as G;
    match e {
        G::UnexpectedEof(_) => "the data ends in the middle of an entry \
                                (a length or offset is wrong, or the section is truncated)"
            .into(),
        G::UnknownForm(form) => format!(
            "an attribute has form 0x{:x}, which is not a DW_FORM_* value",
            form.0
        ),
        G::UnknownVersion(v) => format!("unit version {v} is not a DWARF version (2 to 5)"),
        G::UnknownAbbreviation(code) => format!(
            "an entry uses abbreviation code {code}, which its unit's abbreviation table does not define"
        ),
        G::AbbreviationTagZero => {
            "an abbreviation has tag 0, which is reserved for null entries".into()
        }
        G::AttributeFormZero => {
            "an abbreviation's attribute has form 0, which is reserved for null entries".into()
        }
        G::BadHasChildren => {
            "an abbreviation's has-children byte is neither DW_CHILDREN_yes nor DW_CHILDREN_no"
                .into()
        }
        G::UnsupportedAddressSize(n) => format!("address size {n} is not supported"),
        G::UnsupportedOffsetSize(n) => format!("offset size {n} is not supported"),
        G::UnknownReservedLength => {
            "a unit length is a reserved value (0xfffffff0 to 0xfffffffe)".into()
        }
        other => {
            // Collapse any embedded newline and indentation into single spaces.
            let d = other
                .description()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            d.trim_end_matches('.').to_string()
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gimli_message_is_one_line() {
        use gimli::Error as G;
        for e in [
            G::AbbreviationTagZero,
            G::AttributeFormZero,
            G::BadHasChildren,
            G::PopWithEmptyStack,
            G::UnexpectedEof(gimli::ReaderOffsetId(3)),
            G::UnknownForm(gimli::DwForm(0x7f)),
            G::BadLength,
        ] {
            let m = Error::from(e).to_string();
            assert!(!m.contains('\n') && !m.contains("  "), "{m:?}");
        }
        assert!(Error::from(G::UnknownForm(gimli::DwForm(0x7f)))
            .to_string()
            .contains("0x7f"));
    }
}
