//! A fuzz run told like a catalogue failure: the decoded world and
//! operations as a scenario with a litmus-style header, then the threads
//! and the per-thread trace.

use std::fmt::Write;
use std::path::Path;

use super::run::{FuzzRun, Verdict};
use crate::catalogue::Expect;
use crate::run::{render_failure, RunResult};

/// The report of one run; `replay` names the file to re-run it with.
pub fn render(r: &FuzzRun, replay: Option<&Path>) -> String {
    let mut out = String::new();
    let p = &r.program;
    let _ = writeln!(
        out,
        "fuzz-{}: {} thread(s), {} operation(s)",
        p.target.name(),
        p.threads.len(),
        p.threads.iter().map(Vec::len).sum::<usize>()
    );
    out.push_str(&p.header());
    let _ = writeln!(out, "Result: {}", r.verdict.word());
    if let Verdict::Known(name, _) = &r.verdict {
        let _ = writeln!(
            out,
            "Known finding {name}: {}",
            super::known::describe(name)
        );
    }
    out.push('\n');
    match r.failure() {
        Some(f) => {
            let result = RunResult {
                scenario: p.target.scenario(),
                variant: "input",
                kernel: r.cfg.kernel,
                mutant: r.cfg.mutant,
                explorer: crate::explore::Explorer::Replay {
                    schedule: Vec::new(),
                },
                expected: Expect::Holds,
                outcome: crate::explore::Outcome {
                    executions: r.outcome.executions,
                    elapsed: r.outcome.elapsed,
                    bounded: false,
                    failure: None,
                    last: None,
                },
                out_of_reach: None,
            };
            out.push_str(&render_failure(&result, f, replay));
        }
        None => {
            let _ = writeln!(
                out,
                "== {}/input  kernel {}  mutant {}: no violation",
                p.target.scenario(),
                r.cfg.kernel.name(),
                r.cfg.mutant.map_or("none", |m| m.name())
            );
            if let Some(rec) = r.record() {
                let _ = writeln!(out, "\nthreads:");
                for (t, name) in rec.names.iter().enumerate().skip(1) {
                    let _ = writeln!(out, "  T{t}  {name}");
                }
                let _ = writeln!(out, "\ntrace (step, thread, kernel function: event):");
                rec.render_trace(&mut out);
            }
        }
    }
    out
}
