//! The `cargo test` way in: one test per scenario variant and explorer,
//! named `loom::s03_pmd` / `pct::s03_pmd`, listed from the catalogue when the
//! `generated` test binary starts (loom-tests/tests/generated.rs), so a new
//! scenario or variant gets its tests without an edit anywhere.
//!
//! Plain `cargo test` runs each variant under its scenario's default
//! explorers at the default budgets (loom bound 2, PCT depth 3 with 2,000
//! iterations), each raised to the scenario's own floor (`Scenario::tuning`)
//! as `daxcheck check` raises it; a `loom::` test of a scenario whose defaults leave loom out
//! is listed as ignored. Under `RUSTFLAGS="--cfg loom"` the tests are the
//! loom campaign: every variant under loom only, at `LOOM_MAX_PREEMPTIONS`
//! (default 3). Knobs are read from the environment, loom's names first and
//! the `DAXCHECK_*` ones as aliases; see [`Campaign::from_vars`].

use std::path::{Path, PathBuf};

use daxcheck_core::{KernelState, Mutant};

use crate::catalogue::{DefaultExplorer, Expect, Scenario};
use crate::explore::{explore, Explorer};
use crate::replay::digest;
use crate::run::{execute_run, model_of, render_failure, render_table, save_replay, Budget, Run};

/// What the generated tests run, from the environment.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// `--cfg loom`: every variant under loom only.
    pub loom_only: bool,
    pub budget: Budget,
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
}

/// A whole-number knob: the first of `vars` that is set, else `default`.
fn number(
    get: &impl Fn(&str) -> Option<String>,
    vars: &[&str],
    default: u64,
) -> Result<u64, String> {
    for var in vars {
        if let Some(v) = get(var) {
            return v.trim().parse().map_err(|_| {
                format!("invalid value for `{var}`: `{v}` (expected a whole number)")
            });
        }
    }
    Ok(default)
}

impl Campaign {
    /// The campaign as this process's environment gives it.
    pub fn from_env(loom_only: bool) -> Result<Campaign, String> {
        Campaign::from_vars(loom_only, |k| std::env::var(k).ok())
    }

