//! The `daxcheck` subcommands' work, behind the thin `main.rs`: each takes
//! parsed options and returns the exit status, or a one-line error (exit 2).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use daxcheck_core::{KernelState, Mutant};

use crate::catalogue::{catalogue, resolve, Expect, Scenario};
use crate::checks;
use crate::explore::ExplorerKind;
use crate::matrix;
use crate::report::Report;
use crate::run::{self, Budget, Run, RunResult};
use crate::shard::Shard;

/// A one-line error: the command exits 2.
#[derive(Debug)]
pub struct Fail(pub String);

impl<T: std::fmt::Display> From<T> for Fail {
    fn from(e: T) -> Fail {
        Fail(e.to_string())
    }
}

pub type Res = Result<ExitCode, Fail>;

/// Write to stdout. A closed pipe ends the process quietly (SIGPIPE is left
/// at its default, as `cat` has it); any other write error is one line and
/// exit 2.
pub fn out(s: &str) -> Result<(), Fail> {
    let mut o = std::io::stdout().lock();
    o.write_all(s.as_bytes())
        .and_then(|_| o.flush())
        .map_err(|e| Fail(format!("cannot write to stdout: {e}")))
}

/// Output formats of `check`: a text table, or JSON Lines (one object per
/// run, `docs/json.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Output formats of `list` and `mutants`: text, one JSON document, or the
/// Markdown that `docs/` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DocFormat {
    Text,
    Json,
    Markdown,
}

pub enum ListWhat {
    Scenarios,
    Checks,
    Mutants,
}

