//! `daxcheck`: check scenarios of the fs/dax refcount model, replay a
//! failure. Exit status: 0 when every result is as the catalogue expects,
//! 1 otherwise, 2 on bad usage or bad input. The options are in `cli.rs`,
//! the work in `cmd.rs` and `replay.rs`.

use std::process::ExitCode;

#[cfg(target_os = "linux")]
mod stack_pool;

use clap::Parser;
use daxcheck::cli::{dispatch, one_line, Cli};
use daxcheck::cmd::Fail;

fn main() -> ExitCode {
    daxcheck::stderr::restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                // Bare `daxcheck`: help on stderr, bad usage.
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprint!("{}", e.render());
                    ExitCode::from(2)
                }
                _ => {
                    eprintln!("daxcheck: {}", one_line(&e));
                    ExitCode::from(2)
                }
            };
            return code;
        }
    };
    daxcheck::stderr::init_tracing();
    daxcheck::stderr::install();
    let result = dispatch(cli);
    daxcheck::stderr::finish();
    match result {
        Ok(code) => code,
        Err(Fail(msg)) => {
            eprintln!("daxcheck: {msg}");
            ExitCode::from(2)
        }
    }
}
