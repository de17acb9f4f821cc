//! `mapscope replay` and `mapscope explore`: the front door to the debugger front-ends, and
//! `mapscope report`, which draws a transcript with the same core.
//!
//! A replay or a search runs inside gdb or lldb (the Python core drives the debugger); this
//! module finds the front-end scripts, starts the debugger in batch mode on the scenario, shows
//! the core's account and turns the core's verdict line into the exit status (replay: 0 passed,
//! 1 failed, 2 bad input; explore: 0 nothing failed, 1 failures found, 2 bad input). A search
//! streams progress lines, shown on stderr while it runs.
//!
//! The scripts come from `$MAPSCOPE_HOME`, else from the checkout this binary was built in (a
//! directory above the executable that has `gdb-scripts/mapscope.py`), else from the copy built
//! into this binary, written once to `$XDG_CACHE_HOME/mapscope/scripts-DIGEST`.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

impl Debugger {
    fn name(self) -> &'static str {
        match self {
            Debugger::Gdb => "gdb",
            Debugger::Lldb => "lldb",
        }
    }
}

/// The core's last line of a batch replay (python/mapscope_core/commands.py, REPLAY_STATUS).
const STATUS_LINE: &str = "replay exit status: ";
/// The core's last line of a batch explore (python/mapscope_core/explore/batch.py, EXPLORE_STATUS).
const EXPLORE_STATUS: &str = "explore exit status: ";
/// How the core's progress lines of a search start (explore/batch.py, PROGRESS).
const PROGRESS: &str = "explore progress: ";
/// How the core's account of a search begins.
const EXPLORE_STARTS: &[&str] = &["explore of ", "explore refused:", "explore failed:"];

/// Runs `scenario` in `debugger`; Ok when it passed and its transcript matched.
pub fn replay(
    scenario: &Path,
    debugger: Debugger,
    transcript: Option<&Path>,
    bless: bool,
) -> Result<()> {
    let scenario = scenario_file(scenario)?;
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
    let mut command = debugger_command(
        debugger,
        &scripts,
        &format!("replay_main({call})"),
        &format!("replay_main(lldb.debugger, {call})"),
    )?;
    eprintln!(
        "mapscope replay: {} under {}",
        scenario.display(),
        debugger.name()
    );
    let done = run_with_open_stdin(&mut command)
        .map_err(|e| Error::Usage(format!("cannot start the debugger: {e}")))?;
    let text =
        String::from_utf8_lossy(&done.stdout).into_owned() + &String::from_utf8_lossy(&done.stderr);
    let (account, status) = verdict(&text);
    conclude(
        status,
        &account,
        &text,
        done.status,
        "the replay failed",
        "the scenario was refused",
    )
}

/// How the core's account of a replay begins.
const ACCOUNT_STARTS: &[&str] = &["replay of ", "replay failed:", "replay refused:"];

/// Runs the debugger to its end with its output captured and its standard input a pipe that
/// stays open meanwhile (a debugger that is not in batch mode ends at the end of its input).
fn run_with_open_stdin(command: &mut Command) -> std::io::Result<std::process::Output> {
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

/// gdb (its stdin kept open, as `run_with_open_stdin` does) or lldb in batch mode, with the
/// front-end loaded, calling `gdb_call` (in gdb's Python) or `lldb_call` (in lldb's, after
/// `import mapscope_lldb`).
fn debugger_command(
    debugger: Debugger,
    scripts: &Path,
    gdb_call: &str,
    lldb_call: &str,
) -> Result<Command> {
    let mut command = match debugger {
        Debugger::Gdb => {
            let mut c = Command::new(executable(&["gdb"])?);
            // Not -batch: a Go program runs in gdb's non-stop mode, on a thread of the core's
            // own while gdb's event loop runs, reading commands from a pipe that stays open
            // until gdb quits with the core's status (gdb-scripts: replay_main).
            c.args(["-nx", "-q", "-x"])
                .arg(scripts.join("gdb-scripts/mapscope.py"))
                .arg("-ex")
                .arg(format!("python {gdb_call}"));
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
                    "script import mapscope_lldb; mapscope_lldb.{lldb_call}"
                ));
            c
        }
    };
    // The core builds profiles with this very mapscope.
    if let Ok(me) = std::env::current_exe() {
        command.env("MAPSCOPE", me);
    }
    Ok(command)
}

