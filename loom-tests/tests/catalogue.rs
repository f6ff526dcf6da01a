//! The whole catalogue under its default explorers: every scenario gives its
//! expected result, and every finding replays to the identical trace.

use daxcheck::catalogue::{catalogue, Expect};
use daxcheck::explore::{explore, Explorer};
use daxcheck::replay::digest;
use daxcheck::run::{execute_all, explorers_for, model_of, Budget, Run};
use daxcheck_core::KernelState;

#[test]
fn every_scenario_gives_its_expected_result_and_findings_replay() {
    let cat = catalogue();
    let budget = Budget::default();
    let mut runs = Vec::new();
    for sc in &cat {
        for vi in 0..sc.variants.len() {
            for ex in explorers_for(None, sc, &budget) {
                runs.push(Run {
                    scenario: sc,
                    variant: vi,
                    kernel: KernelState::V6_15,
                    mutant: None,
                    explorer: ex,
                });
            }
        }
    }
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results = execute_all(&runs, jobs);
    let mut findings = 0;
    for (run, r) in runs.iter().zip(&results) {
        assert!(
            r.as_expected(),
            "{} under {}: expected {}, observed {}",
            r.label(),
            r.explorer.describe(),
            r.expected.word(),
            r.observed()
        );
        let (Expect::Finds(..), Some(f)) = (r.expected, &r.outcome.failure) else {
            continue;
        };
        findings += 1;
        let how = match &r.explorer {
            Explorer::Loom { bound } => Explorer::LoomReplay {
                bound: *bound,
                execution: f.execution,
            },
            _ => Explorer::Replay {
                schedule: f.rec.events.iter().map(|e| e.tid).collect(),
            },
        };
        let again = explore(&model_of(run.scenario, run.variant, r.kernel, None), &how);
        let g = again
            .failure
            .unwrap_or_else(|| panic!("{}: the finding does not replay", r.label()));
        assert_eq!(
            g.rec.events,
            f.rec.events,
            "{}: replayed trace differs",
            r.label()
        );
        assert_eq!(digest(&g.rec), digest(&f.rec));
    }
    assert!(findings > 0, "the catalogue asserts at least one finding");
}

#[test]
fn h5_holds_with_the_2026_reset() {
    let cat = catalogue();
    let sc = cat.iter().find(|s| s.name == "S15").expect("S15");
    for vi in 0..sc.variants.len() {
        let ex = Explorer::Pct {
            depth: 3,
            iterations: 200,
            seed: 1,
        };
        let o = explore(&model_of(sc, vi, KernelState::Y2026, None), &ex);
        assert!(
            o.failure.is_none(),
            "S15 on 2026: {:?}",
            o.failure.map(|f| f.violation.headline())
        );
        let o = explore(&model_of(sc, vi, KernelState::V6_15, None), &ex);
        assert!(o.failure.is_some(), "S15 on v6.15 must find H5");
    }
}
