//! `mapscope replay`: the front door to the debugger front-ends.
//!
//! A replay runs inside gdb or lldb (the Python core drives the debugger); this module finds the
//! front-end scripts, starts the debugger in batch mode on the scenario, shows the core's account
//! and turns the core's verdict line into the exit status (0 passed, 1 failed, 2 bad input).
//!
//! The scripts come from `$MAPSCOPE_HOME`, else from the checkout this binary was built in (a
//! directory above the executable that has `gdb-scripts/mapscope.py`), else from the copy built
//! into this binary, written once to `$XDG_CACHE_HOME/mapscope/scripts-DIGEST`.

use std::path::{Path, PathBuf};
use std::process::Command;

use mapscope::error::{Error, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/scripts.rs"));
}

/// The debuggers a replay runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Debugger {
    Gdb,
    Lldb,
}

/// The core's last line of a batch replay (python/mapscope_core/commands.py, REPLAY_STATUS).
const STATUS_LINE: &str = "replay exit status: ";

/// Runs `scenario` in `debugger`; Ok when it passed and its transcript matched.
pub fn replay(
    scenario: &Path,
    debugger: Debugger,
    transcript: Option<&Path>,
    bless: bool,
) -> Result<()> {
    if !scenario.is_file() {
        return Err(Error::Usage(format!(
            "no scenario file {}",
            quoted(scenario)
        )));
    }
    let scenario = std::fs::canonicalize(scenario).map_err(|source| Error::Open {
        path: scenario.to_path_buf(),
        source,
    })?;
    let scripts = scripts()?;
    let transcript = transcript.map(absolute);
    let call = format!(
        "{}, {}, {}",
        python_str(&scenario)?,
        transcript
            .as_deref()
            .map(python_str)
            .transpose()?
            .unwrap_or_else(|| "None".into()),
        if bless { "True" } else { "False" }
    );
    let mut command = match debugger {
        Debugger::Gdb => {
            // Not -batch: a Go program replays in gdb's non-stop mode, on a thread of the
            // core's own while gdb's event loop runs, reading commands from a pipe that stays
            // open until gdb quits with the replay's status (gdb-scripts: replay_main).
            let mut c = Command::new(executable(&["gdb"])?);
            c.args(["-nx", "-q", "-x"])
                .arg(scripts.join("gdb-scripts/mapscope.py"))
                .arg("-ex")
                .arg(format!("python replay_main({call})"));
            c
        }
        Debugger::Lldb => {
            let mut c = Command::new(executable(&["lldb-16", "lldb"])?);
            let import = scripts.join("lldb-scripts/mapscope.py");
            c.arg("-b")
                .arg("-o")
                .arg(format!("command script import {}", python_str(&import)?))
                .arg("-o")
                .arg(format!(
                    "script import mapscope_lldb; mapscope_lldb.replay_main(lldb.debugger, {call})"
                ));
            c
        }
    };
    // The core builds profiles with this very mapscope.
    if let Ok(me) = std::env::current_exe() {
        command.env("MAPSCOPE", me);
    }
    let name = match debugger {
        Debugger::Gdb => "gdb",
        Debugger::Lldb => "lldb",
    };
    eprintln!("mapscope replay: {} under {name}", scenario.display());
    let done = run_with_open_stdin(&mut command)
        .map_err(|e| Error::Usage(format!("cannot start the debugger: {e}")))?;
    let text =
        String::from_utf8_lossy(&done.stdout).into_owned() + &String::from_utf8_lossy(&done.stderr);
    let (account, status) = verdict(&text);
    match status {
        Some(0) => {
            print!("{account}");
            Ok(())
        }
        Some(2) => {
            print!("{account}");
            Err(Error::Usage("the scenario was refused (see above)".into()))
        }
        Some(_) => {
            print!("{account}");
            Err(Error::ReplayFailed("the replay failed (see above)".into()))
        }
        None => {
            print!("{text}");
            Err(Error::ReplayFailed(format!(
                "the debugger ended without a verdict (status {})",
                done.status
            )))
        }
    }
}

/// How the core's account of a replay begins.
const ACCOUNT_STARTS: &[&str] = &["replay of ", "replay failed:", "replay refused:"];

