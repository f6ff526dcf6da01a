//! The mutant matrix: every mutant (deliberate mistake or reverted
//! historical fix) against the scenarios paired with it, as evidence that a
//! green catalogue run means something.

use std::fmt::Write;
use std::time::Duration;

use daxcheck_core::{KernelState, Mutant};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Expect, Scenario};
use crate::explore::Explorer;
use crate::run::{execute_all, Run, RunResult};
use crate::shard::Shard;

/// One cell: a mutant against one scenario (all its variants).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    pub mutant: String,
    pub scenario: String,
    pub paired: bool,
    /// The check that caught it, if any (`I1`, `WARN`, ...).
    pub caught_by: Option<String>,
    /// The variant and explorer kind of the run that caught it.
    pub variant: Option<String>,
    pub explorer: Option<String>,
    pub executions: usize,
    pub seconds: f64,
    /// Not caught, and the scenario declares the mutant's window out of
    /// this explorer's reach: its reason (`Tuning::random_out_of_reach`).
    #[serde(default)]
    pub out_of_reach: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub scenario: String,
    pub variant: String,
    /// The explorer kind of the run (`loom`, `pct`, `random`).
    pub explorer: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
    /// Not ok, but the window is declared out of this explorer's reach:
    /// the scenario's reason.
    #[serde(default)]
    pub out_of_reach: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Matrix {
    pub explorer: String,
    pub kernel: String,
    pub cells: Vec<Cell>,
    pub baseline: Vec<Baseline>,
    /// Paired cells caught / paired cells.
    pub caught: usize,
    pub paired: usize,
    /// Mutants no scenario of the catalogue is paired with.
    pub unpaired: Vec<String>,
    /// Mutants paired only with scenarios this run did not select.
    pub paired_elsewhere: Vec<String>,
    /// Scenarios run in the matrix that caught no mutant.
    pub catch_nothing: Vec<String>,
}

impl Matrix {
    /// Every paired mutant is caught and the unmutated model gives every
    /// expected result, but for windows declared out of the explorer's
    /// reach.
    pub fn ok(&self) -> bool {
        self.caught + self.out_of_reach_cells().len() == self.paired
            && self
                .baseline
                .iter()
                .all(|b| b.ok || b.out_of_reach.is_some())
    }

    /// Paired cells missed where the scenario says the explorer cannot reach
    /// the mutant's window.
    pub fn out_of_reach_cells(&self) -> Vec<&Cell> {
        self.cells
            .iter()
            .filter(|c| c.paired && c.caught_by.is_none() && c.out_of_reach.is_some())
            .collect()
    }

    /// The matrix of an unsharded run from those of its `--shard` runs, in
    /// shard order: baseline and cells dealt back in turn, the score over
    /// the union, a scenario catching nothing only if it caught nothing in
    /// any shard.
    pub fn merge(parts: Vec<Matrix>) -> Result<Matrix, String> {
        let Some(first) = parts.first() else {
            return Err("no matrix to merge".into());
        };
        for m in &parts {
            if (&m.explorer, &m.kernel, &m.unpaired, &m.paired_elsewhere)
                != (
                    &first.explorer,
                    &first.kernel,
                    &first.unpaired,
                    &first.paired_elsewhere,
                )
            {
                return Err(
                    "the shards' matrices disagree on the explorer, kernel or mutants (were they run with the same options?)"
                        .into(),
                );
            }
        }
        let cells =
            crate::shard::interleave(&parts.iter().map(|m| m.cells.clone()).collect::<Vec<_>>());
        let baseline =
            crate::shard::interleave(&parts.iter().map(|m| m.baseline.clone()).collect::<Vec<_>>());
        let caught_somewhere = |s: &String| {
            cells
                .iter()
                .any(|c| &c.scenario == s && c.caught_by.is_some())
        };
        // In the selection's order, which the baseline keeps.
        let mut catch_nothing: Vec<String> = Vec::new();
        for b in &baseline {
            if !catch_nothing.contains(&b.scenario)
                && parts.iter().any(|m| m.catch_nothing.contains(&b.scenario))
                && !caught_somewhere(&b.scenario)
            {
                catch_nothing.push(b.scenario.clone());
            }
        }
        Ok(Matrix {
            explorer: first.explorer.clone(),
            kernel: first.kernel.clone(),
            caught: cells
                .iter()
                .filter(|c| c.paired && c.caught_by.is_some())
                .count(),
            paired: cells.iter().filter(|c| c.paired).count(),
            unpaired: first.unpaired.clone(),
            paired_elsewhere: first.paired_elsewhere.clone(),
            cells,
            baseline,
            catch_nothing,
        })
    }
}

