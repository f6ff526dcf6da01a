//! The `daxcheck` command line: the subcommands and their options, typed
//! (clap `ValueEnum`s, `env` knobs, ranges checked at parse time), and the
//! dispatch to `cmd.rs` and `replay.rs`.

use std::path::PathBuf;

use clap::{value_parser, Parser, Subcommand};
use daxcheck_core::{KernelState, Mutant};

use crate::cmd::{self, CheckOpts, DocFormat, Format, ListWhat, MutantOpts};
use crate::explore::ExplorerKind;
use crate::run::Budget;

pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DAXCHECK_COMMIT"),
    "; model of Linux v6.15 fs/dax.c at 00c010e1, with the v6.15.y, v6.16 and 2026 states)"
);

/// The parsed command line.
#[derive(Parser)]
#[command(
    name = "daxcheck",
    version = VERSION,
    about = "Explore the fs/dax page refcount model with loom and shuttle"
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the scenario catalogue (each variant's expected result), or the
    /// checks, or the mutants, without running anything.
    List {
        /// List every check (I1-I22, WARN, BUG, ...) and hypothesis (H1-H7).
        #[arg(long, conflicts_with = "mutants")]
        checks: bool,
        /// List the mutants and kernel states.
        #[arg(long)]
        mutants: bool,
        /// `markdown`: the scenarios as `docs/catalogue.md`, the checks as
        /// `docs/checks.md`.
        #[arg(long, value_enum, ignore_case = true, default_value_t = DocFormat::Text)]
        format: DocFormat,
    },
    /// Check scenarios (all of them when none is named) and judge each
    /// result against the catalogue's expectation; ends with a verdict line.
    /// `--format json` prints JSON Lines: one object per run.
    Check(CheckArgs),
    /// Run the mutant matrix: each mutant against the scenarios paired
    /// with it (every scenario with --all), plus the unmutated baseline.
    /// `--format json` prints one JSON document.
    Mutants(MutantArgs),
    /// Measure detection: each paired mutant under loom, and under PCT and
    /// random with several seeds; prints a Markdown table (BENCHMARKS.md).
    BenchMutants {
        /// Seeds for PCT and random (1..=N).
        #[arg(long, default_value_t = 5, value_parser = value_parser!(u64).range(1..=1000))]
        seeds: u64,
        #[command(flatten)]
        jobs: Jobs,
    },
    /// What synchronizes a field, its values at a site, whether a guard is
    /// needed: answered from executions with access recording on.
    Why(crate::why::cli::WhyArgs),
    /// Write ANSWERS.md: the review questions of spec §4 answered by `why`.
    Answers(crate::why::answers::AnswersArgs),
    /// Merge the JSON outputs of `check` or `mutants` runs with `--shard
    /// I/N`, one per shard, into the unsharded run's JSON; exit status as
    /// the unsharded run's (0 every result as expected, 1 otherwise).
    Merge {
        /// The shards' outputs, in any order; every shard exactly once.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Re-run a saved failing schedule exactly (RUST_LOG=daxcheck=trace
    /// adds the model's events as tracing on stderr).
    Replay {
        /// A `.replay` file written by `daxcheck check`, or a fuzz input
        /// (docs/fuzzing.md).
        file: PathBuf,
        /// FILE is a raw input of this fuzz target (ops, schedules); without
        /// it a fuzz input is told apart by its path and first line.
        #[arg(long, value_name = "TARGET")]
        fuzz: Option<String>,
        /// Also draw the execution as a self-contained HTML page.
        #[arg(long, value_name = "OUT.html")]
        html: Option<PathBuf>,
        /// Also draw it as a standalone SVG file.
        #[arg(long, value_name = "OUT.svg")]
        svg: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct Jobs {
    /// Runs in parallel [default: the number of cores].
    #[arg(long, value_parser = value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
}

impl Jobs {
    fn get(&self) -> usize {
        self.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |j| j as usize,
        )
    }
}

#[derive(clap::Args)]
struct MutantArgs {
    /// Only these scenarios (repeatable).
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Only these mutants (repeatable); default: all.
    #[arg(long = "mutant", value_enum, ignore_case = true)]
    mutants: Vec<Mutant>,
    /// Run every mutant against every scenario, not only the paired ones.
    #[arg(long)]
    all: bool,
    #[arg(long, value_enum, ignore_case = true, default_value_t = DocFormat::Text)]
    format: DocFormat,
    #[command(flatten)]
    opts: ExploreOpts,
}

/// Explorer options shared by `check` and `mutants`.
#[derive(clap::Args)]
struct ExploreOpts {
    /// The explorer; default: each scenario's own.
    #[arg(long, value_enum, ignore_case = true)]
    explorer: Option<ExplorerKind>,
    /// shuttle seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// shuttle runs per variant and explorer, on seeds SEED, SEED+1, ...:
    /// each its own run, spread over the cores by `--jobs`.
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// Kernel state.
    #[arg(long, value_enum, ignore_case = true, default_value_t = KernelState::V6_15)]
    kernel: KernelState,
    /// loom preemption bound.
    #[arg(long, env = "DAXCHECK_LOOM_BOUND", default_value_t = 2,
          value_parser = value_parser!(u64).range(0..=255))]
    bound: u64,
    /// PCT depth.
    #[arg(long, env = "DAXCHECK_PCT_DEPTH", default_value_t = 3,
          value_parser = value_parser!(u64).range(1..=10_000))]
    depth: u64,
    /// shuttle iterations per scenario variant.
    #[arg(long, env = "DAXCHECK_ITERATIONS", default_value_t = 2000,
          value_parser = value_parser!(u64).range(1..=1_000_000_000))]
    iterations: u64,
    #[command(flatten)]
    jobs: Jobs,
    /// Run only shard I of N (every N-th run, from the I-th), for a
    /// campaign split over machines; `daxcheck merge` joins the shards'
    /// `--format json` outputs.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::Shard::parse)]
    shard: Option<crate::shard::Shard>,
}

