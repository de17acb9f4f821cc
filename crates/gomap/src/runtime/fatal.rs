//! The one exit for misuse: Go's `fatal`.

use std::io::Write;
use std::sync::Mutex;

/// Serialises reports when two threads detect misuse at once; the first one to get here exits.
static REPORTING: Mutex<()> = Mutex::new(());

/// Reports `fatal error: <msg>` and the detecting thread's backtrace on stderr, then exits with
/// status 2, as Go's runtime does. Unlike a panic, this cannot be caught.
///
/// A debugger catches misuse by stopping here (`hmap catch fatal`): `msg` is the first argument.
#[inline(never)]
#[cold]
pub fn fatal(msg: &'static str) -> ! {
    let _guard = REPORTING.lock();
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let trace = std::backtrace::Backtrace::force_capture();
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "fatal error: {msg}\n\nthread '{name}' [running]:\n{trace}\n"
    );
    let _ = err.flush();
    std::process::exit(2);
}
