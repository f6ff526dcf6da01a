//! Build and run a scenario of your own: two threads on one DAX file, a
//! PTE read fault against a truncate, explored exhaustively by loom (up to
//! the preemption bound) and sampled by shuttle's PCT scheduler. Then the
//! same scenario with a deliberate mistake switched on (M27: the fault
//! never drops its temporary reference), which the checker must catch.
//!
//! `cargo run --release -p daxcheck --example own_scenario`; `cargo test`
//! runs it too (`loom-tests/tests/example.rs`).

use std::sync::Arc;

use daxcheck::explore::{explore, Explorer, Model, Want};
use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vm::{Access, FaultSize};
use daxcheck_core::world::{Mm, Setup, FILE_A};
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::{Config, Mutant};

/// File A: one PMD range (two pages) on the blocks at pfn 8 and 9, mapped
/// by one process.
fn one_file() -> Setup {
    Setup::file(2).mms(1)
}

fn model(mutant: Option<Mutant>) -> Model {
    Model {
        setup: one_file(),
        threads: vec![
            ThreadSpec {
                name: "fault A[0] (PTE, read)".into(),
                body: Arc::new(|cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Access::Read, FaultSize::Pte);
                }),
            },
            ThreadSpec {
                name: "truncate A to 0".into(),
                body: Arc::new(|cx| xfs_setattr_size(cx, FILE_A, 0)),
            },
        ],
        cfg: Config {
            mutant,
            ..Config::default()
        },
        // Any broken check counts.
        want: Want::Any,
    }
}

/// Explore both ways; the unmutated model must hold, the mutant must be
/// caught. Returns what was seen, one line per run.
pub fn run() -> Result<Vec<String>, String> {
    let explorers = [
        Explorer::Loom { bound: 2 },
        Explorer::Pct {
            depth: 3,
            iterations: 500,
            seed: 1,
        },
    ];
    let mut seen = Vec::new();
    for ex in &explorers {
        let o = explore(&model(None), ex);
        if let Some(f) = o.failure {
            return Err(format!(
                "{}: the unmutated model broke {}",
                ex.describe(),
                f.violation.headline()
            ));
        }
        seen.push(format!(
            "{}: holds over {} executions",
            ex.describe(),
            o.executions
        ));
        let o = explore(&model(Some(Mutant::M27)), ex);
        let f = o
            .failure
            .ok_or_else(|| format!("{}: M27 survived", ex.describe()))?;
        seen.push(format!(
            "{}: M27 caught at execution {}: {}",
            ex.describe(),
            f.execution,
            f.violation.headline()
        ));
    }
    Ok(seen)
}

#[allow(dead_code)]
fn main() {
    match run() {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
        }
        Err(e) => {
            eprintln!("own_scenario: {e}");
            std::process::exit(1);
        }
    }
}