/// The scenario file, as an absolute path; a missing one is bad input.
fn scenario_file(scenario: &Path) -> Result<PathBuf> {
    if !scenario.is_file() {
        return Err(Error::Usage(format!(
            "no scenario file {}",
            quoted(scenario)
        )));
    }
    std::fs::canonicalize(scenario).map_err(|source| Error::Open {
        path: scenario.to_path_buf(),
        source,
    })
}

/// The core's account (from its first line to the verdict line) and the verdict. The debugger
/// may print on the same line just before the account (lldb's asynchronous "Process N exited"),
/// so the account's first line is found anywhere in a line.
fn verdict(output: &str) -> (String, Option<i32>) {
    verdict_of(output, STATUS_LINE, ACCOUNT_STARTS)
}

fn verdict_of(output: &str, status_line: &str, starts: &[&str]) -> (String, Option<i32>) {
    let lines: Vec<&str> = output.lines().collect();
    let Some(end) = lines.iter().rposition(|l| l.contains(status_line)) else {
        return (String::new(), None);
    };
    let status_text = &lines[end][lines[end].find(status_line).unwrap() + status_line.len()..];
    let status = status_text.trim().parse().ok();
    let begins = |l: &str| starts.iter().filter_map(|s| l.find(s)).min();
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

/// A search strategy of `mapscope explore`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// Iterative preemption bounding up to this many preemptions.
    Bounded(u32),
    /// PCT with this depth.
    Pct(u32),
    /// Random scheduling.
    Random,
}

/// How long a search may run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    Seconds(f64),
    Schedules(u64),
}

impl Budget {
    /// `60s`, `2m`, `1.5h` (seconds) or `500` (schedules).
    pub fn parse(text: &str) -> Result<Budget> {
        let t = text.trim();
        let bad = || {
            Error::Usage(format!(
                "--budget is seconds (60s, 2m, 1h) or a number of schedules (500), not {}",
                mapscope::escape::text(text)
            ))
        };
        if let Some(unit) = t.chars().last().filter(|c| matches!(c, 's' | 'm' | 'h')) {
            let number = &t[..t.len() - 1];
            if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return Err(bad());
            }
            let value: f64 = number.parse().map_err(|_| bad())?;
            let seconds = value
                * match unit {
                    's' => 1.0,
                    'm' => 60.0,
                    _ => 3600.0,
                };
            if !(seconds > 0.0 && seconds.is_finite() && seconds <= 366.0 * 86400.0) {
                return Err(bad());
            }
            return Ok(Budget::Seconds(seconds));
        }
        match t.parse::<u64>() {
            Ok(n) if n > 0 && t.chars().all(|c| c.is_ascii_digit()) => Ok(Budget::Schedules(n)),
            _ => Err(bad()),
        }
    }
}

/// What `mapscope explore` asks the core for.
#[derive(Debug)]
pub struct Search {
    pub strategy: Strategy,
    pub seed: u64,
    pub budget: Budget,
    pub write: Option<PathBuf>,
    pub until: Vec<String>,
    pub json: Option<PathBuf>,
}