impl ExploreOpts {
    fn budget(&self) -> Budget {
        Budget {
            bound: self.bound as usize,
            depth: self.depth as usize,
            iterations: self.iterations as usize,
            seed: self.seed,
            seeds: self.seeds,
        }
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Scenarios (`S1`) or single variants (`S1/pte`).
    scenarios: Vec<String>,
    /// Run the whole catalogue (the default when no scenario is named).
    #[arg(long, conflicts_with = "scenarios")]
    all: bool,
    /// Switch on one mutant (a deliberate mistake), e.g. M6.
    #[arg(long, value_enum, ignore_case = true, hide_possible_values = true)]
    mutant: Option<Mutant>,
    /// Print the full report of every expected finding, not one line each.
    #[arg(long, short = 'v')]
    show_findings: bool,
    /// Save expected findings' replay files too (a passing check writes none).
    #[arg(long)]
    save_findings: bool,
    /// Save failing schedules under corpus/replays instead of daxcheck-failures/.
    #[arg(long)]
    save_corpus: bool,
    /// Write a picture (HTML page) of each failure into this directory.
    #[arg(long, value_name = "DIR")]
    html_dir: Option<PathBuf>,
    #[arg(long, value_enum, ignore_case = true, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    opts: ExploreOpts,
}

/// clap's error as one line: every line of its message, usage dropped.
pub fn one_line(e: &clap::Error) -> String {
    e.render()
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}

/// Run the subcommand.
pub fn dispatch(cli: Cli) -> cmd::Res {
    match cli.cmd {
        Cmd::List {
            checks,
            mutants,
            format,
        } => {
            let what = match (checks, mutants) {
                (true, _) => ListWhat::Checks,
                (_, true) => ListWhat::Mutants,
                _ => ListWhat::Scenarios,
            };
            cmd::list(what, format)
        }
        Cmd::Check(a) => cmd::check(CheckOpts {
            specs: a.scenarios,
            mutant: a.mutant,
            kernel: a.opts.kernel,
            explorer: a.opts.explorer,
            budget: a.opts.budget(),
            jobs: a.opts.jobs.get(),
            shard: a.opts.shard,
            format: a.format,
            show_findings: a.show_findings,
            save_findings: a.save_findings,
            save_corpus: a.save_corpus,
            html_dir: a.html_dir,
        }),
        Cmd::Mutants(a) => cmd::mutants(MutantOpts {
            scenarios: a.scenarios,
            mutants: a.mutants,
            all: a.all,
            kernel: a.opts.kernel,
            explorer: a.opts.explorer,
            budget: a.opts.budget(),
            jobs: a.opts.jobs.get(),
            shard: a.opts.shard,
            format: a.format,
        }),
        Cmd::BenchMutants { seeds, jobs } => cmd::bench_mutants(seeds, jobs.get()),
        Cmd::Merge { files } => cmd::merge(&files),
        Cmd::Why(a) => crate::why::cli::why(a),
        Cmd::Answers(a) => crate::why::answers::answers(a),
        Cmd::Replay {
            file,
            fuzz,
            html,
            svg,
        } => {
            let picture = html.is_some() || svg.is_some();
            match crate::fuzz::cli::replay(&file, fuzz.as_deref(), picture) {
                Some(r) => r,
                None => crate::replay::run(&file, html.as_deref(), svg.as_deref()),
            }
        }
    }
}
