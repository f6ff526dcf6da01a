//! The recorder of a run on real threads (`--explorer stress`) parks a
//! thread that goes on recording past the event cap, or after the driver
//! abandoned the run: a livelocked OS thread would otherwise record until
//! memory runs out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use daxcheck_core::trace::{Event, Recorder, What, STRESS_EVENT_CAP};

fn event() -> Event {
    Event {
        tid: 1,
        func: "spin",
        depth: 0,
        what: What::Note("spin".into()),
    }
}

/// Spawns a thread that pushes `n` events, and returns a flag it sets when
/// it has pushed them all (it never does if it parks).
fn pusher(rec: &Arc<Recorder>, n: usize) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let (rec, flag) = (rec.clone(), done.clone());
    std::thread::spawn(move || {
        for _ in 0..n {
            rec.push(event());
        }
        flag.store(true, Ordering::SeqCst);
    });
    done
}

fn wait_for_steps(rec: &Recorder, n: usize) {
    let start = Instant::now();
    while rec.steps() < n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} of {n} events",
            rec.steps()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_thread_parks_at_the_event_cap() {
    let rec = Recorder::for_stress();
    let done = pusher(&rec, STRESS_EVENT_CAP + 10);
    wait_for_steps(&rec, STRESS_EVENT_CAP);
    // Ten more pushes take microseconds; a parked thread never makes them.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rec.steps(), STRESS_EVENT_CAP);
    assert!(!done.load(Ordering::SeqCst), "the thread went past the cap");
}

#[test]
fn a_thread_parks_once_its_run_is_abandoned() {
    let rec = Recorder::for_stress();
    let first = pusher(&rec, 5);
    wait_for_steps(&rec, 5);
    std::thread::sleep(Duration::from_millis(20));
    assert!(first.load(Ordering::SeqCst), "below the cap nothing parks");
    rec.abandon();
    let done = pusher(&rec, 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rec.steps(), 5);
    assert!(
        !done.load(Ordering::SeqCst),
        "an abandoned run still recorded"
    );
}

#[test]
fn other_recorders_have_no_cap() {
    let rec = Recorder::new();
    rec.abandon();
    for _ in 0..10 {
        rec.push(event());
    }
    assert_eq!(rec.steps(), 10);
}
