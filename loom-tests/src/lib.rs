//! daxcheck: the scenario catalogue of the fs/dax refcount model and the
//! drivers that explore it with loom and shuttle.

pub mod catalogue;
pub mod explore;
pub mod matrix;
pub mod replay;
pub mod run;
pub mod why;
