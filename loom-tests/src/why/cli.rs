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
use crate::run::Budget;

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
    #[arg(long)]
    pub mutant: Option<String>,
    /// Kernel state: v6.15, v6.16 or 2026.
    #[arg(long, default_value = "v6.15")]
    pub kernel: String,
    /// loom, pct or random; default: each scenario's own.
    #[arg(long)]
    pub explorer: Option<String>,
    /// loom preemption bound.
    #[arg(long, default_value_t = 2)]
    pub bound: usize,
    /// PCT depth.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// shuttle iterations per scenario variant.
    #[arg(long, default_value_t = 2000)]
    pub iterations: usize,
    /// shuttle seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

fn bad(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("daxcheck: {msg}");
    ExitCode::from(2)
}

impl WhyArgs {
    fn budget(&self) -> Result<Budget, String> {
        if self.depth == 0 {
            return Err("--depth must be at least 1".into());
        }
        Ok(Budget {
            bound: self.bound,
            depth: self.depth,
            iterations: self.iterations,
            seed: self.seed,
        })
    }
}

pub fn why(a: WhyArgs) -> ExitCode {
    let json = match a.format.as_str() {
        "text" => false,
        "json" => true,
        f => return bad(format!("unknown format `{f}` (known: text, json)")),
    };
    let kernel = match KernelState::parse(&a.kernel) {
        Ok(k) => k,
        Err(e) => return bad(e),
    };
    let mutant = match a.mutant.as_deref().map(Mutant::parse).transpose() {
        Ok(m) => m,
        Err(e) => return bad(e),
    };
    let budget = match a.budget() {
        Ok(b) => b,
        Err(e) => return bad(e),
    };
    if a.without.as_deref() == Some("list") || (a.list && a.without.is_some()) {
        for g in &GUARDS {
            println!("{:<42} {}  ({})", g.name, g.site, g.mutant.name());
        }
        return ExitCode::SUCCESS;
    }
    if a.list {
        for (f, d) in FIELDS {
            println!("{f:<22} {d}");
        }
        return ExitCode::SUCCESS;
    }
    let cat = catalogue();
    let scope = match Scope::new(
        &cat,
        &a.scenarios,
        kernel,
        mutant,
        a.explorer.clone(),
        budget,
    ) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    if let Some(w) = &a.without {
        let gs: Vec<_> = if w == "all" {
            GUARDS.iter().collect()
        } else {
            match guard(w) {
                Ok(g) => vec![g],
                Err(e) => return bad(e),
            }
        };
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut out = Vec::new();
        for g in gs {
            match ablate(
                &cat,
                g,
                &scope.runs,
                a.explorer.as_deref(),
                kernel,
                &scope.budget,
                jobs,
            ) {
                Ok(r) => out.push(r),
                Err(e) => return bad(e),
            }
        }
        if json {
            let v: Vec<_> = out
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
            println!("{}", serde_json::Value::Array(v));
        } else {
            for r in &out {
                print!("{}", r.render());
            }
        }
        return ExitCode::SUCCESS;
    }
    let Some(name) = &a.field else {
        return bad("name a field (`daxcheck why --list` lists them), or --without CHECK");
    };
    let f = match field(name) {
        Ok(f) => f,
        Err(e) => return bad(e),
    };
    let agg = Rc::new(RefCell::new(Agg::new(f, a.at.as_deref().map(At::parse))));
    let sink = agg.clone();
    if let Err(e) = explore_recorded(
        &cat,
        &scope,
        Rc::new(RefCell::new(move |o: &_, n, rec: &_, acc: &[_]| {
            sink.borrow_mut().add(o, n, rec, acc)
        })),
    ) {
        return bad(e);
    }
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
        println!("{v}");
    } else {
        print!("{}", agg.render_text(saved.as_deref()));
        for (v, p) in &value_files {
            println!("  value {v}: daxcheck replay {p}");
        }
    }
    ExitCode::SUCCESS
}