    /// - loom bound: `LOOM_MAX_PREEMPTIONS`, alias `DAXCHECK_LOOM_BOUND`;
    ///   default 3 under `--cfg loom`, 2 otherwise.
    /// - PCT: `DAXCHECK_PCT_DEPTH` (3), `DAXCHECK_ITERATIONS` (2000),
    ///   `DAXCHECK_SEED` (1).
    /// - `DAXCHECK_KERNEL` (v6.15) and `DAXCHECK_MUTANT` (none), as
    ///   `daxcheck check --kernel/--mutant`.
    /// - `LOOM_MAX_BRANCHES`, `LOOM_LOG`, `LOOM_LOCATION` (alias
    ///   `DAXCHECK_LOOM_LOCATION`) and loom's other variables go to loom
    ///   itself ([`crate::loom_env`]); they are only checked here.
    pub fn from_vars(
        loom_only: bool,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Campaign, String> {
        crate::loom_env::check_vars(&get)?;
        let bound = number(
            &get,
            &["LOOM_MAX_PREEMPTIONS", "DAXCHECK_LOOM_BOUND"],
            if loom_only { 3 } else { 2 },
        )?;
        let depth = number(&get, &["DAXCHECK_PCT_DEPTH"], 3)?;
        if depth == 0 {
            return Err("invalid value for `DAXCHECK_PCT_DEPTH`: `0` (must be at least 1)".into());
        }
        let budget = Budget {
            bound: bound as usize,
            depth: depth as usize,
            iterations: number(&get, &["DAXCHECK_ITERATIONS"], 2000)? as usize,
            seed: number(&get, &["DAXCHECK_SEED"], 1)?,
            seeds: 1,
        };
        let set = |var: &str| get(var).filter(|v| !v.trim().is_empty());
        let kernel = match set("DAXCHECK_KERNEL") {
            Some(k) => KernelState::parse(k.trim()).map_err(|e| format!("DAXCHECK_KERNEL: {e}"))?,
            None => KernelState::V6_15,
        };
        let mutant = set("DAXCHECK_MUTANT")
            .map(|m| Mutant::parse(m.trim()).map_err(|e| format!("DAXCHECK_MUTANT: {e}")))
            .transpose()?;
        Ok(Campaign {
            loom_only,
            budget,
            kernel,
            mutant,
        })
    }
}

/// One generated test.
#[derive(Clone, Debug)]
pub struct Case {
    /// `loom::s03_pmd`: the explorer as a module, the scenario number in two
    /// digits (so `s03` does not select S13), the variant.
    pub name: String,
    pub scenario: usize,
    pub variant: usize,
    pub explorer: Explorer,
    /// Listed but not run by default (`--include-ignored` runs it): loom on
    /// a scenario whose default explorers leave loom out.
    pub ignored: bool,
}

/// `S3`, `pte-exit` → `s03_pte_exit`.
pub fn test_name(scenario: &str, variant: &str) -> String {
    let digits = scenario.trim_start_matches(['S', 's']);
    let sc = match digits.parse::<u32>() {
        Ok(n) => format!("s{n:02}"),
        Err(_) => scenario.to_ascii_lowercase(),
    };
    let v: String = variant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{sc}_{v}")
}

/// Every generated test, in catalogue order: loom ones, then PCT ones
/// (these only without `--cfg loom`).
pub fn cases(cat: &[Scenario], c: &Campaign) -> Vec<Case> {
    let mut kinds = vec![(DefaultExplorer::Loom, "loom")];
    if !c.loom_only {
        kinds.push((DefaultExplorer::Pct, "pct"));
    }
    let mut out = Vec::new();
    for (kind, module) in kinds {
        for (si, sc) in cat.iter().enumerate() {
            // The budget with the scenario's own floor, as `daxcheck check`
            // runs it.
            let explorer = crate::run::explorer_for(kind, sc, &c.budget);
            for (vi, v) in sc.variants.iter().enumerate() {
                out.push(Case {
                    name: format!("{module}::{}", test_name(sc.name, v.name)),
                    scenario: si,
                    variant: vi,
                    explorer: explorer.clone(),
                    ignored: !c.loom_only && !sc.explorers.contains(&kind),
                });
            }
        }
    }
    out
}

/// Where a test's replay files go: `$DAXCHECK_FAILURE_DIR` or
/// `daxcheck-failures`, both taken from the checkout root (a test runs in
/// loom-tests/), as `daxcheck check` run from the root does.
fn failure_dir(root: &Path) -> PathBuf {
    let dir = std::env::var_os("DAXCHECK_FAILURE_DIR")
        .map_or_else(|| PathBuf::from("daxcheck-failures"), PathBuf::from);
    root.join(dir)
}

/// Run one case and judge it as `daxcheck check` does. `Err` holds what
/// `daxcheck check` prints for it: the table row and, for a violation, the
/// report with its replay line (the file saved under the checkout root). A
/// finding given as expected must also replay to the identical trace.
pub fn run_case(cat: &[Scenario], case: &Case, c: &Campaign) -> Result<(), String> {
    let sc = &cat[case.scenario];
    let run = Run {
        scenario: sc,
        variant: case.variant,
        kernel: c.kernel,
        mutant: c.mutant,
        explorer: case.explorer.clone(),
    };
    let r = execute_run(&run);
    if !r.as_expected() {
        let mut out = render_table(std::slice::from_ref(&r));
        if let Some(f) = &r.outcome.failure {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new("."));
            let saved = save_replay(&r, f, &failure_dir(root));
            let shown = match &saved {
                Ok(p) => Some(p.strip_prefix(root).unwrap_or(p)),
                Err(e) => {
                    out.push_str(&format!("daxcheck: {e}\n"));
                    None
                }
            };
            out.push('\n');
            out.push_str(&render_failure(&r, f, shown));
        }
        return Err(out);
    }
    let (Expect::Finds(..), Some(f)) = (r.expected, &r.outcome.failure) else {
        return Ok(());
    };
    let how = match &r.explorer {
        Explorer::Loom { bound } => Explorer::LoomReplay {
            bound: *bound,
            execution: f.execution,
        },
        _ => Explorer::Replay {
            schedule: f.rec.events.iter().map(|e| e.tid).collect(),
        },
    };
    let again = explore(&model_of(sc, case.variant, c.kernel, c.mutant), &how);
    match again.failure {
        Some(g) if g.rec.events == f.rec.events && digest(&g.rec) == digest(&f.rec) => Ok(()),
        Some(_) => Err(format!(
            "{}: the finding replays to a different trace",
            r.label()
        )),
        None => Err(format!("{}: the finding does not replay", r.label())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn loom_names_come_first_and_daxcheck_names_are_aliases() {
        let c = Campaign::from_vars(true, vars(&[])).expect("defaults");
        assert_eq!((c.budget.bound, c.mutant), (3, None));
        let c = Campaign::from_vars(false, vars(&[])).expect("defaults");
        assert_eq!(c.budget.bound, 2);
        let c = Campaign::from_vars(true, vars(&[("DAXCHECK_LOOM_BOUND", "1")])).expect("alias");
        assert_eq!(c.budget.bound, 1);
        let both = [("LOOM_MAX_PREEMPTIONS", "2"), ("DAXCHECK_LOOM_BOUND", "4")];
        let c = Campaign::from_vars(true, vars(&both)).expect("both");
        assert_eq!(c.budget.bound, 2);
        let m = [("DAXCHECK_MUTANT", "m6"), ("DAXCHECK_KERNEL", "v6.16")];
        let c = Campaign::from_vars(true, vars(&m)).expect("mutant");
        assert_eq!((c.mutant, c.kernel), (Some(Mutant::M6), KernelState::V6_16));
    }

    #[test]
    fn a_bad_knob_is_a_one_line_error_naming_it() {
        for (bad, needle) in [
            (
                &[("LOOM_MAX_PREEMPTIONS", "three")][..],
                "`LOOM_MAX_PREEMPTIONS`",
            ),
            (&[("LOOM_MAX_BRANCHES", "-1")][..], "`LOOM_MAX_BRANCHES`"),
            (&[("DAXCHECK_LOOM_BOUND", "x")][..], "`DAXCHECK_LOOM_BOUND`"),
            (
                &[("DAXCHECK_MUTANT", "M99")][..],
                "DAXCHECK_MUTANT: unknown mutant `M99`",
            ),
            (
                &[("DAXCHECK_KERNEL", "v5")][..],
                "DAXCHECK_KERNEL: unknown kernel state",
            ),
            (&[("DAXCHECK_PCT_DEPTH", "0")][..], "`DAXCHECK_PCT_DEPTH`"),
            (&[("LOOM_LOG", "a=b=c")][..], "`LOOM_LOG`"),
        ] {
            let e = Campaign::from_vars(true, vars(bad)).expect_err(needle);
            assert!(e.contains(needle) && !e.contains('\n'), "{e}");
        }
    }
}

#[cfg(test)]
mod readme {
    /// Every variable the generated tests read is in README's table.
    #[test]
    fn readme_names_every_variable_the_tests_read() {
        let readme = include_str!("../../README.md");
        for src in [include_str!("cargo_test.rs"), include_str!("loom_env.rs")] {
            let words = src.split(|c: char| !(c.is_ascii_uppercase() || c == '_'));
            for var in words.filter(|w| w.starts_with("LOOM_") || w.starts_with("DAXCHECK_")) {
                if !var.ends_with('_') {
                    assert!(readme.contains(var), "README lacks {var}");
                }
            }
        }
    }
}
