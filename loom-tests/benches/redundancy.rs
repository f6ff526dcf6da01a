//! Redundancy of loom's exhaustive search: per scenario variant, loom's
//! executions at the default bound against the distinct happens-before
//! classes among them.
//!
//! Every execution runs with access recording on (`daxcheck_core::access`,
//! the recorder behind `daxcheck why`, in its `Own` mode so that loom runs
//! past a race as `why` does, and never stopping at a violation). Its class
//! is a hash of the accesses that matter — refcounts, mapcounts, entry
//! words (xarray entries, entry-lock bits, page-table entries) and the
//! association fields
//! (`mapping`, `index`/`share`) — each named by its thread and its place in
//! that thread's accesses, with its kind, cell and value; and of the
//! happens-before relation between every two conflicting ones (same cell,
//! other threads, one a write), from their vector clocks: ordered one way,
//! or unordered. Two executions in one class order every conflicting pair of
//! those accesses alike and see the same values: exploring both shows the
//! checker nothing new about these fields.
//!
//! `cargo bench -p daxcheck --bench redundancy [-- VARIANT...]` prints a
//! Markdown table (BENCHMARKS.md).

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::time::Instant;

use daxcheck::catalogue::catalogue;
use daxcheck::explore::ExplorerKind;
use daxcheck::run::Budget;
use daxcheck::why::{explore_recorded, Scope, Sink};
use daxcheck_core::access::Access;

/// The fields the class is taken over.
const FIELDS: [&str; 11] = [
    "folio.refcount",
    "page.mapcount",
    "folio.entire_mapcount",
    "folio.large_mapcount",
    "folio.pincount",
    "xarray.entry",
    "entry.lock",
    "pagetable.entry",
    "folio.mapping",
    "folio.index",
    "folio.share",
];

/// The happens-before class of one execution's accesses to `fields` (all
/// recorded fields when `None`).
fn class(acc: &[Access], fields: Option<&[&str]>) -> u64 {
    let kept: Vec<&Access> = acc
        .iter()
        .filter(|a| fields.is_none_or(|f| f.contains(&a.field)))
        .collect();
    // Name each access by its thread and its place among that thread's.
    let mut nth = [0u32; 256];
    let labels: Vec<(u8, u32)> = kept
        .iter()
        .map(|a| {
            let n = nth[a.tid as usize];
            nth[a.tid as usize] += 1;
            (a.tid, n)
        })
        .collect();
    let mut h = DefaultHasher::new();
    // Program order and values: sorted by label, so the interleaving of
    // unordered accesses leaves no trace.
    let mut own: Vec<_> = kept
        .iter()
        .zip(&labels)
        .map(|(a, l)| (*l, a.kind, a.cell.as_str(), a.val.as_str()))
        .collect();
    own.sort();
    own.hash(&mut h);
    let mut pairs = Vec::new();
    for (j, b) in kept.iter().enumerate() {
        for (i, a) in kept[..j].iter().enumerate() {
            if a.cell != b.cell || a.tid == b.tid || !(a.kind.is_write() || b.kind.is_write()) {
                continue;
            }
            let (la, lb) = (labels[i], labels[j]);
            if a.clock.before(a.tid, &b.clock) {
                pairs.push((la, lb, true));
            } else {
                pairs.push((la.min(lb), la.max(lb), false));
            }
        }
    }
    pairs.sort();
    pairs.hash(&mut h);
    h.finish()
}

struct Row {
    name: String,
    executions: usize,
    classes: usize,
    /// Classes over every recorded field, not only those that matter.
    all: usize,
    seconds: f64,
}

fn main() {
    // `cargo bench` passes `--bench`; anything else names variants.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let cat = catalogue();
    let budget = Budget::default();
    let mut rows = Vec::new();
    for sc in &cat {
        for v in &sc.variants {
            let name = format!("{}/{}", sc.name, v.name);
            if !wanted.is_empty() && !wanted.iter().any(|w| *w == name || *w == sc.name) {
                continue;
            }
            let scope = Scope::new(
                &cat,
                std::slice::from_ref(&name),
                Default::default(),
                None,
                Some(ExplorerKind::Loom),
                budget.clone(),
            )
            .expect("a catalogue variant");
            let seen = Rc::new(RefCell::new((HashSet::new(), HashSet::new())));
            let seen2 = seen.clone();
            let sink: Sink = Rc::new(RefCell::new(
                move |_: &_, _: usize, _: &_, acc: &[Access]| {
                    let mut s = seen2.borrow_mut();
                    s.0.insert(class(acc, Some(&FIELDS)));
                    s.1.insert(class(acc, None));
                },
            ));
            let start = Instant::now();
            let executions = explore_recorded(&cat, &scope, sink).expect("explored");
            let (classes, all) = (seen.borrow().0.len(), seen.borrow().1.len());
            rows.push(Row {
                name,
                executions,
                classes,
                all,
                seconds: start.elapsed().as_secs_f64(),
            });
        }
    }
    println!(
        "| variant | loom executions (bound {}) | happens-before classes | executions per class | classes over every recorded field | seconds (recording on) |",
        budget.bound
    );
    println!("|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for r in &rows {
        let ratio = r.executions as f64 / r.classes.max(1) as f64;
        ratios.push(ratio);
        println!(
            "| {} | {} | {} | {:.2} | {} | {:.2} |",
            r.name, r.executions, r.classes, ratio, r.all, r.seconds
        );
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    if let (Some(min), Some(max)) = (ratios.first(), ratios.last()) {
        let median = ratios[ratios.len() / 2];
        let over = ratios.iter().filter(|&&r| r > 3.0).count();
        println!(
            "\nexecutions per class: min {min:.2}, median {median:.2}, max {max:.2}; {over} of {} variants above 3",
            ratios.len()
        );
    }
}
