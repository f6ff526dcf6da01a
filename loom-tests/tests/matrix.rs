//! The paired mutant matrix under shuttle PCT at a CI budget: every paired
//! mutant must be caught, and the unmutated model must give every expected
//! result in the same run.

use daxcheck::catalogue::catalogue;
use daxcheck::explore::Explorer;
use daxcheck::matrix::{render, run_matrix};
use daxcheck_core::{KernelState, Mutant};

#[test]
fn every_paired_mutant_is_caught_and_the_baseline_holds() {
    let cat = catalogue();
    let scenarios: Vec<usize> = (0..cat.len()).collect();
    let pct = |_: &daxcheck::catalogue::Scenario| Explorer::Pct {
        depth: 3,
        iterations: 2000,
        seed: 1,
    };
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let m = run_matrix(
        &cat,
        &Mutant::ALL,
        &scenarios,
        false,
        &pct,
        KernelState::V6_15,
        jobs,
    );
    let names: Vec<&str> = cat.iter().map(|s| s.name).collect();
    let text = render(&m, &Mutant::ALL, &names);
    assert!(m.paired > 0, "{text}");
    assert!(m.ok(), "{text}");
    for sc in &cat {
        assert!(
            !sc.catches.is_empty(),
            "{} is paired with no mutant",
            sc.name
        );
    }
}