impl Search {
    /// The core's options (mapscope_core.explore.Options) as JSON.
    fn options(&self) -> Result<String> {
        let path = |p: &Option<PathBuf>| -> Result<serde_json::Value> {
            Ok(match p {
                None => serde_json::Value::Null,
                Some(p) => {
                    let p = absolute(p);
                    let text = p
                        .to_str()
                        .ok_or_else(|| Error::Usage(format!("{} is not UTF-8", quoted(&p))))?;
                    serde_json::Value::String(text.to_string())
                }
            })
        };
        let (strategy, bound, depth) = match self.strategy {
            Strategy::Bounded(n) => ("bounded", n, 3),
            Strategy::Pct(d) => ("pct", 3, d),
            Strategy::Random => ("random", 3, 3),
        };
        if depth == 0 {
            return Err(Error::Usage("--pct needs a depth of at least 1".into()));
        }
        let (seconds, schedules) = match self.budget {
            Budget::Seconds(s) => (serde_json::json!(s), serde_json::Value::Null),
            Budget::Schedules(n) => (serde_json::Value::Null, serde_json::json!(n)),
        };
        let options = serde_json::json!({
            "strategy": strategy,
            "bound": bound,
            "depth": depth,
            "seed": self.seed,
            "seconds": seconds,
            "schedules": schedules,
            "write": path(&self.write)?,
            "until": self.until,
            "json": path(&self.json)?,
        });
        Ok(options.to_string())
    }
}

/// Searches the schedules of `scenario` (a scenario without steps) in `debugger`; Ok when the
/// search ended without finding a failure.
pub fn explore(scenario: &Path, debugger: Debugger, search: &Search) -> Result<()> {
    let scenario = scenario_file(scenario)?;
    let scripts = scripts()?;
    let options =
        serde_json::to_string(&search.options()?).map_err(|e| Error::Output(e.to_string()))?;
    let call = format!("{}, {options}", python_str(&scenario)?);
    let mut command = debugger_command(
        debugger,
        &scripts,
        &format!("explore_main({call})"),
        &format!("explore_main(lldb.debugger, {call})"),
    )?;
    eprintln!(
        "mapscope explore: {} under {}",
        scenario.display(),
        debugger.name()
    );
    // stdin stays open until the debugger ends (see debugger_command).
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start the debugger: {e}")))?;
    let mut errors = child.stderr.take().expect("piped");
    let collect = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = errors.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let mut text = String::new();
    let mut progress = Progress::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).split(b'\n') {
        let Ok(bytes) = line else { break };
        let line = String::from_utf8_lossy(&bytes);
        match line.find(PROGRESS) {
            Some(at) => progress.show(line[at + PROGRESS.len()..].trim_end()),
            None => {
                text.push_str(&line);
                text.push('\n');
            }
        }
    }
    progress.finish();
    let stdin = child.stdin.take();
    let done = child
        .wait()
        .map_err(|e| Error::Usage(format!("the debugger did not end: {e}")))?;
    drop(stdin);
    text.push_str(&collect.join().unwrap_or_default());
    let (account, status) = verdict_of(&text, EXPLORE_STATUS, EXPLORE_STARTS);
    conclude(
        status,
        &account,
        &text,
        done,
        "the search found failures",
        "the search was refused",
    )
}

/// Prints the core's account and turns its status into the front door's result: 0 Ok, 1
/// `failed` (exit 1), 2 `refused` (bad input, exit 2); without a status line, the debugger's
/// whole output and an error.
fn conclude(
    status: Option<i32>,
    account: &str,
    output: &str,
    debugger: std::process::ExitStatus,
    failed: &str,
    refused: &str,
) -> Result<()> {
    match status {
        Some(0) => {
            print!("{account}");
            Ok(())
        }
        Some(2) => {
            print!("{account}");
            Err(Error::Usage(format!("{refused} (see above)")))
        }
        Some(_) => {
            print!("{account}");
            Err(Error::ReplayFailed(format!("{failed} (see above)")))
        }
        None => {
            print!("{output}");
            Err(Error::ReplayFailed(format!(
                "the debugger ended without a verdict (status {debugger})"
            )))
        }
    }
}

