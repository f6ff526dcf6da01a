//! daxcheck: the scenario catalogue of the fs/dax refcount model and the
//! drivers that explore it with loom and shuttle.

pub mod cargo_test;
pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod cmd;
pub mod engine;
pub mod explore;
pub mod fuzz;
pub mod loom_env;
pub mod matrix;
pub mod picture;
pub mod replay;
pub mod report;
pub mod run;
pub mod shard;
pub mod stderr;
pub mod stress;
pub mod why;
