//! The `why` and `answers` subcommands: arguments and output.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use daxcheck_core::access::FIELDS;
use daxcheck_core::{KernelState, Mutant};

use super::ablate::{ablate, guard, GUARDS};
use super::report::{field, Agg, At};
use super::{explore_recorded, witness_dir, Scope};
use crate::catalogue::catalogue;
use crate::cmd::{out, Fail, Format, Res};
use crate::explore::ExplorerKind;
use crate::run::Budget;
use clap::value_parser;

/// `daxcheck why FIELD`: what synchronizes a field, its values at a site,
/// whether a guard is needed.
#[derive(clap::Args)]
pub struct WhyArgs {
    /// A modelled field (`folio.share`); see --list.
    pub field: Option<String>,
    /// List the fields, one line each (with --without: the guards).
    #[arg(long)]
    pub list: bool,
    /// Values of the field at this site: a kernel function, optionally
    /// `function:event` (`dax_fault_iter:folio_ref_inc`).
    #[arg(long)]
    pub at: Option<String>,
    /// Run the catalogue with this guard removed (a guard name, its mutant,
    /// or `all`; `list` lists the guards).
    #[arg(long)]
    pub without: Option<String>,
    /// Only these scenarios or variants (repeatable); default: the catalogue.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// Explore with this mutant switched on.
    #[arg(long, value_enum, ignore_case = true, hide_possible_values = true)]
    pub mutant: Option<Mutant>,
    /// Kernel state.
    #[arg(long, value_enum, ignore_case = true, default_value_t = KernelState::V6_15)]
    pub kernel: KernelState,
    /// The explorer; default: each scenario's own.
    #[arg(long, value_enum, ignore_case = true)]
    pub explorer: Option<ExplorerKind>,
    /// loom preemption bound.
    #[arg(long, default_value_t = 2, value_parser = value_parser!(u64).range(0..=255))]
    pub bound: u64,
    /// PCT depth.
    #[arg(long, default_value_t = 3, value_parser = value_parser!(u64).range(1..=10_000))]
    pub depth: u64,
    /// shuttle iterations per scenario variant.
    #[arg(long, default_value_t = 2000,
          value_parser = value_parser!(u64).range(1..=1_000_000_000))]
    pub iterations: u64,
    /// shuttle seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, ignore_case = true, default_value_t = Format::Text)]
    pub format: Format,
}

impl WhyArgs {
    fn budget(&self) -> Budget {
        Budget {
            bound: self.bound as usize,
            depth: self.depth as usize,
            iterations: self.iterations as usize,
            seed: self.seed,
            seeds: 1,
        }
    }
}

pub fn why(a: WhyArgs) -> Res {
    let json = a.format == Format::Json;
    let kernel = a.kernel;
    let mutant = a.mutant;
    let budget = a.budget();
    if a.without.as_deref() == Some("list") || (a.list && a.without.is_some()) {
        let mut t = String::new();
        for g in &GUARDS {
            t.push_str(&format!(
                "{:<42} {}  ({})\n",
                g.name,
                g.site,
                g.mutant.name()
            ));
        }
        out(&t)?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.list {
        let mut t = String::new();
        for (f, d) in FIELDS {
            t.push_str(&format!("{f:<22} {d}\n"));
        }
        out(&t)?;
        return Ok(ExitCode::SUCCESS);
    }
    let cat = catalogue();
    let scope = Scope::new(&cat, &a.scenarios, kernel, mutant, a.explorer, budget).map_err(Fail)?;
    if let Some(w) = &a.without {
        let gs: Vec<_> = if w == "all" {
            GUARDS.iter().collect()
        } else {
            vec![guard(w).map_err(Fail)?]
        };
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut res = Vec::new();
        for g in gs {
            res.push(
                ablate(
                    &cat,
                    g,
                    &scope.runs,
                    a.explorer,
                    kernel,
                    &scope.budget,
                    jobs,
                )
                .map_err(Fail)?,
            );
        }
        if json {
            let v: Vec<_> = res
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "guard": r.guard.name, "site": r.guard.site, "mutant": r.guard.mutant.name(),
                        "runs": r.runs, "summary": r.summary(),
                        "broken": r.broken.iter().map(|b| serde_json::json!({
                            "run": b.run, "explorer": b.explorer, "execution": b.execution,
                            "violation": b.headline})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            out(&format!("{}\n", serde_json::Value::Array(v)))?;
        } else {
            for r in &res {
                out(&r.render())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = &a.field else {
        return Err(Fail(
            "name a field (`daxcheck why --list` lists them), or --without CHECK".into(),
        ));
    };
    let f = field(name).map_err(Fail)?;
    let agg = Rc::new(RefCell::new(Agg::new(f, a.at.as_deref().map(At::parse))));
    let sink = agg.clone();
    explore_recorded(
        &cat,
        &scope,
        Rc::new(RefCell::new(move |o: &_, n, rec: &_, acc: &[_]| {
            sink.borrow_mut().add(o, n, rec, acc)
        })),
    )
    .map_err(Fail)?;
    let agg = agg.borrow();
    let saved = agg.verdict_witness().map(|w| {
        let dir = witness_dir();
        match w.save(&dir, f) {
            Ok(n) => Some(dir.join(n).display().to_string()),
            Err(e) => {
                eprintln!("daxcheck: {e}");
                None
            }
        }
    });
    let saved = saved.flatten();
    // A replay file per distinct value at the site.
    let mut value_files = Vec::new();
    for (v, seen) in &agg.values {
        let dir = witness_dir();
        match seen.witness.save(&dir, &format!("{f}-at")) {
            Ok(n) => value_files.push((v.clone(), dir.join(n).display().to_string())),
            Err(e) => eprintln!("daxcheck: {e}"),
        }
    }
    if json {
        let mut v = agg.render_json(saved.as_deref());
        v["value_witnesses"] = serde_json::json!(value_files
            .iter()
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect::<std::collections::BTreeMap<_, _>>());
        out(&format!("{v}\n"))?;
    } else {
        out(&agg.render_text(saved.as_deref()))?;
        for (v, p) in &value_files {
            out(&format!("  value {v}: daxcheck replay {p}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
