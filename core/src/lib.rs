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
//! ## Layout
//! Kernel functions live where a kernel reader looks for them: [`dax`] for
//! fs/dax.c, [`mm`] for mm/*.c, [`xfs`] for the filesystem, on top of the
//! machine ([`world`] state, [`cx::Cx`] the kernel's `current`, [`wait`]
//! queues, [`trace`] recorder) and the [`sync`] facade. The layers and the
//! rule that no import points up are drawn and checked in
//! `docs/architecture.md`.
//!
//! ## Running a scenario of your own
//! A scenario is a [`world::Setup`] (files, their blocks, how many
//! processes map them) and a list of [`exec::ThreadSpec`]s, each a name and
//! a closure that calls model functions on its [`cx::Cx`] (the kernel's
//! `current`), e.g. `handle_mm_fault` against `xfs_setattr_size`. The `daxcheck`
//! crate (directory `loom-tests/`) wraps them with a [`Config`] (kernel state,
//! mutant) in an `explore::Model` and runs `explore::explore` under loom or
//! shuttle, which returns the first failing execution with its record. The
//! program `loom-tests/examples/own_scenario.rs` does exactly that, and
//! `cargo test` runs it (`loom-tests/tests/example.rs`):
//! `cargo run --release -p daxcheck --example own_scenario`.
//!
//! ## Limitations
//! What the model leaves out, and why that cannot hide a refcount bug, is
//! listed in one table: `docs/simplifications.md`. Among them: no RCU, no
//! signals (an interruptible wait that never ends is reported as a hang), no
//! cache flushing or data copies, memcg only as the `page[1]` cell of bug B3.

pub mod access;
pub mod check;
pub mod config;
pub mod cx;
pub mod dax;
pub mod entry;
pub mod exec;
pub mod iomap;
pub mod mm;
pub mod pgtable;
pub mod step_check;
pub mod sync;
pub mod trace;
pub mod vclock;
pub mod vfs;
pub mod violation;
pub mod vm;
pub mod wait;
pub mod world;
pub mod xfs;

pub use config::{Config, KernelState, Mutant, MutantKind};
pub use violation::{Check, CheckKind, Inv, Violation};
