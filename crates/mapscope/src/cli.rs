//! Argument definitions and the glue from subcommands to the library.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mapscope::error::{Error, Result};
use mapscope::loader::{Binary, MappedFile};

const EXIT_CODES: &str =
    "Exit codes: 0 ok; 1 not found (type, symbol, address, line, map runtime), or a replay \
failed or an explore found failures; 2 bad input or usage (missing file, directory or device, not ELF, corrupt, no debug info, \
missing or stale separate debug file or split DWARF file, a scenario refused); \
3 ambiguous type name; 4 output error.";

/// Inspect DWARF of ELF binaries: struct layouts, symbols, line tables, and the
/// map-target profile of gomap and Go 1.19 programs.
#[derive(Parser, Debug)]
#[command(name = "mapscope", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Field offsets, sizes, types, holes and padding of struct types (like pahole).
    #[command(after_help = "Examples:
  mapscope offsets target/debug/grow 'gomap::runtime::Hmap<i64, i64>'
  mapscope offsets target/debug/grow runtime::Bucket --json      # every instantiation
  mapscope offsets prog.go.bin runtime.hmap hmap 'bucket<int64,int64>'

Names: exact path, or a suffix on a `::` `.` `/` boundary; without `<`, generic
arguments are ignored (all instantiations). A name matching unrelated types is
ambiguous (exit 3) unless --all is given.")]
    Offsets {
        /// The ELF binary.
        bin: PathBuf,
        /// Type names.
        #[arg(required = true)]
        types: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print every matching type instead of failing on ambiguity.
        #[arg(long)]
        all: bool,
        /// Use (and build on first use) the on-disk struct catalog for this binary's
        /// build-id: slow once, fast afterwards (same as MAPSCOPE_CACHE=1).
        #[arg(long)]
        cache: bool,
    },
    /// Functions: address, size, source location, and inlined instances.
    #[command(after_help = "Examples:
  mapscope symbols target/debug/grow gomap::runtime::assign
  mapscope symbols target/debug/grow evacuate --json
  mapscope symbols prog.go.bin runtime.mapassign --no-inlined

PATTERN is a substring of the demangled name (without the hash suffix).")]
    Symbols {
        /// The ELF binary.
        bin: PathBuf,
        /// Substring of the function name; all functions when absent.
        pattern: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Skip the DWARF scan for inlined instances (faster).
        #[arg(long)]
        no_inlined: bool,
    },
    /// Address to file:line (with inline chain), or FILE:LINE to breakpoint addresses.
    #[command(after_help = "Examples:
  mapscope lines target/debug/grow 0x4a5b10
  mapscope lines target/debug/grow map.rs:120 --json
  mapscope lines target/debug/grow crates/gomap/src/runtime/map.rs:120

