//! What each cargo-fuzz target does with one input; `fuzz/fuzz_targets/*`
//! only call these. A crash is a panic carrying the run's report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use daxcheck_core::Config;

use super::known;
use super::run::{config_from_env, fuzz_one, report_known, Target};
use crate::replay::ReplayFile;

struct Setting {
    cfg: Config,
    report_known: bool,
}

/// The campaign's kernel state, mutant and suppression choice, read once.
/// A bad value stops the campaign with a one-line error and exit 2.
fn setting() -> &'static Setting {
    static S: OnceLock<Setting> = OnceLock::new();
    S.get_or_init(|| match config_from_env() {
        Ok(cfg) => {
            eprintln!(
                "daxcheck-fuzz: kernel {}, mutant {}, known findings {}",
                cfg.kernel.name(),
                cfg.mutant.map_or("none", |m| m.name()),
                if report_known() {
                    "reported"
                } else {
                    "suppressed"
                }
            );
            Setting {
                cfg,
                report_known: report_known(),
            }
        }
        Err(e) => {
            eprintln!("daxcheck-fuzz: {e}");
            std::process::exit(2)
        }
    })
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// One input of `ops` or `schedules`. Every power-of-two run prints the
/// known findings reached so far (the campaign's summary).
pub fn model(target: Target, data: &[u8]) {
    let s = setting();
    let r = fuzz_one(target, data, &s.cfg, s.report_known);
    let n = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() && n >= 1024 {
        eprintln!(
            "daxcheck-fuzz: {n} runs; known findings reached: {}",
            known::summary()
        );
    }
    if let Err(report) = r {
        eprintln!(
            "daxcheck-fuzz: known findings reached: {}",
            known::summary()
        );
        panic!("daxcheck-fuzz: a check broke\n{report}");
    }
}

/// One input of `replay_file`: the parser returns an error or a replay,
/// and a parsed replay renders to a file that parses back to itself.
pub fn replay_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rf) = ReplayFile::parse(text) {
        let again = ReplayFile::parse(&rf.render());
        assert_eq!(
            again.as_ref(),
            Ok(&rf),
            "a rendered replay file parses back"
        );
    }
}
