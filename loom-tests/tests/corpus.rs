//! Every saved schedule under corpus/replays replays to the trace it
//! recorded. When a model change alters a trace on purpose, regenerate the
//! files with `daxcheck check ... --save-corpus` (see corpus/README.md).

use daxcheck::catalogue::catalogue;
use daxcheck::explore::explore;
use daxcheck::replay::{digest, how, load};
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
        // The file is validated as `daxcheck replay` validates it: version,
        // fingerprint of the scenario definition, thread ids.
        let (rf, si, vi) = load(&path, &cat).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            rf.fingerprint.is_some(),
            "{} has a fingerprint",
            path.display()
        );
        let how = how(&rf).expect("explorer");
        let o = explore(&model_of(&cat[si], vi, rf.kernel, rf.mutant), &how);
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