pub fn list(what: ListWhat, format: DocFormat) -> Res {
    let text = match (what, format) {
        (ListWhat::Checks, DocFormat::Text) => checks::render_text(),
        (ListWhat::Checks, DocFormat::Markdown) => checks::render_markdown(),
        (ListWhat::Checks, DocFormat::Json) => {
            let v: Vec<_> = checks::all()
                .into_iter()
                .map(|(id, name, meaning)| serde_json::json!({"id": id, "name": name, "meaning": meaning}))
                .collect();
            let h: Vec<_> = checks::HYPOTHESES
                .iter()
                .map(|(id, m)| serde_json::json!({"id": id.to_string(), "meaning": m}))
                .collect();
            format!("{}\n", serde_json::json!({"checks": v, "hypotheses": h}))
        }
        (ListWhat::Mutants, DocFormat::Json) => {
            let v: Vec<_> = Mutant::ALL
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name(),
                        "kind": if m.is_historical() { "historical" } else { "mistake" },
                        "kernel": m.only_in().map(|k| k.name()),
                        "spec": m.spec(),
                        "describe": m.describe(),
                        "code": m.code(),
                        "paired": paired_with(*m),
                    })
                })
                .collect();
            format!("{}\n", serde_json::Value::Array(v))
        }
        (ListWhat::Mutants, _) => list_mutants(),
        (ListWhat::Scenarios, DocFormat::Json) => {
            let cat = catalogue();
            let v: Vec<_> = cat
                .iter()
                .map(|sc| {
                    serde_json::json!({
                        "name": sc.name,
                        "title": sc.title,
                        "header": sc.rendered_header(),
                        "catches": sc.catches.iter().map(|m| m.name()).collect::<Vec<_>>(),
                        "variants": sc.variants.iter().enumerate().map(|(vi, v)| serde_json::json!({
                            "name": v.name,
                            "expected": run::Expected::from(sc.expected(vi, KernelState::V6_15)),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            format!("{}\n", serde_json::Value::Array(v))
        }
        (ListWhat::Scenarios, DocFormat::Markdown) => crate::catalogue::render_markdown(),
        (ListWhat::Scenarios, DocFormat::Text) => list_scenarios(),
    };
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn paired_with(m: Mutant) -> Vec<&'static str> {
    catalogue()
        .iter()
        .filter(|s| s.catches.contains(&m))
        .map(|s| s.name)
        .collect()
}

fn list_mutants() -> String {
    let mut s = String::from("mutants (M: invented mistakes; B: a historical fix reverted):\n");
    for m in Mutant::ALL {
        let paired = paired_with(*m);
        s.push_str(&format!(
            "  {:<4} {}  {}{}  [paired: {}]\n",
            m.name(),
            if m.is_historical() { "B" } else { "M" },
            m.describe(),
            m.only_in()
                .map(|k| format!(" (judged on {k})"))
                .unwrap_or_default(),
            if paired.is_empty() {
                "-".to_string()
            } else {
                paired.join(" ")
            }
        ));
    }
    s.push_str("\nkernel states (--kernel):\n");
    for k in KernelState::ALL {
        s.push_str(&format!("  {:<8} {}\n", k.name(), k.describe()));
    }
    s
}

fn list_scenarios() -> String {
    let mut s = String::new();
    for sc in catalogue() {
        let variants: Vec<String> = sc
            .variants
            .iter()
            .enumerate()
            .map(|(vi, v)| {
                format!(
                    "{}: {}",
                    v.name,
                    sc.expected(vi, KernelState::V6_15).words()
                )
            })
            .collect();
        let catches: Vec<_> = sc.catches.iter().map(|m| m.name()).collect();
        s.push_str(&format!(
            "{}  {}  [{}]  catches: {}\n",
            sc.name,
            sc.title,
            variants.join(", "),
            if catches.is_empty() {
                "-".to_string()
            } else {
                catches.join(", ")
            }
        ));
        for line in sc.rendered_header().lines() {
            s.push_str(&format!("    {line}\n"));
        }
    }
    s
}

/// Everything `check` needs, parsed.
pub struct CheckOpts {
    pub specs: Vec<String>,
    pub mutant: Option<Mutant>,
    pub kernel: KernelState,
    pub explorer: Option<ExplorerKind>,
    pub budget: Budget,
    pub jobs: usize,
    /// `--shard I/N`: only this shard's runs (shard.rs).
    pub shard: Option<Shard>,
    pub format: Format,
    pub show_findings: bool,
    pub save_findings: bool,
    pub save_corpus: bool,
    /// Where to write a picture of each failure (`--html-dir`).
    pub html_dir: Option<PathBuf>,
}

/// The runs a list of `S1` / `S1/pte` names stands for, each variant once.
fn runs_for<'a>(
    cat: &'a [Scenario],
    specs: &[String],
    o: &CheckOpts,
) -> Result<Vec<Run<'a>>, Fail> {
    let mut seen = BTreeSet::new();
    let mut runs = Vec::new();
    for spec in specs {
        let (si, vis) = resolve(cat, spec)?;
        for vi in vis {
            if !seen.insert((si, vi)) {
                continue;
            }
            for explorer in run::explorers_for(o.explorer, &cat[si], &o.budget) {
                runs.push(Run {
                    scenario: &cat[si],
                    variant: vi,
                    kernel: o.kernel,
                    mutant: o.mutant,
                    explorer,
                });
            }
        }
    }
    Ok(runs)
}

/// A run that broke a check under a mutant: the mutant is caught.
fn caught(r: &RunResult) -> bool {
    r.mutant.is_some() && r.expected == Expect::Holds && r.outcome.failure.is_some()
}

pub fn check(o: CheckOpts) -> Res {
    let cat = catalogue();
    let specs: Vec<String> = if o.specs.is_empty() {
        cat.iter().map(|s| s.name.to_string()).collect()
    } else {
        o.specs.clone()
    };
    let mut runs = runs_for(&cat, &specs, &o)?;
    if let Some(s) = o.shard {
        runs = s.select(runs);
    }
    let start = Instant::now();
    let mut results = run::execute_all_with(&runs, o.jobs, true);
    for r in &mut results {
        crate::why::race::explain(&cat, r);
    }
    let elapsed = start.elapsed();
    // A passing check writes nothing: only results that are not as
    // expected are saved, and expected findings on request.
    let dir = run::failure_dir(o.save_corpus);
    let mut saved: Vec<Option<PathBuf>> = Vec::new();
    for r in &results {
        let keep = !r.as_expected() || o.save_findings || o.save_corpus;
        saved.push(match &r.outcome.failure {
            Some(f) if keep => match run::save_replay(r, f, &dir) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("daxcheck: {e}");
                    None
                }
            },
            _ => None,
        });
    }
    if o.format == Format::Json {
        if let Some(s) = o.shard {
            out(&format!("{}\n", s.header("check")))?;
        }
        for (r, p) in results.iter().zip(&saved) {
            out(&format!("{}\n", run::render_json(r, p.as_deref())))?;
        }
    } else {
        out(&run::render_table(&results))?;
        let findings: Vec<_> = results
            .iter()
            .zip(&saved)
            .filter(|(r, _)| r.as_expected() && r.outcome.failure.is_some())
            .collect();
        if !findings.is_empty() && !o.show_findings {
            out("\nexpected findings (--show-findings prints their reports; --save-findings their replay files):\n")?;
            for (r, p) in &findings {
                if let Some(f) = &r.outcome.failure {
                    let rep = Report::new(r, f, p.as_deref());
                    let h = match r.expected {
                        Expect::Finds(f) => f.id(),
                        Expect::Holds => "-".into(),
                    };
                    out(&format!("  {h:<5} {}\n", rep.one_line()))?;
                }
            }
        }
        for (r, p) in results.iter().zip(&saved) {
            if let Some(f) = &r.outcome.failure {
                if !r.as_expected() || o.show_findings {
                    out("\n")?;
                    out(&run::render_failure(r, f, p.as_deref()))?;
                    if let Some(line) =
                        crate::picture::beside_replay(r, f, p.as_deref(), o.html_dir.as_deref())
                    {
                        out(&format!("{line}\n"))?;
                    }
                }
            }
        }
        let shard = o.shard.map_or(String::new(), |s| format!("shard {s}: "));
        out(&format!(
            "\n{shard}{}\n",
            verdict(&results, o.mutant, elapsed)
        ))?;
    }
    Ok(if results.iter().all(|r| r.accepted()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The last line of `check`: what the whole run means.
pub fn verdict(results: &[RunResult], mutant: Option<Mutant>, t: std::time::Duration) -> String {
    let n = results.len();
    let secs = format!("{:.1} s", t.as_secs_f64());
    if let Some(m) = mutant {
        let by: Vec<String> = results
            .iter()
            .filter(|r| caught(r))
            .map(|r| {
                let check = r
                    .outcome
                    .failure
                    .as_ref()
                    .map(|f| f.violation.check.id())
                    .unwrap_or_default();
                format!("{} {} ({check})", r.label(), r.explorer.kind())
            })
            .collect();
        let other: Vec<String> = results
            .iter()
            .filter(|r| !caught(r) && !r.as_expected())
            .map(|r| r.label())
            .collect();
        let mut s = if by.is_empty() {
            format!("{m} survived: no run broke a check ({n} runs) in {secs}")
        } else {
            format!(
                "{m} caught by {} ({} of {n} runs; exit status 1, as for any run that breaks a check) in {secs}",
                by.join(", "),
                by.len()
            )
        };
        if !other.is_empty() {
            s.push_str(&format!("; also not as expected: {}", other.join(", ")));
        }
        return s;
    }
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.accepted())
        .map(|r| {
            format!(
                "{} {} (expected {}, observed {})",
                r.label(),
                r.explorer.kind(),
                r.expected.word(),
                r.observed_text()
            )
        })
        .collect();
    let beyond: Vec<String> = results
        .iter()
        .filter(|r| r.beyond_reach().is_some())
        .map(|r| format!("{} {}", r.label(), r.explorer.kind()))
        .collect();
    let beyond = if beyond.is_empty() {
        String::new()
    } else {
        format!(
            "; {} run{} missed a window its scenario declares out of that explorer's reach (not counted as a failure; the reasons are in the scenarios' tuning and `docs/catalogue.md`): {}",
            beyond.len(),
            if beyond.len() == 1 { "" } else { "s" },
            beyond.join(", ")
        )
    };
    let n_ok = n - results
        .iter()
        .filter(|r| r.beyond_reach().is_some())
        .count();
    let verdict = if bad.is_empty() {
        let hyps: BTreeSet<String> = results
            .iter()
            .filter(|r| r.outcome.failure.is_some())
            .filter_map(|r| match r.expected {
                Expect::Finds(f) => Some(f.id()),
                Expect::Holds => None,
            })
            .collect();
        let nf = results
            .iter()
            .filter(|r| r.outcome.failure.is_some())
            .count();
        if nf == 0 {
            format!("ok: {n_ok} runs gave their expected result in {secs}")
        } else {
            format!(
                "ok: {n_ok} runs gave their expected result ({nf} expected finding{}: {}) in {secs}",
                if nf == 1 { "" } else { "s" },
                hyps.into_iter().collect::<Vec<_>>().join(" ")
            )
        }
    } else {
        format!(
            "FAILED: {} of {n} runs did not give their expected result: {} in {secs}",
            bad.len(),
            bad.join(", ")
        )
    };
    format!("{verdict}{beyond}")
}

/// Everything `mutants` needs, parsed.
pub struct MutantOpts {
    pub scenarios: Vec<String>,
    pub mutants: Vec<Mutant>,
    pub all: bool,
    pub kernel: KernelState,
    pub explorer: Option<ExplorerKind>,
    pub budget: Budget,
    pub jobs: usize,
    /// `--shard I/N`: only this shard's baseline runs and cells.
    pub shard: Option<Shard>,
    pub format: DocFormat,
}

pub fn mutants(o: MutantOpts) -> Res {
    let cat = catalogue();
    let mut scenarios = Vec::new();
    for name in &o.scenarios {
        let (si, _) = resolve(&cat, name)?;
        if !scenarios.contains(&si) {
            scenarios.push(si);
        }
    }
    if scenarios.is_empty() {
        scenarios = (0..cat.len()).collect();
    }
    let ms: Vec<Mutant> = if o.mutants.is_empty() {
        Mutant::ALL.to_vec()
    } else {
        o.mutants.clone()
    };
    let pick = |sc: &Scenario| run::explorers_for(o.explorer, sc, &o.budget);
    let m = matrix::run_matrix(
        &cat, &ms, &scenarios, o.all, &pick, o.kernel, o.jobs, o.shard,
    );
    let text = match o.format {
        DocFormat::Json => {
            let head = o
                .shard
                .map_or(String::new(), |s| format!("{}\n", s.header("mutants")));
            format!("{head}{}\n", serde_json::to_string(&m)?)
        }
        DocFormat::Markdown => matrix::render_markdown(&m, &ms),
        DocFormat::Text => matrix::render(&m, &ms),
    };
    out(&text)?;
    Ok(if m.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `daxcheck merge`: the shards' JSON outputs as the unsharded run's.
pub fn merge(files: &[PathBuf]) -> Res {
    let mut texts = Vec::new();
    for f in files {
        let t = std::fs::read_to_string(f)
            .map_err(|e| Fail(format!("cannot read {}: {e}", f.display())))?;
        texts.push((f.display().to_string(), t));
    }
    let (text, ok) = crate::shard::merge(&texts)?;
    out(&text)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn bench_mutants(seeds: u64, jobs: usize) -> Res {
    let rows = matrix::detection(&catalogue(), Mutant::ALL, seeds, &Budget::default(), jobs);
    out(&matrix::render_detection(&rows))?;
    Ok(ExitCode::SUCCESS)
}