FILE may be any suffix of the path on a `/` boundary. For FILE:LINE, one address
per function, per inlined copy and per lexical block with names of its own (the
lowest is_stmt address of that line in each), like gdb's breakpoint locations;
when the line has no code, the next line that has some is used.")]
    Lines {
        /// The ELF binary.
        bin: PathBuf,
        /// Addresses (0x hex or decimal) or FILE:LINE.
        #[arg(required = true)]
        queries: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The map-target profile JSON (docs/profile.md).
    #[command(after_help = "Examples:
  mapscope profile target/debug/grow -o grow.profile.json
  mapscope profile target/debug/go-concurrent-writes      # a Go program (classic or Swiss maps)")]
    Profile {
        /// The ELF binary.
        bin: PathBuf,
        /// Write to FILE instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Replay a scenario in gdb or lldb and check it against its expected transcript.
    #[command(after_help = "Examples:
  mapscope replay fixtures/scenarios/ghost-read.toml
  mapscope replay fixtures/scenarios/ghost-read.toml --debugger lldb
  mapscope replay my.toml --bless            # write my.expected.jsonl from this run

Exit codes: 0 passed and the transcript matched; 1 failed (the reason and the diff are
shown); 2 bad input (no such scenario, a malformed one, its program not found).
The scenario's program is found in $MAPSCOPE_FIXTURES, else in target/debug of the
checkout that holds the scenario. docs/scenarios.md describes scenarios.")]
    Replay {
        /// The scenario (TOML).
        scenario: PathBuf,
        /// The debugger to replay in.
        #[arg(long, value_enum, default_value = "gdb")]
        debugger: crate::frontends::Debugger,
        /// Also write this run's transcript to FILE.
        #[arg(long)]
        transcript: Option<PathBuf>,
        /// Rewrite the expected transcript from this run (on purpose).
        #[arg(long)]
        bless: bool,
    },
    /// Parameters and local variables in scope at addresses, with their places there.
    #[command(after_help = "Examples:
  mapscope variables prog.go.bin 0x40f7d0
  mapscope variables prog.go.bin 0x40f7d0 0x4101e0 --json

ADDR is a link-time address (0x hex or decimal), as in `nm`: subtract the load base of a
PIE binary first. For each address: the innermost function and the inlined calls containing
it, each with its parameters and locals (those of enclosing lexical blocks only), their
types, sizes and places at exactly that address (null: optimised out there).

With --stdin, loads the binary once and answers addresses read from standard input, one
per line, with one JSON line each ({\"query\", \"error\"} for a bad one), until end of input:
for a debugger that asks at every stop.")]
    Variables {
        /// The ELF binary.
        bin: PathBuf,
        /// Addresses (0x hex or decimal).
        #[arg(required_unless_present = "stdin")]
        addrs: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read addresses from standard input, answer each with one JSON line.
        #[arg(long, conflicts_with = "addrs")]
        stdin: bool,
    },
    /// The Go probe table: the probe anchors in the runtime sources of each GOROOT, as JSON
    /// (crates/mapscope/src/go_probe_table.json is this output for the tested versions).
    #[command(hide = true)]
    GoProbeTable {
        /// GOROOT directories.
        #[arg(required = true)]
        goroots: Vec<PathBuf>,
    },
    /// Search the thread interleavings of a scenario without steps for failures.
    #[command(after_help = "Examples:
  mapscope explore fixtures/scenarios/explore/ghost-read.toml
  mapscope explore fixtures/scenarios/explore/ghost-read.toml --bound 2 --budget 2m \\
      --write-scenarios found/
  mapscope explore fixtures/scenarios/explore/concurrent-writes.toml --pct 3 --seed 7 --budget 200
  mapscope explore fixtures/scenarios/explore/ghost-read.toml --until 'ghost read' --debugger lldb

The scenario names the fixture, its args and its threads, and has no [[step]]. The program is
rerun in one debugger session under one schedule after another; a schedule says which thread
runs, alone, to its next role entry or probe point. Strategies: iterative preemption bounding
(every schedule with 0, 1, ... up to --bound preemptions, the default; schedules that only move
a preemption across steps that commute are pruned), PCT (--pct DEPTH, --seed S), random
scheduling (--random, --seed S). --budget is seconds (60s, 2m) or a number of schedules (500).
Each distinct failure (a fatal error, a wrong result, a crash, a hang) is reported with its
shortest schedule; --write-scenarios DIR writes each as DIR/NAME-N.toml with its expected
transcript, checked by replaying it once (mapscope replay then passes it). A progress line goes
to stderr.

Exit codes: 0 the search ended and found no failure; 1 failures found (listed above);
2 bad input (no such scenario, a scenario with steps, a malformed one, its program not found).
docs/explore.md describes the search.")]
    Explore {
        /// The scenario (TOML) without steps.
        scenario: PathBuf,
        /// The debugger to search in.
        #[arg(long, value_enum, default_value = "gdb")]
        debugger: crate::frontends::Debugger,
        /// Iterative preemption bounding up to N preemptions (the default strategy, N = 3).
        #[arg(long, value_name = "N", conflicts_with_all = ["pct", "random"])]
        bound: Option<u32>,
        /// PCT with this depth (DEPTH - 1 priority change points).
        #[arg(long, value_name = "DEPTH", conflicts_with = "random")]
        pct: Option<u32>,
        /// Random scheduling.
        #[arg(long)]
        random: bool,
        /// The seed of --pct or --random (default 1).
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
        /// Seconds (60s, 2m, 1h) or a number of schedules (500).
        #[arg(long, default_value = "60s")]
        budget: String,
        /// Write each failure as a scenario with its expected transcript into DIR.
        #[arg(long, value_name = "DIR")]
        write_scenarios: Option<PathBuf>,
        /// Stop as soon as a failure whose description contains TEXT is found (repeatable:
        /// any of them).
        #[arg(long, value_name = "TEXT")]
        until: Vec<String>,
        /// Also write the result as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// A picture of a replay transcript: thread lanes, the map's state, buckets.
    #[command(after_help = "Examples:
  mapscope replay fixtures/scenarios/ghost-read.toml --transcript ghost.jsonl
  mapscope report ghost.jsonl -o ghost.html
  mapscope report fixtures/scenarios/evacuate-race.expected.jsonl -o evacuate-race.svg

One lane per thread, each step at the role or probe it stopped at, the map's state at each
stop (B, growing, evacuation progress, flags), the buckets the scenario shows drawn slot by
slot with their tophash states, and the fatal error or the wrong result marked. The page is
self-contained (no scripts or files fetched). Needs python3.

Exit codes: 0 written; 2 bad input (no such transcript, not a transcript, an output name
that ends in neither .html nor .svg) or an unwritable output.")]
    Report {
        /// The transcript (JSON Lines, from --transcript or an .expected.jsonl file).
        transcript: PathBuf,
        /// The page to write: FILE.html or FILE.svg.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Benchmark floor: read (and decompress) all .debug_* sections once.
    #[command(hide = true)]
    ReadSections { bin: PathBuf },
}

fn write_out(out: &mut dyn Write, s: &str) -> Result<()> {
    out.write_all(s.as_bytes())
        .map_err(|e| Error::Output(e.to_string()))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::Output(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

/// Runs a parsed command, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    match cli.command {
        Command::Offsets {
            bin,
            types,
            json,
            all,
            cache,
        } => {
            if cache {
                // Single-threaded here; the library reads it when the index is created.
                std::env::set_var("MAPSCOPE_CACHE", "1");
            }
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            let index = mapscope::types::TypeIndex::new(&binary)?;
            let names: Vec<&str> = types.iter().map(String::as_str).collect();
            let found = index.lookup(&names, all)?;
            if json {
                write_out(out, &to_json(&found)?)
            } else {
                write_out(out, &mapscope::types::render_table(&found))
            }
        }
        Command::Symbols {
            bin,
            pattern,
            json,
            no_inlined,
        } => {
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            let syms = mapscope::symbols::lookup(&binary, pattern.as_deref(), !no_inlined)?;
            if json {
                write_out(out, &to_json(&syms)?)
            } else {
                write_out(out, &mapscope::symbols::render(&syms))
            }
        }
        Command::Lines { bin, queries, json } => {
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            let res = mapscope::lines::query(&binary, &queries)?;
            if json {
                write_out(out, &to_json(&res)?)
            } else {
                write_out(out, &mapscope::lines::render(&res))
            }
        }
        Command::Profile { bin, output } => {
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            let profile = mapscope::profile::build(&binary)?;
            let text = to_json(&profile)?;
            match output {
                Some(p) => write_whole(&p, &text),
                None => write_out(out, &text),
            }
        }
        Command::Replay {
            scenario,
            debugger,
            transcript,
            bless,
        } => crate::frontends::replay(&scenario, debugger, transcript.as_deref(), bless),
        Command::Variables {
            bin, stdin: true, ..
        } => {
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            let mut input = std::io::stdin().lock();
            mapscope::variables::serve(&binary, &mut input, out)
        }
        Command::Variables {
            bin, addrs, json, ..
        } => {
            let parsed = addrs
                .iter()
                .map(|a| {
                    mapscope::lines::parse_addr(a).ok_or_else(|| {
                        Error::Usage(format!("`{a}` is not an address (0x... or decimal)"))
                    })
                })
                .collect::<Result<Vec<u64>>>()?;
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            let res = mapscope::variables::at(&binary, &parsed)?;
            if json {
                write_out(out, &to_json(&res)?)
            } else {
                write_out(out, &mapscope::variables::render(&res))
            }
        }
        Command::GoProbeTable { goroots } => {
            let table = mapscope::go_probes::table_for(&goroots)?;
            write_out(out, &to_json(&table)?)
        }
        Command::Explore {
            scenario,
            debugger,
            bound,
            pct,
            random,
            seed,
            budget,
            write_scenarios,
            until,
            json,
        } => {
            let strategy = match (pct, random) {
                (Some(depth), _) => crate::frontends::Strategy::Pct(depth),
                (None, true) => crate::frontends::Strategy::Random,
                (None, false) => crate::frontends::Strategy::Bounded(bound.unwrap_or(3)),
            };
            if seed.is_some() && matches!(strategy, crate::frontends::Strategy::Bounded(_)) {
                return Err(Error::Usage(
                    "--seed goes with --pct or --random (bounded search has no randomness)".into(),
                ));
            }
            let search = crate::frontends::Search {
                strategy,
                seed: seed.unwrap_or(1),
                budget: crate::frontends::Budget::parse(&budget)?,
                write: write_scenarios,
                until,
                json,
            };
            crate::frontends::explore(&scenario, debugger, &search)
        }
        Command::Report { transcript, output } => crate::frontends::report(&transcript, &output),
        Command::ReadSections { bin } => {
            let file = MappedFile::open(&bin)?;
            let binary = Binary::parse(&file)?;
            // Read every byte of every DWARF section once (what any DWARF reader must at least do).
            let mut sum = 0u64;
            for id in mapscope::loader::DWARF_SECTIONS {
                for chunk in binary.section(*id).chunks(8) {
                    let mut w = [0u8; 8];
                    w[..chunk.len()].copy_from_slice(chunk);
                    sum = sum.wrapping_add(u64::from_le_bytes(w));
                }
            }
            write_out(
                out,
                &format!("{} bytes of DWARF (checksum {sum})\n", binary.dwarf_size()),
            )
        }
    }
}

/// Writes `text` to `path` so that a reader sees the old file or the whole new one, never a
/// part (debuggers read profiles that a background `mapscope profile -o` is writing).
/// Not a regular file (`/dev/null`, a pipe), or a directory where no temporary can be made:
/// written in place.
fn write_whole(path: &std::path::Path, text: &str) -> Result<(), Error> {
    let failed = |e: std::io::Error| Error::Output(format!("{}: {e}", path.display()));
    let in_place = || std::fs::write(path, text).map_err(failed);
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return in_place();
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    if std::fs::write(&tmp, text).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return in_place();
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed(e)
    })
}
