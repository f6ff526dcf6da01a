//! Fuzzing the model: the input decoder and runner that the cargo-fuzz
//! targets in `fuzz/` wrap, kept in this stable crate so that `cargo test`
//! replays the kept corpus (`corpus/fuzz/<target>/`) and `daxcheck replay`
//! reads fuzz inputs. See `docs/fuzzing.md`.

pub mod cli;
pub mod known;
pub mod ops;
pub mod render;
pub mod run;
pub mod target;
pub mod world;

pub use run::{decode, fuzz_one, run_input, Target, Verdict};
