//! # daxcheck-core: the fs/dax page refcount scheme as an executable model
//!
//! The model follows the series "fs/dax: Properly refcount fs dax pages"
//! (Linux 6.15): DAX folios are refcounted from zero, every PTE/PMD mapping
//! holds a reference, `folio->share` counts reflink owners, the last
//! `dax_folio_put` clears `mapping` and splits the folio, and truncate waits
//! for refcount 0 before freeing blocks.
//!
//! Every model function names the kernel function it stands for in its first
//! doc line and keeps the kernel's name. The model is written once over the
//! [`sync`] facade and runs on std threads, loom or shuttle, chosen at run
//! time. Every lock, entry lock, wait, wake, refcount and field change is an
//! [`trace::Event`]; violations are [`violation::Violation`] values.
//!
//! ## Limitations
//! What the model leaves out, and why that cannot hide a refcount bug, is
//! listed in one table: `docs/simplifications.md`. Among them: no RCU, no
//! signals (an interruptible wait that never ends is reported as a hang), no
//! cache flushing or data copies, memcg only as the page[1] cell of bug B3.

pub mod access;
pub mod check;
pub mod config;
pub mod cow;
pub mod dax;
pub mod entry;
pub mod exec;
pub mod fs;
pub mod gup;
pub mod invalidate;
pub mod memfail;
pub mod mm;
pub mod sync;
pub mod syncfault;
pub mod trace;
pub mod vclock;
pub mod violation;
pub mod wait;
pub mod world;
pub mod writeback;

pub use config::{Config, KernelState, Mutant};
pub use violation::{Check, Violation};
