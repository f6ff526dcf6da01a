//! daxcheck: the scenario catalogue of the fs/dax refcount model and the
//! drivers that explore it with loom and shuttle.

pub mod catalogue;
pub mod explore;
pub mod fuzz;
pub mod matrix;
pub mod replay;
pub mod run;
