//! The two-event story of a data race loom found: loom names only a memory
//! location, so `check` re-runs the failing execution with access recording
//! on (same loom search, same execution; recording adds no scheduling point)
//! and reports what the access checker finds there in place of loom's text.

use daxcheck_core::access::{self, Mode};
use daxcheck_core::violation::Check;

use crate::catalogue::{resolve, Scenario};
use crate::explore::{explore, Explorer};
use crate::run::{self, RunResult};

/// Replace a loom race report by the recorded story, when the checker
/// finds the race in the same execution (it should; if it does not, loom's
/// text stays).
pub fn explain(cat: &[Scenario], r: &mut RunResult) {
    let Some(f) = &r.outcome.failure else { return };
    if f.violation.check != Check::DataRace || !f.violation.detail.starts_with("loom:") {
        return;
    }
    let Explorer::Loom { bound } = r.explorer else {
        return;
    };
    let Ok((si, vis)) = resolve(cat, &format!("{}/{}", r.scenario, r.variant)) else {
        return;
    };
    let m = run::model_of(&cat[si], vis[0], r.kernel, r.mutant);
    access::set_mode(Mode::On);
    let out = explore(
        &m,
        &Explorer::LoomReplay {
            bound,
            execution: f.execution,
        },
    );
    access::set_mode(Mode::Off);
    if let Some(nf) = out.failure {
        if nf.violation.check == Check::DataRace && !nf.violation.detail.starts_with("loom:") {
            r.outcome.failure = Some(nf);
        }
    }
}