/// The progress line of a search on stderr: rewritten in place on a terminal, else a line
/// now and then.
struct Progress {
    terminal: bool,
    last: Option<Instant>,
    pending: Option<String>,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last: None,
            pending: None,
            shown: false,
        }
    }

    fn show(&mut self, line: &str) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[Kexplore: {line}");
            let _ = err.flush();
            self.shown = true;
            return;
        }
        let due = self
            .last
            .map_or(true, |t| t.elapsed() >= Duration::from_secs(10));
        if due {
            let _ = writeln!(err, "explore: {line}");
            self.last = Some(Instant::now());
            self.pending = None;
        } else {
            self.pending = Some(line.to_string());
        }
    }

    fn finish(&mut self) {
        let mut err = std::io::stderr().lock();
        if self.terminal && self.shown {
            let _ = writeln!(err);
        } else if let Some(line) = self.pending.take() {
            let _ = writeln!(err, "explore: {line}");
        }
    }
}

/// Draws the transcript at `transcript` into `output` (.html or .svg) with the core's renderer.
pub fn report(transcript: &Path, output: &Path) -> Result<()> {
    if !transcript.is_file() {
        return Err(Error::Usage(format!(
            "no transcript file {}",
            quoted(transcript)
        )));
    }
    let scripts = scripts()?;
    let core = scripts.join("python");
    let python = executable(&["python3"])?;
    let code = "import sys; sys.path.insert(0, sys.argv[1]); \
                from mapscope_core.report import main; sys.exit(main(sys.argv[2:]))";
    let done = Command::new(python)
        .arg("-c")
        .arg(code)
        .arg(&core)
        .arg(transcript)
        .arg(output)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Usage(format!("cannot start python3: {e}")))?;
    let errors = String::from_utf8_lossy(&done.stderr);
    match done.status.code() {
        Some(0) => {
            println!("wrote {}", output.display());
            Ok(())
        }
        Some(2) => {
            let message = errors
                .lines()
                .find(|l| l.starts_with("report: "))
                .unwrap_or("report failed");
            Err(Error::Usage(
                message.trim_start_matches("report: ").to_string(),
            ))
        }
        _ => Err(Error::Output(format!(
            "the renderer failed: {}",
            errors.lines().last().unwrap_or("no message")
        ))),
    }
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
    fn budgets_are_seconds_or_schedules() {
        assert_eq!(Budget::parse("60s").unwrap(), Budget::Seconds(60.0));
        assert_eq!(Budget::parse("2m").unwrap(), Budget::Seconds(120.0));
        assert_eq!(Budget::parse("1.5h").unwrap(), Budget::Seconds(5400.0));
        assert_eq!(Budget::parse("500").unwrap(), Budget::Schedules(500));
        for bad in [
            "", "0", "0s", "-3s", "s", "fast", "1e9s", "5 m", "+5", "nan", "10d",
        ] {
            assert!(Budget::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let message = Budget::parse("fast\x1b").unwrap_err().to_string();
        assert!(
            !message.contains('\x1b') && !message.contains('\n'),
            "{message}"
        );
    }

    #[test]
    fn explore_options_are_the_cores_json() {
        let search = Search {
            strategy: Strategy::Pct(3),
            seed: 7,
            budget: Budget::Schedules(200),
            write: None,
            until: vec!["ghost \"read\"".into(), "writer_done".into()],
            json: None,
        };
        let options: serde_json::Value = serde_json::from_str(&search.options().unwrap()).unwrap();
        assert_eq!(options["strategy"], "pct");
        assert_eq!(options["depth"], 3);
        assert_eq!(options["seed"], 7);
        assert_eq!(options["schedules"], 200);
        assert!(options["seconds"].is_null());
        assert_eq!(options["until"][0], "ghost \"read\"");
        assert_eq!(options["until"][1], "writer_done");
    }

    #[test]
    fn the_explore_account_is_cut_from_debugger_noise() {
        let out =
            "Breakpoint 1 at 0x1\nexplore of x: threads a\nfailures: 1\nexplore exit status: 1\n";
        let (account, status) = verdict_of(out, EXPLORE_STATUS, EXPLORE_STARTS);
        assert_eq!(status, Some(1));
        assert_eq!(account, "explore of x: threads a\nfailures: 1\n");
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
            "python/mapscope_core/explore/__init__.py",
        ] {
            assert!(
                names.contains(&needed),
                "{needed} is not embedded: {names:?}"
            );
        }
    }
}
