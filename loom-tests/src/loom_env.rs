//! loom's own environment variables, honoured as loom documents them.
//!
//! `loom::model::Builder::new()` reads `LOOM_MAX_BRANCHES`, `LOOM_LOCATION`,
//! `LOOM_LOG`, `LOOM_MAX_DURATION`, `LOOM_MAX_PERMUTATIONS` and the
//! checkpoint variables; the explorers start from it and set only what a
//! daxcheck run must fix itself: the preemption bound (recorded in replay
//! files, so it has to be explicit; callers take it from
//! `LOOM_MAX_PREEMPTIONS` where loom users expect that) and, when
//! `LOOM_MAX_BRANCHES` is unset, a branch limit the larger scenarios fit in.
//! `LOOM_LOG` only fills `Builder::log`; the `tracing` subscriber that makes
//! it print is `loom::model`'s, which the explorers bypass, so [`with_log`]
//! installs the same one.

use std::env;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Branches per execution when `LOOM_MAX_BRANCHES` is unset: loom's own
/// default (1,000) is too few for the four-thread scenarios (S16).
pub const MAX_BRANCHES: usize = 100_000;

/// loom's numeric variables; `Builder::new()` panics on a bad one.
const NUMERIC: [&str; 5] = [
    "LOOM_MAX_PREEMPTIONS",
    "LOOM_MAX_BRANCHES",
    "LOOM_MAX_DURATION",
    "LOOM_MAX_PERMUTATIONS",
    "LOOM_CHECKPOINT_INTERVAL",
];

/// A builder for one loom exploration at `bound` preemptions, with every
/// other setting as loom's environment gives it. `DAXCHECK_LOOM_LOCATION` is
/// the older alias of `LOOM_LOCATION`.
pub fn builder(bound: usize) -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    if env::var_os("LOOM_MAX_BRANCHES").is_none() {
        b.max_branches = MAX_BRANCHES;
    }
    b.location |= env::var_os("DAXCHECK_LOOM_LOCATION").is_some();
    b
}

/// Run `f` under `LOOM_LOG`'s filter (`LOOM_LOG=trace`, `LOOM_LOG=loom=debug`,
/// ...) printing to stderr, as `loom::model` does; without `LOOM_LOG`, just
/// run it.
pub fn with_log<R>(f: impl FnOnce() -> R) -> R {
    if env::var_os("LOOM_LOG").is_none() {
        return f();
    }
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_env("LOOM_LOG"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, f)
}

/// Check loom's variables up front, so that a bad value is a one-line error
/// rather than a panic inside an exploration.
pub fn check_env() -> Result<(), String> {
    check_vars(|k| env::var(k).ok())
}

/// [`check_env`] over any source of variables (tests pass a map).
pub fn check_vars(get: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    for var in NUMERIC {
        if let Some(v) = get(var) {
            if v.parse::<u64>().is_err() {
                return Err(format!(
                    "invalid value for `{var}`: `{v}` (expected a whole number)"
                ));
            }
        }
    }
    if let Some(v) = get("LOOM_LOG") {
        EnvFilter::try_new(&v).map_err(|e| format!("invalid value for `LOOM_LOG`: `{v}` ({e})"))?;
    }
    Ok(())
}
