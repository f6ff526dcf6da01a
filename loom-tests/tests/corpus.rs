//! Every saved schedule under corpus/replays replays to the trace it
//! recorded. When a model change alters a trace on purpose, regenerate the
//! files with `daxcheck check ... --save-corpus` (see corpus/README.md).

use daxcheck::catalogue::{catalogue, resolve};
use daxcheck::explore::{explore, Explorer};
use daxcheck::replay::{digest, ReplayFile};
use daxcheck::run::model_of;

#[test]
fn corpus_replays_reproduce() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/replays");
    let cat = catalogue();
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus/replays exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("replay") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let rf = ReplayFile::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (si, vis) =
            resolve(&cat, &format!("{}/{}", rf.scenario, rf.variant)).expect("known scenario");
        let how = match Explorer::parse_spec(&rf.explorer).expect("explorer") {
            Explorer::Loom { bound } => Explorer::LoomReplay {
                bound,
                execution: rf.execution,
            },
            _ => Explorer::Replay {
                schedule: rf.schedule.clone(),
            },
        };
        let o = explore(&model_of(&cat[si], vis[0], rf.kernel, rf.mutant), &how);
        let f = o
            .failure
            .unwrap_or_else(|| panic!("{} no longer fails", path.display()));
        assert_eq!(
            digest(&f.rec),
            rf.digest,
            "{} replays to a different trace",
            path.display()
        );
        n += 1;
    }
    assert!(n > 0, "the corpus holds saved schedules");
}
