//! The one exit for misuse: Go's `fatal`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first thread that reports misuse.
static DYING: AtomicBool = AtomicBool::new(false);

/// Reports `fatal error: <msg>` and the detecting thread's backtrace on stderr, then exits with
/// status 2, as Go's runtime does. Unlike a panic, this cannot be caught.
///
/// Go stops the world before it reports; here the other threads stop at their next hash
/// ([`freeze_if_dying`]), so racing writers cannot crash the process while the report is
/// written. The message goes out first, before the slow backtrace. A second thread that detects
/// misuse meanwhile waits for the first to exit.
///
/// A debugger catches misuse by stopping here (`hmap catch fatal`): `msg` is the first argument.
// role: fatal
#[inline(never)]
#[cold]
pub fn fatal(msg: &'static str) -> ! {
    if DYING.swap(true, Ordering::SeqCst) {
        park_forever();
    }
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "fatal error: {msg}\n\nthread '{name}' [running]:\n");
    let _ = err.flush();
    let _ = writeln!(err, "{}", std::backtrace::Backtrace::force_capture());
    let _ = err.flush();
    std::process::exit(2);
}

/// Parks the calling thread for good once some thread is reporting misuse.
#[inline(always)]
pub(crate) fn freeze_if_dying() {
    if DYING.load(Ordering::Relaxed) {
        park_forever();
    }
}

#[cold]
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}
