//! `daxcheck`: check scenarios of the fs/dax refcount model, replay a
//! failure. Exit status: 0 when every result is as the catalogue expects,
//! 1 otherwise, 2 on bad usage or bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use daxcheck::catalogue::{catalogue, resolve};
use daxcheck::explore::{explore, Explorer};
use daxcheck::replay::{digest, ReplayFile};
use daxcheck::run::{self, Budget, Run};
use daxcheck_core::{KernelState, Mutant};

#[derive(Parser)]
#[command(
    name = "daxcheck",
    version,
    about = "Explore the fs/dax page refcount model with loom and shuttle"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the scenario catalogue.
    List,
    /// Check scenarios (all of them when none is named) and judge each
    /// result against the catalogue's expectation.
    Check(CheckArgs),
    /// Re-run a saved failing schedule exactly, with tracing on.
    Replay {
        /// A `.replay` file written by `daxcheck check`.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Scenarios (`S1`) or single variants (`S1/pte`).
    scenarios: Vec<String>,
    /// Run the whole catalogue (the default when no scenario is named).
    #[arg(long)]
    all: bool,
    /// loom, pct or random; default: each scenario's own.
    #[arg(long)]
    explorer: Option<String>,
    /// shuttle seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Switch on one mutant (a deliberate mistake), e.g. M6.
    #[arg(long)]
    mutant: Option<String>,
    /// Kernel state: v6.15, v6.16 or 2026.
    #[arg(long, default_value = "v6.15")]
    kernel: String,
    /// loom preemption bound [env: DAXCHECK_LOOM_BOUND].
    #[arg(long)]
    bound: Option<usize>,
    /// PCT depth [env: DAXCHECK_PCT_DEPTH].
    #[arg(long)]
    depth: Option<usize>,
    /// shuttle iterations per scenario variant [env: DAXCHECK_ITERATIONS].
    #[arg(long)]
    iterations: Option<usize>,
    /// Scenario runs in parallel (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Save failing schedules under corpus/replays instead of daxcheck-failures/.
    #[arg(long)]
    save_corpus: bool,
}

/// A value from the command line, else from `var`, else `default`; a bad
/// variable names itself.
fn knob(cli: Option<usize>, var: &str, default: usize) -> Result<usize, String> {
    if let Some(v) = cli {
        return Ok(v);
    }
    match std::env::var(var) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("invalid value for `{var}`: `{s}` (expected a whole number)")),
        Err(_) => Ok(default),
    }
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("daxcheck: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad usage")
                .trim_start_matches("error: ");
            return usage(first);
        }
    };
    match cli.cmd {
        Cmd::List => list(),
        Cmd::Check(a) => check(a),
        Cmd::Replay { file } => replay(file),
    }
}

fn list() -> ExitCode {
    for sc in catalogue() {
        let variants: Vec<_> = sc.variants.iter().map(|v| v.name).collect();
        println!(
            "{}  {}  [{}]  expected: {}  catches: {}",
            sc.name,
            sc.title,
            variants.join(", "),
            (sc.expect)(KernelState::V6_15).word(),
            {
                let m: Vec<_> = sc.catches.iter().map(|m| m.name()).collect();
                if m.is_empty() {
                    "-".to_string()
                } else {
                    m.join(", ")
                }
            }
        );
        for line in sc.header.lines() {
            println!("    {line}");
        }
    }
    ExitCode::SUCCESS
}