/// Run the matrix. `all` pairs every mutant with every scenario; `shard`
/// keeps its share of the baseline runs and of the cells (shard.rs).
#[allow(clippy::too_many_arguments)]
pub fn run_matrix(
    cat: &[Scenario],
    mutants: &[Mutant],
    scenarios: &[usize],
    all: bool,
    explorers: &dyn Fn(&Scenario) -> Vec<Explorer>,
    kernel: KernelState,
    jobs: usize,
    shard: Option<Shard>,
) -> Matrix {
    let keeps = |i: usize| shard.is_none_or(|s| s.keeps(i));
    // Baseline: every variant of every scenario, unmutated.
    let mut runs = Vec::new();
    for &si in scenarios {
        for vi in 0..cat[si].variants.len() {
            for ex in explorers(&cat[si]) {
                runs.push(Run {
                    scenario: &cat[si],
                    variant: vi,
                    kernel,
                    mutant: None,
                    explorer: ex,
                });
            }
        }
    }
    let mut runs: Vec<Run> = runs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keeps(*i))
        .map(|(_, r)| r)
        .collect();
    let base_n = runs.len();
    // Mutant cells: (mutant, scenario) → every variant under every explorer;
    // a cell is caught if any of those runs breaks a check.
    let mut cells_idx = Vec::new();
    let mut cell_no = 0;
    for &m in mutants {
        for &si in scenarios {
            let paired = cat[si].catches.contains(&m);
            if !paired && !all {
                continue;
            }
            cell_no += 1;
            if !keeps(cell_no - 1) {
                continue;
            }
            let first = runs.len();
            for vi in 0..cat[si].variants.len() {
                for ex in explorers(&cat[si]) {
                    runs.push(Run {
                        scenario: &cat[si],
                        variant: vi,
                        kernel: m.kernel(kernel),
                        mutant: Some(m),
                        explorer: ex,
                    });
                }
            }
            cells_idx.push((m, si, paired, first..runs.len()));
        }
    }
    let results = execute_all(&runs, jobs);
    let baseline: Vec<Baseline> = results[..base_n]
        .iter()
        .map(|r| Baseline {
            scenario: r.scenario.to_string(),
            variant: r.variant.to_string(),
            explorer: r.explorer.kind().to_string(),
            expected: r.expected.word().to_string(),
            observed: r.observed().to_string(),
            ok: r.as_expected(),
            out_of_reach: r.beyond_reach().map(str::to_string),
        })
        .collect();
    let mut cells = Vec::new();
    for (m, si, paired, range) in cells_idx {
        let rs: &[RunResult] = &results[range];
        let hit = rs
            .iter()
            .find(|r| r.outcome.failure.is_some() && r.expected == Expect::Holds);
        let (executions, secs) = match hit {
            Some(r) => (r.outcome.executions, r.outcome.elapsed),
            None => (
                rs.iter().map(|r| r.outcome.executions).sum(),
                rs.iter().map(|r| r.outcome.elapsed).sum::<Duration>(),
            ),
        };
        cells.push(Cell {
            mutant: m.name().to_string(),
            scenario: cat[si].name.to_string(),
            paired,
            caught_by: hit
                .and_then(|r| r.outcome.failure.as_ref())
                .map(|f| f.violation.check.id()),
            variant: hit.map(|r| r.variant.to_string()),
            explorer: hit.map(|r| r.explorer.kind().to_string()),
            executions,
            seconds: secs.as_secs_f64(),
            out_of_reach: match hit {
                Some(_) => None,
                None => rs.iter().find_map(|r| r.out_of_reach).map(str::to_string),
            },
        });
    }
    let paired = cells.iter().filter(|c| c.paired).count();
    let caught = cells
        .iter()
        .filter(|c| c.paired && c.caught_by.is_some())
        .count();
    let paired_with = |m: &Mutant, sis: &[usize]| sis.iter().any(|&si| cat[si].catches.contains(m));
    let everywhere: Vec<usize> = (0..cat.len()).collect();
    let unpaired = mutants
        .iter()
        .filter(|m| !paired_with(m, &everywhere))
        .map(|m| m.name().to_string())
        .collect();
    let paired_elsewhere = mutants
        .iter()
        .filter(|m| paired_with(m, &everywhere) && !paired_with(m, scenarios))
        .map(|m| m.name().to_string())
        .collect();
    // A scenario that only `finds` is failed by the unmutated model already:
    // it has no mutants to catch (its own test asserts the finding).
    let finds_only = |si: usize| {
        (0..cat[si].variants.len()).all(|v| cat[si].expected(v, kernel) != Expect::Holds)
    };
    let catch_nothing = scenarios
        .iter()
        .filter(|&&si| !finds_only(si))
        // Only scenarios this run paired with a mutant can have caught one.
        .filter(|&&si| cells.iter().any(|c| c.paired && c.scenario == cat[si].name))
        .filter(|&&si| {
            !cells
                .iter()
                .any(|c| c.scenario == cat[si].name && c.caught_by.is_some())
        })
        .map(|&si| cat[si].name.to_string())
        .collect();
    Matrix {
        explorer: scenarios
            .first()
            .map(|&si| {
                explorers(&cat[si])
                    .iter()
                    .map(|e| e.describe())
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .unwrap_or_default(),
        kernel: kernel.name().to_string(),
        cells,
        baseline,
        caught,
        paired,
        unpaired,
        paired_elsewhere,
        catch_nothing,
    }
}

/// How a cell reads: `S3/pmd loom I1 (1 exec)`.
fn cell_text(c: &Cell, execs_word: &str) -> String {
    match (&c.caught_by, &c.variant, &c.explorer) {
        (Some(by), Some(v), Some(ex)) => {
            format!(
                "{}/{v} {ex} {by} ({}{execs_word})",
                c.scenario, c.executions
            )
        }
        _ => c.scenario.clone(),
    }
}

/// What happened to one mutant, in a word, over the cells that ran.
fn verdict(cells: &[&Cell]) -> &'static str {
    let paired: Vec<_> = cells.iter().filter(|c| c.paired).collect();
    if paired.is_empty() {
        if cells.iter().any(|c| c.caught_by.is_some()) {
            "(caught)"
        } else {
            "not run"
        }
    } else if paired.iter().all(|c| c.caught_by.is_some()) {
        "caught"
    } else if paired
        .iter()
        .all(|c| c.caught_by.is_some() || c.out_of_reach.is_some())
    {
        if paired.iter().any(|c| c.caught_by.is_some()) {
            "caught"
        } else {
            "unreached"
        }
    } else {
        "SURVIVED"
    }
}