/// Runs the debugger to its end with its output captured and its standard input a pipe that
/// stays open meanwhile (a debugger that is not in batch mode ends at the end of its input).
fn run_with_open_stdin(command: &mut Command) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take();
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = child.wait()?;
    drop(stdin);
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The core's account (from its first line to the verdict line) and the verdict. The debugger
/// may print on the same line just before the account (lldb's asynchronous "Process N exited"),
/// so the account's first line is found anywhere in a line.
fn verdict(output: &str) -> (String, Option<i32>) {
    let lines: Vec<&str> = output.lines().collect();
    let Some(end) = lines.iter().rposition(|l| l.contains(STATUS_LINE)) else {
        return (String::new(), None);
    };
    let status_text = &lines[end][lines[end].find(STATUS_LINE).unwrap() + STATUS_LINE.len()..];
    let status = status_text.trim().parse().ok();
    let begins = |l: &str| ACCOUNT_STARTS.iter().filter_map(|s| l.find(s)).min();
    let Some(start) = lines[..end].iter().position(|l| begins(l).is_some()) else {
        return (String::new(), status);
    };
    let first = &lines[start][begins(lines[start]).unwrap()..];
    let mut account = std::iter::once(first)
        .chain(lines[start + 1..end].iter().copied())
        .collect::<Vec<_>>()
        .join("\n");
    account.push('\n');
    (account, status)
}

/// A directory holding gdb-scripts/, lldb-scripts/ and python/mapscope_core/.
fn scripts() -> Result<PathBuf> {
    let is_checkout = |d: &Path| d.join("gdb-scripts/mapscope.py").is_file();
    if let Some(home) = std::env::var_os("MAPSCOPE_HOME") {
        let home = PathBuf::from(home);
        if is_checkout(&home) {
            return Ok(home);
        }
    }
    if let Ok(me) = std::env::current_exe().and_then(std::fs::canonicalize) {
        if let Some(found) = me.ancestors().find(|d| is_checkout(d)) {
            return Ok(found.to_path_buf());
        }
    }
    extract()
}

/// Writes the embedded scripts under the cache directory (once per version of them).
fn extract() -> Result<PathBuf> {
    if embedded::SCRIPTS.is_empty() {
        return Err(Error::Usage(
            "this mapscope was built without its debugger scripts; set MAPSCOPE_HOME to a checkout"
                .into(),
        ));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("mapscope");
    let dir = base.join(format!("scripts-{:016x}", embedded::DIGEST));
    if dir.join("gdb-scripts/mapscope.py").is_file() {
        return Ok(dir);
    }
    let partial = base.join(format!(
        "scripts-{:016x}.{}",
        embedded::DIGEST,
        std::process::id()
    ));
    let write = |path: &Path, text: &str| -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("relative paths have a parent"))?;
        std::fs::write(path, text)
    };
    let failed = |e: std::io::Error| Error::Output(format!("{}: {e}", partial.display()));
    for (name, text) in embedded::SCRIPTS {
        write(&partial.join(name), text).map_err(failed)?;
    }
    // Another mapscope may have extracted the same scripts meanwhile: either copy will do.
    if std::fs::rename(&partial, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(dir)
}

fn executable(candidates: &[&str]) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in candidates {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::Usage(format!(
        "{} not found on PATH (on Debian 12: make deps)",
        candidates.join(" or ")
    )))
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A Python string literal of a path (a JSON string is one).
fn python_str(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{} is not UTF-8", quoted(path))))?;
    serde_json::to_string(text).map_err(|e| Error::Output(e.to_string()))
}

fn quoted(path: &Path) -> String {
    path.display().to_string().escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_cut_from_debugger_noise() {
        let out = "warning: auto-load\nreplay of x: threads a\n  step 1\noutcome: PASS\nreplay exit status: 0\n";
        let (account, status) = verdict(out);
        assert_eq!(status, Some(0));
        assert_eq!(account, "replay of x: threads a\n  step 1\noutcome: PASS\n");
        assert_eq!(verdict("gdb crashed\n").1, None);
        let glued =
            "Process 7 exited with status = 9replay of x: threads a\nreplay exit status: 1\n";
        assert_eq!(verdict(glued), ("replay of x: threads a\n".into(), Some(1)));
        assert_eq!(
            verdict("replay refused: bad\nreplay exit status: 2").1,
            Some(2)
        );
    }

    #[test]
    fn paths_become_python_strings() {
        assert_eq!(
            python_str(Path::new("/a/b \"c\".toml")).unwrap(),
            r#""/a/b \"c\".toml""#
        );
    }

    #[test]
    fn the_embedded_scripts_are_the_front_ends() {
        let names: Vec<&str> = embedded::SCRIPTS.iter().map(|(n, _)| *n).collect();
        for needed in [
            "gdb-scripts/mapscope.py",
            "lldb-scripts/mapscope.py",
            "python/mapscope_core/commands.py",
        ] {
            assert!(
                names.contains(&needed),
                "{needed} is not embedded: {names:?}"
            );
        }
    }
}
