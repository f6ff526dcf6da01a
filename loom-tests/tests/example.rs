//! The library example (`examples/own_scenario.rs`) runs and gives its
//! expected results: the scenario holds, the mutant is caught.

#[path = "../examples/own_scenario.rs"]
mod own_scenario;

#[test]
fn own_scenario_holds_and_its_mutant_is_caught() {
    let lines = own_scenario::run().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("M27 caught")), "{lines:?}");
}
