//! One test per scenario variant and explorer (`loom::s03_pmd`,
//! `pct::s03_pmd`), listed from the catalogue at start-up (see
//! `daxcheck::cargo_test`). A libtest-compatible harness (`harness = false`)
//! rather than `#[test]` functions: the variants exist only once
//! `catalogue()` has run, which neither a macro list nor a build script can
//! see without a hand-kept copy of the catalogue. `cargo test NAME`,
//! `-- --list`, `--include-ignored` and `cargo nextest` work as with
//! `#[test]`.

use std::process::ExitCode;
use std::sync::Arc;

use daxcheck::cargo_test::{cases, run_case, Campaign};
use daxcheck::catalogue::catalogue;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let campaign = match Campaign::from_env(cfg!(loom)) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("daxcheck generated tests: {e}");
            return ExitCode::from(2);
        }
    };
    let cat = Arc::new(catalogue());
    let trials = cases(&cat, &campaign)
        .into_iter()
        .map(|case| {
            let (cat, campaign) = (cat.clone(), campaign.clone());
            let ignored = case.ignored;
            Trial::test(case.name.clone(), move || {
                run_case(&cat, &case, &campaign).map_err(Failed::from)
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
