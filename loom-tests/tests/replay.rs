//! Replay round trip: a failing schedule saved to a file replays to the
//! byte-identical report, whichever explorer found it.

use daxcheck::catalogue::catalogue;
use daxcheck::explore::{explore, Explorer};
use daxcheck::replay::{digest, ReplayFile};
use daxcheck::run::{execute_run, model_of, render_failure, save_replay, Run};
use daxcheck_core::{KernelState, Mutant};

/// The round trip of one failure; returns the id of the check it broke.
fn round_trip(name: &str, variant: &str, m: Mutant, ex: Explorer) -> String {
    let cat = catalogue();
    let sc = cat.iter().find(|s| s.name == name).expect("scenario");
    let vi = sc
        .variants
        .iter()
        .position(|v| v.name == variant)
        .expect("variant");
    let r = execute_run(&Run {
        scenario: sc,
        variant: vi,
        kernel: KernelState::V6_15,
        mutant: Some(m),
        explorer: ex,
    });
    let f = r.outcome.failure.as_ref().expect("the mutant is caught");
    let dir = std::env::temp_dir().join(format!(
        "daxcheck-replay-test-{}-{name}-{variant}-{m}",
        std::process::id()
    ));
    let path = save_replay(&r, f, &dir).expect("saved");
    let original = render_failure(&r, f, Some(&path));

    let file =
        ReplayFile::parse(&std::fs::read_to_string(&path).expect("read back")).expect("parses");
    assert_eq!(file.digest, digest(&f.rec));
    let how = match Explorer::parse_spec(&file.explorer).expect("explorer spec") {
        Explorer::Loom { bound } => Explorer::LoomReplay {
            bound,
            execution: file.execution,
        },
        _ => Explorer::Replay {
            schedule: file.schedule.clone(),
        },
    };
    let again = explore(&model_of(sc, vi, file.kernel, file.mutant), &how);
    let g = again.failure.clone().expect("the replay fails again");
    assert_eq!(digest(&g.rec), file.digest, "replay digest");
    assert_eq!(g.rec.events, f.rec.events, "replay trace, step by step");
    assert_eq!(g.violation, f.violation);
    // The report body (everything but the explorer line) is identical.
    let replayed = render_failure(
        &daxcheck::run::RunResult {
            explorer: r.explorer.clone(),
            outcome: again,
            ..r_clone(&r)
        },
        &g,
        Some(&path),
    );
    assert_eq!(
        replayed.lines().skip(1).collect::<Vec<_>>(),
        original.lines().skip(1).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(dir);
    f.violation.check.id()
}

fn r_clone(r: &daxcheck::run::RunResult) -> daxcheck::run::RunResult {
    daxcheck::run::RunResult {
        scenario: r.scenario,
        variant: r.variant,
        kernel: r.kernel,
        mutant: r.mutant,
        explorer: r.explorer.clone(),
        expected: r.expected,
        outcome: daxcheck::explore::Outcome {
            executions: 0,
            elapsed: Default::default(),
            bounded: false,
            failure: None,
            last: None,
        },
        out_of_reach: r.out_of_reach,
    }
}

#[test]
fn pct_failure_replays_exactly() {
    round_trip(
        "S3",
        "pmd",
        Mutant::M6,
        Explorer::Pct {
            depth: 3,
            iterations: 500,
            seed: 3,
        },
    );
}

#[test]
fn random_failure_replays_exactly() {
    round_trip(
        "S3",
        "pte",
        Mutant::M10,
        Explorer::Random {
            iterations: 5000,
            seed: 1,
        },
    );
}

#[test]
fn loom_failure_replays_exactly() {
    // loom explores weak-memory reads a schedule cannot impose; its replay
    // re-runs loom's deterministic search to the failing execution.
    round_trip("S1", "pmd-exit", Mutant::M10, Explorer::Loom { bound: 2 });
}

#[test]
fn pct_failure_past_a_sleep_replays_exactly() {
    // The sleeper holds the wait-queue lock past its recorded `sleeps` step;
    // a replay that switched away there blocked the next thread on it.
    round_trip(
        "S16",
        "hole",
        Mutant::M3,
        Explorer::Pct {
            depth: 3,
            iterations: 2000,
            seed: 1,
        },
    );
}

#[test]
fn livelock_replays_to_its_recorded_length() {
    // shuttle's step bound counts its own scheduling steps; the replay must
    // stop after the recorded number of trace steps, not run on past it.
    let check = round_trip(
        "S14",
        "busy-b",
        Mutant::M13,
        Explorer::Random {
            iterations: 2000,
            seed: 1,
        },
    );
    assert_eq!(
        check, "livelock",
        "M13 on S14/busy-b is caught as a livelock"
    );
}
