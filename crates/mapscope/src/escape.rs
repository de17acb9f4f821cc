//! Showing strings that came from a user or from a file on one terminal line.
//!
//! A type name, pattern or path is echoed back in error messages, and names read
//! from DWARF end up in tables. Either may hold control characters (an escape
//! sequence would be run by the terminal, a newline would split an error in two),
//! bidirectional overrides (which reorder what is shown), or invalid UTF-8 (paths).
//! These are shown as `\x1b`, `\u{202e}` and `\xff`; a backslash stays as it is.
//!
//! ```
//! use mapscope::escape;
//! assert_eq!(escape::text("a\x1b[31mb\n"), "a\\x1b[31mb\\x0a");
//! ```

use std::fmt::Write;
use std::path::Path;

/// Echoed user strings longer than this many characters are shortened in
/// messages (a 100 KB type name does not make a 100 KB error line).
pub const MAX_SHOWN: usize = 200;

/// Characters that are shown escaped: C0/C1 controls, DEL, and the Unicode
/// formatting characters that change the direction or visibility of text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    if needs_escape(c) {
        if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    } else {
        out.push(c);
    }
}

/// The whole string with unsafe characters escaped (for tables and JSON-free output).
pub fn full(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// A user's string for an error message: escaped, and shortened to
/// [`MAX_SHOWN`] characters with its length in bytes appended.
pub fn text(s: &str) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == MAX_SHOWN {
            let _ = write!(out, "...({} bytes)", s.len());
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// A path for an error message: invalid UTF-8 bytes as `\xNN`, then like [`text`].
pub fn path(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => text(s),
        Err(_) => {
            // (`<[u8]>::utf8_chunks` needs Rust 1.79; the crate supports 1.75.)
            let mut s = String::new();
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(v) => {
                        s.push_str(v);
                        break;
                    }
                    Err(e) => {
                        let (valid, bad) = rest.split_at(e.valid_up_to());
                        s.push_str(std::str::from_utf8(valid).unwrap_or_default());
                        let n = e.error_len().unwrap_or(bad.len());
                        for b in &bad[..n] {
                            let _ = write!(s, "\\x{b:02x}");
                        }
                        rest = &bad[n..];
                    }
                }
            }
            // The `\xNN` just written are plain ASCII and pass through `text` unchanged.
            text(&s)
        }
    }
}

/// A whole message line: anything that could still break the line or reach the
/// terminal as a control sequence is escaped (the last line of defence in `main`).
pub fn line(s: &str) -> String {
    full(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_and_bad_utf8() {
        assert_eq!(text("plain::Name<i64>"), "plain::Name<i64>");
        assert_eq!(text("\x1b[2J"), "\\x1b[2J");
        assert_eq!(text("a\nb\r\t\x7f"), "a\\x0ab\\x0d\\x09\\x7f");
        assert_eq!(text("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(text("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(text("back\\slash"), "back\\slash");
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/a\xffb\x1b"));
        assert_eq!(path(p), "/tmp/a\\xffb\\x1b");
    }

    #[test]
    fn long_strings_are_shortened() {
        let long = "A".repeat(100_000);
        let shown = text(&long);
        assert!(shown.len() < 300, "{}", shown.len());
        assert!(shown.ends_with("...(100000 bytes)"));
        assert_eq!(full(&long).len(), 100_000);
    }
}