/// The matrix as text: one line per mutant (its verdict and the cells that
/// caught it; cells of scenarios not paired with it in parentheses), then
/// the score over the cells that ran.
pub fn render(m: &Matrix, mutants: &[Mutant]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mutants ({}, kernel {})", m.explorer, m.kernel);
    for mu in mutants {
        let cells: Vec<&Cell> = m.cells.iter().filter(|c| c.mutant == mu.name()).collect();
        let word = verdict(&cells);
        let mut parts = Vec::new();
        for c in &cells {
            match (c.paired, c.caught_by.is_some()) {
                (true, true) => parts.push(cell_text(c, " exec")),
                (true, false) if c.out_of_reach.is_some() => {
                    parts.push(format!("{} out of reach", c.scenario))
                }
                (true, false) => parts.push(format!("{} survived", c.scenario)),
                (false, true) => parts.push(format!("({})", cell_text(c, " exec"))),
                (false, false) => {}
            }
        }
        if word == "not run" {
            if m.unpaired.iter().any(|u| u == mu.name()) {
                parts.push("no scenario is paired with it".into());
            } else {
                parts.push("paired only with scenarios not selected".into());
            }
        }
        let _ = writeln!(out, "{:<4} {:<9} {}", mu.name(), word, parts.join("  "));
    }
    let _ = writeln!(out);
    if m.paired == 0 {
        let _ = writeln!(out, "score: no paired cell in this selection");
    } else {
        let _ = writeln!(
            out,
            "score: {}/{} paired cells caught ({:.0}%)",
            m.caught,
            m.paired,
            100.0 * m.caught as f64 / m.paired as f64
        );
    }
    let unreached = m.out_of_reach_cells();
    if !unreached.is_empty() {
        let _ = writeln!(
            out,
            "out of reach: {} paired cell{} the scenario declares out of this explorer's reach (not counted as survived; the reasons are in the scenarios' tuning): {}",
            unreached.len(),
            if unreached.len() == 1 { "" } else { "s" },
            unreached
                .iter()
                .map(|c| format!("{} on {}", c.mutant, c.scenario))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let beyond: Vec<_> = m
        .baseline
        .iter()
        .filter(|b| !b.ok && b.out_of_reach.is_some())
        .map(|b| format!("{}/{}", b.scenario, b.variant))
        .collect();
    if !beyond.is_empty() {
        let _ = writeln!(
            out,
            "baseline out of reach: {} (the unmutated model's finding is declared out of this explorer's reach)",
            beyond.join(", ")
        );
    }
    let bad: Vec<_> = m
        .baseline
        .iter()
        .filter(|b| !b.ok && b.out_of_reach.is_none())
        .collect();
    if bad.is_empty() {
        let _ = writeln!(
            out,
            "baseline: the unmutated model gives every expected result ({} runs{})",
            m.baseline.len(),
            if beyond.is_empty() {
                String::new()
            } else {
                format!(", but the {} out of reach above", beyond.len())
            }
        );
    } else {
        for b in bad {
            let _ = writeln!(
                out,
                "baseline UNEXPECTED: {}/{} expected {} observed {}",
                b.scenario, b.variant, b.expected, b.observed
            );
        }
    }
    if !m.unpaired.is_empty() {
        let _ = writeln!(
            out,
            "unpaired mutants (no scenario of the catalogue is paired with them): {}",
            m.unpaired.join(", ")
        );
    }
    if !m.catch_nothing.is_empty() {
        let _ = writeln!(
            out,
            "holds-scenarios that caught nothing: {}",
            m.catch_nothing.join(", ")
        );
    }
    out
}

/// The mutant table of `docs/mutants.md`: the declaration of each mutant
/// (`core/src/config.rs`) and the paired cells that caught it.
pub fn render_markdown(m: &Matrix, mutants: &[Mutant]) -> String {
    let mut out = String::from(
        "| name | kind | code change (file: function) | spec row | kernel | caught by |\n|---|---|---|---|---|---|\n",
    );
    for mu in mutants {
        let caught: Vec<String> = m
            .cells
            .iter()
            .filter(|c| c.mutant == mu.name() && c.paired)
            .map(|c| match c.caught_by {
                Some(_) => cell_text(c, ""),
                None => format!("{} SURVIVED", c.scenario),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            mu.name(),
            if mu.is_historical() { "B" } else { "M" },
            mu.code(),
            mu.spec(),
            mu.only_in().map_or("any", |k| k.name()),
            if caught.is_empty() {
                "-".to_string()
            } else {
                caught.join(", ")
            }
        );
    }
    out
}

/// One row of the detection benchmark: a mutant's median executions and
/// time to detection per explorer, over its paired scenarios.
pub struct Detection {
    pub mutant: Mutant,
    /// (explorer kind, detected runs, total runs, median executions, median seconds)
    pub per_explorer: Vec<(&'static str, usize, usize, f64, f64)>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// For every paired (mutant, scenario): loom once, and PCT and random with
/// seeds 1..=seeds; a run detects the mutant when any variant fails.
pub fn detection(
    cat: &[Scenario],
    mutants: &[Mutant],
    seeds: u64,
    budget: &crate::run::Budget,
    jobs: usize,
) -> Vec<Detection> {
    let mut runs = Vec::new();
    // (mutant, explorer kind, scenario, seed) → run indices of its variants
    let mut groups: Vec<(Mutant, &'static str, std::ops::Range<usize>)> = Vec::new();
    for &m in mutants {
        for sc in cat.iter().filter(|s| s.catches.contains(&m)) {
            let mut explorers = vec![(
                "loom",
                Explorer::Loom {
                    bound: budget.bound,
                },
            )];
            for seed in 1..=seeds {
                explorers.push((
                    "pct",
                    Explorer::Pct {
                        depth: budget.depth,
                        iterations: budget.iterations,
                        seed,
                    },
                ));
                explorers.push((
                    "random",
                    Explorer::Random {
                        iterations: budget.iterations,
                        seed,
                    },
                ));
            }
            for (kind, ex) in explorers {
                let first = runs.len();
                for vi in 0..sc.variants.len() {
                    runs.push(Run {
                        scenario: sc,
                        variant: vi,
                        kernel: m.kernel(KernelState::V6_15),
                        mutant: Some(m),
                        explorer: ex.clone(),
                    });
                }
                groups.push((m, kind, first..runs.len()));
            }
        }
    }
    let results = execute_all(&runs, jobs);
    mutants
        .iter()
        .map(|&m| {
            let per_explorer = ["loom", "pct", "random"]
                .into_iter()
                .map(|kind| {
                    let gs: Vec<_> = groups.iter().filter(|g| g.0 == m && g.1 == kind).collect();
                    let mut execs = Vec::new();
                    let mut secs = Vec::new();
                    for g in &gs {
                        let rs = &results[g.2.clone()];
                        if let Some(r) = rs
                            .iter()
                            .find(|r| r.outcome.failure.is_some() && r.expected == Expect::Holds)
                        {
                            execs.push(r.outcome.executions as f64);
                            secs.push(r.outcome.elapsed.as_secs_f64());
                        }
                    }
                    (kind, execs.len(), gs.len(), median(execs), median(secs))
                })
                .collect();
            Detection {
                mutant: m,
                per_explorer,
            }
        })
        .collect()
}

/// The detection table in Markdown (for BENCHMARKS.md).
pub fn render_detection(rows: &[Detection]) -> String {
    let mut out = String::from(
        "| mutant | loom: found, median execs, median time | pct: found, median execs, median time | random: found, median execs, median time |\n|---|---|---|---|\n",
    );
    for d in rows {
        let cells: Vec<String> = d
            .per_explorer
            .iter()
            .map(|(_, found, total, e, s)| {
                if *total == 0 {
                    "unpaired".to_string()
                } else if *found == 0 {
                    format!("0/{total}")
                } else {
                    format!("{found}/{total}, {e:.0}, {:.3} s", s)
                }
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", d.mutant.name(), cells.join(" | "));
    }
    out
}
