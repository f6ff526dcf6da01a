//! `daxcheck`: check scenarios of the fs/dax refcount model, replay a
//! failure. Exit status: 0 when every result is as the catalogue expects,
//! 1 otherwise, 2 on bad usage or bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use daxcheck::catalogue::{catalogue, resolve};
use daxcheck::explore::{explore, Explorer};
use daxcheck::matrix;
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
    /// Run the mutant matrix: each mutant against the scenarios paired
    /// with it (every scenario with --all), plus the unmutated baseline.
    Mutants(MutantArgs),
    /// Measure detection: each paired mutant under loom, and under PCT and
    /// random with several seeds; prints a Markdown table (BENCHMARKS.md).
    BenchMutants {
        /// Seeds for PCT and random (1..=N).
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Runs in parallel (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// What synchronizes a field, its values at a site, whether a guard is
    /// needed: answered from executions with access recording on.
    Why(daxcheck::why::cli::WhyArgs),
    /// Write ANSWERS.md: the review questions of spec §4 answered by `why`.
    Answers(daxcheck::why::answers::AnswersArgs),
    /// Re-run a saved failing schedule exactly, with tracing on.
    Replay {
        /// A `.replay` file written by `daxcheck check`.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct MutantArgs {
    /// Only these scenarios (repeatable).
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Only these mutants (repeatable); default: all.
    #[arg(long = "mutant")]
    mutants: Vec<String>,
    /// Run every mutant against every scenario, not only the paired ones.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    opts: ExploreOpts,
}

/// Explorer and output options shared by `check` and `mutants`.
#[derive(clap::Args)]
struct ExploreOpts {
    /// loom, pct or random; default: each scenario's own.
    #[arg(long)]
    explorer: Option<String>,
    /// shuttle seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
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
    /// Runs in parallel (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// text or json.
    #[arg(long, default_value = "text")]
    format: String,
}

impl ExploreOpts {
    /// The kernel state, the budgets and whether the output is JSON.
    fn parsed(&self) -> Result<(KernelState, Budget, bool), String> {
        Ok((
            KernelState::parse(&self.kernel)?,
            self.budget()?,
            self.json()?,
        ))
    }

    fn budget(&self) -> Result<Budget, String> {
        let b = Budget {
            bound: knob(self.bound, "DAXCHECK_LOOM_BOUND", 2)?,
            depth: knob(self.depth, "DAXCHECK_PCT_DEPTH", 3)?,
            iterations: knob(self.iterations, "DAXCHECK_ITERATIONS", 2000)?,
            seed: self.seed,
        };
        if b.depth == 0 {
            return Err("--depth must be at least 1".into());
        }
        Ok(b)
    }

    fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    fn json(&self) -> Result<bool, String> {
        match self.format.as_str() {
            "text" => Ok(false),
            "json" => Ok(true),
            f => Err(format!("unknown format `{f}` (known: text, json)")),
        }
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Scenarios (`S1`) or single variants (`S1/pte`).
    scenarios: Vec<String>,
    /// Run the whole catalogue (the default when no scenario is named).
    #[arg(long)]
    all: bool,
    /// Switch on one mutant (a deliberate mistake), e.g. M6.
    #[arg(long)]
    mutant: Option<String>,
    /// Save failing schedules under corpus/replays instead of daxcheck-failures/.
    #[arg(long)]
    save_corpus: bool,
    #[command(flatten)]
    opts: ExploreOpts,
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
        Cmd::Mutants(a) => mutants(a),
        Cmd::BenchMutants { seeds, jobs } => {
            let jobs = jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1);
            let rows =
                matrix::detection(&catalogue(), &Mutant::ALL, seeds, &Budget::default(), jobs);
            print!("{}", matrix::render_detection(&rows));
            ExitCode::SUCCESS
        }
        Cmd::Why(a) => daxcheck::why::cli::why(a),
        Cmd::Answers(a) => daxcheck::why::answers::answers(a),
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
    let (kernel, budget, json) = match a.opts.parsed() {
        Ok(x) => x,
        Err(e) => return usage(e),
    };
    let mutant = match a.mutant.as_deref().map(Mutant::parse).transpose() {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
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
        let explorers = match run::explorers_for(a.opts.explorer.as_deref(), &cat[si], &budget) {
            Ok(e) => e,
            Err(e) => return usage(e),
        };
        for vi in vis {
            for explorer in &explorers {
                runs.push(Run {
                    scenario: &cat[si],
                    variant: vi,
                    kernel,
                    mutant,
                    explorer: explorer.clone(),
                });
            }
        }
    }
    let mut results = run::execute_all(&runs, a.opts.jobs());
    for r in &mut results {
        daxcheck::why::race::explain(&cat, r);
    }
    let dir = run::failure_dir(a.save_corpus);
    let mut saved = Vec::new();
    for r in &results {
        saved.push(
            r.outcome
                .failure
                .as_ref()
                .and_then(|f| match run::save_replay(r, f, &dir) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        eprintln!("daxcheck: {e}");
                        None
                    }
                }),
        );
    }
    if json {
        for (r, p) in results.iter().zip(&saved) {
            println!("{}", run::render_json(r, p.as_deref()));
        }
    } else {
        print!("{}", run::render_table(&results));
        for (r, p) in results.iter().zip(&saved) {
            if let Some(f) = &r.outcome.failure {
                println!();
                print!("{}", run::render_failure(r, f, p.as_deref()));
            }
        }
    }
    if results.iter().all(|r| r.as_expected()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn mutants(a: MutantArgs) -> ExitCode {
    let cat = catalogue();
    let (kernel, budget, json) = match a.opts.parsed() {
        Ok(x) => x,
        Err(e) => return usage(e),
    };
    let mut scenarios = Vec::new();
    for name in &a.scenarios {
        match resolve(&cat, name) {
            Ok((si, _)) => scenarios.push(si),
            Err(e) => return usage(e),
        }
    }
    if scenarios.is_empty() {
        scenarios = (0..cat.len()).collect();
    }
    let mut ms = Vec::new();
    for m in &a.mutants {
        match Mutant::parse(m) {
            Ok(m) => ms.push(m),
            Err(e) => return usage(e),
        }
    }
    if ms.is_empty() {
        ms = Mutant::ALL.to_vec();
    }
    if let Err(e) = run::explorers_for(a.opts.explorer.as_deref(), &cat[scenarios[0]], &budget) {
        return usage(e);
    }
    let pick = |sc: &daxcheck::catalogue::Scenario| {
        run::explorers_for(a.opts.explorer.as_deref(), sc, &budget).unwrap_or_default()
    };
    let m = matrix::run_matrix(&cat, &ms, &scenarios, a.all, &pick, kernel, a.opts.jobs());
    if json {
        match serde_json::to_string(&m) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("daxcheck: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        let names: Vec<&str> = scenarios.iter().map(|&si| cat[si].name).collect();
        print!("{}", matrix::render(&m, &ms, &names));
    }
    if m.ok() {
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
    daxcheck_core::access::set_mode(daxcheck::why::mode_of_spec(&rf.explorer));
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
        expected: cat[si].expected(vis[0], rf.kernel),
        explorer: how,
        outcome,
    };
    let Some(f) = &result.outcome.failure else {
        if rf.check == "none" {
            // A `why` witness of an execution that breaks no check.
            return daxcheck::why::replay_clean(&result, &rf, &file);
        }
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
