//! The `mapscope` command line. All work happens in the library; this file
//! parses arguments, prints results and maps errors to exit codes.

mod cli;
mod frontends;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(mapscope::error::EXIT_BAD_INPUT as u8)
                } else {
                    ExitCode::SUCCESS
                };
            }
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // clap quotes the offending argument as typed: escape it like our own errors.
            let first = mapscope::escape::text(first);
            eprintln!("mapscope: error: {first} (see `mapscope --help`)");
            return ExitCode::from(mapscope::error::EXIT_BAD_INPUT as u8);
        }
    };
    let mut out = std::io::stdout().lock();
    match cli::run(args, &mut out).and_then(|()| {
        out.flush()
            .map_err(|e| mapscope::Error::Output(e.to_string()))
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`mapscope ... | head`) is not an error worth reporting.
            if let mapscope::Error::Output(m) = &e {
                if m.contains("Broken pipe") {
                    return ExitCode::SUCCESS;
                }
            }
            // Every Display is one line already; this keeps it so whatever slips through.
            eprintln!(
                "mapscope: error: {}",
                mapscope::escape::line(&e.to_string())
            );
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