fn check(a: CheckArgs) -> ExitCode {
    let cat = catalogue();
    let kernel = match KernelState::parse(&a.kernel) {
        Ok(k) => k,
        Err(e) => return usage(e),
    };
    let mutant = match a.mutant.as_deref().map(Mutant::parse).transpose() {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let budget = match (|| -> Result<Budget, String> {
        Ok(Budget {
            bound: knob(a.bound, "DAXCHECK_LOOM_BOUND", 2)?,
            depth: knob(a.depth, "DAXCHECK_PCT_DEPTH", 3)?,
            iterations: knob(a.iterations, "DAXCHECK_ITERATIONS", 2000)?,
            seed: a.seed,
        })
    })() {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    if budget.depth == 0 {
        return usage("--depth must be at least 1");
    }
    let specs: Vec<String> = if a.all || a.scenarios.is_empty() {
        cat.iter().map(|s| s.name.to_string()).collect()
    } else {
        a.scenarios.clone()
    };
    let mut runs = Vec::new();
    for spec in &specs {
        let (si, vis) = match resolve(&cat, spec) {
            Ok(x) => x,
            Err(e) => return usage(e),
        };
        let explorer = match run::explorer_for(a.explorer.as_deref(), &cat[si], &budget) {
            Ok(e) => e,
            Err(e) => return usage(e),
        };
        for vi in vis {
            runs.push(Run {
                scenario: &cat[si],
                variant: vi,
                kernel,
                mutant,
                explorer: explorer.clone(),
            });
        }
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let results = run::execute_all(&runs, jobs);
    print!("{}", run::render_table(&results));
    let dir = run::failure_dir(a.save_corpus);
    for r in &results {
        if let Some(f) = &r.outcome.failure {
            let path = match run::save_replay(r, f, &dir) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("daxcheck: {e}");
                    None
                }
            };
            println!();
            print!("{}", run::render_failure(r, f, path.as_deref()));
        }
    }
    if results.iter().all(|r| r.as_expected()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn replay(file: PathBuf) -> ExitCode {
    let text = match std::fs::read(&file) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(_) => {
                return usage(format!(
                    "{}: not a daxcheck replay file (not UTF-8 text)",
                    file.display()
                ))
            }
        },
        Err(e) => return usage(format!("{}: {e}", file.display())),
    };
    let rf = match ReplayFile::parse(&text) {
        Ok(r) => r,
        Err(e) => return usage(format!("{}: {e}", file.display())),
    };
    let cat = catalogue();
    let (si, vis) = match resolve(&cat, &format!("{}/{}", rf.scenario, rf.variant)) {
        Ok(x) => x,
        Err(e) => return usage(format!("{}: {e}", file.display())),
    };
    // The model's own events only (shuttle traces its scheduler too).
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let events = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .without_time();
    let only_model =
        tracing_subscriber::filter::Targets::new().with_target("daxcheck", tracing::Level::TRACE);
    tracing_subscriber::registry()
        .with(events)
        .with(only_model)
        .init();
    let m = run::model_of(&cat[si], vis[0], rf.kernel, rf.mutant);
    // loom runs replay by re-running loom's deterministic search to the
    // failing execution (weak-memory values included); shuttle runs replay
    // by imposing the recorded schedule.
    let how = match Explorer::parse_spec(&rf.explorer) {
        Ok(Explorer::Loom { bound }) => Explorer::LoomReplay {
            bound,
            execution: rf.execution,
        },
        Ok(_) => Explorer::Replay {
            schedule: rf.schedule.clone(),
        },
        Err(e) => return usage(format!("{}: {e}", file.display())),
    };
    let outcome = explore(&m, &how);
    let result = run::RunResult {
        scenario: cat[si].name,
        variant: cat[si].variants[vis[0]].name,
        kernel: rf.kernel,
        mutant: rf.mutant,
        explorer: how,
        expected: (cat[si].expect)(rf.kernel),
        outcome,
    };
    let Some(f) = &result.outcome.failure else {
        let got: Vec<u8> = result
            .outcome
            .last
            .as_ref()
            .map(|r| r.events.iter().map(|e| e.tid).collect())
            .unwrap_or_default();
        let at = got
            .iter()
            .zip(&rf.schedule)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(rf.schedule.len()));
        println!(
            "replay of {} ran to completion without a violation (schedule diverged at step {}): the model no longer fails on this schedule",
            file.display(),
            at + 1
        );
        return ExitCode::from(1);
    };
    print!("{}", run::render_failure(&result, f, Some(&file)));
    if digest(&f.rec) != rf.digest {
        println!("\nreplay diverged: the trace differs from the recorded one (was the model changed since {} was written?)", file.display());
        return ExitCode::from(1);
    }
    println!(
        "\nreplay reproduced the recorded execution exactly ({} steps, digest {:016x})",
        rf.schedule.len(),
        rf.digest
    );
    ExitCode::SUCCESS
}
