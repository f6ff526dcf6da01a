//! Scenario catalogue and explorer drivers (work in progress).
