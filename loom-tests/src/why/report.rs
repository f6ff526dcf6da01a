//! The answer to `daxcheck why FIELD [--at SITE]`: every site that touches
//! the field with its locksets, every kind of conflicting pair with what
//! orders it (a common lock, a happens-before edge) or that nothing does,
//! the values at a site, and a witness execution for each.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use daxcheck_core::access::{relate, Access, Kind, Relation, FIELDS};
use daxcheck_core::trace::Recorder;
use daxcheck_core::vclock;
use serde_json::json;

use super::{Origin, Witness};

/// `--at fn` or `--at fn:event`.
#[derive(Clone, Debug)]
pub struct At {
    pub func: String,
    pub event: Option<String>,
}

impl At {
    pub fn parse(s: &str) -> At {
        match s.split_once(':') {
            Some((f, e)) => At {
                func: f.to_string(),
                event: Some(e.to_string()),
            },
            None => At {
                func: s.to_string(),
                event: None,
            },
        }
    }

    fn matches(&self, a: &Access) -> bool {
        a.func == self.func && self.event.as_deref().is_none_or(|e| a.op.starts_with(e))
    }

    pub fn name(&self) -> String {
        match &self.event {
            Some(e) => format!("{}:{e}", self.func),
            None => self.func.clone(),
        }
    }
}

/// A field name of `daxcheck why`, or a one-line error naming close ones.
pub fn field(name: &str) -> Result<&'static str, String> {
    if let Some((f, _)) = FIELDS.iter().find(|(f, _)| *f == name) {
        return Ok(f);
    }
    let close: Vec<&str> = FIELDS
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| {
            let (a, b) = (f.to_ascii_lowercase(), name.to_ascii_lowercase());
            let tail = b.rsplit('.').next().unwrap_or(&b).to_string();
            a.contains(&tail) || b.contains(a.rsplit('.').next().unwrap_or(&a)) || edit(&a, &b) <= 3
        })
        .collect();
    let list = if close.is_empty() {
        FIELDS.iter().map(|(f, _)| *f).collect::<Vec<_>>()
    } else {
        close
    };
    Err(format!(
        "unknown field `{name}` (close: {}; `daxcheck why --list` lists all)",
        list.join(", ")
    ))
}

fn edit(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[derive(Default)]
pub struct Site {
    pub count: usize,
    pub scenarios: BTreeSet<String>,
    pub locksets: BTreeMap<String, usize>,
}

pub struct Pair {
    pub count: usize,
    pub scenarios: BTreeSet<String>,
    pub relation: Relation,
    /// Both accesses hold an `xa_lock`, of different files.
    pub cross_file: bool,
    pub witness: Witness,
}

pub struct Seen {
    pub count: usize,
    pub witness: Witness,
}

/// The fields asked about together: `share` and `index` are one union
/// cell, and `mapping` says which view is live (NULL plus a non-zero cell is
/// the shared state), so each of the three is answered with the others.
pub fn group(f: &'static str) -> Vec<&'static str> {
    match f {
        "folio.share" | "folio.index" | "folio.mapping" => {
            let mut g = vec![f];
            g.extend(
                ["folio.share", "folio.mapping", "folio.index"]
                    .into_iter()
                    .filter(|x| *x != f),
            );
            g
        }
        _ => vec![f],
    }
}

/// Everything `why` learned about one field.
pub struct Agg {
    pub field: &'static str,
    pub at: Option<At>,
    pub executions: usize,
    pub touched: usize,
    /// (field, function, access kind) -> site.
    pub sites: BTreeMap<(&'static str, String, &'static str), Site>,
    /// (earlier site, later site, relation) -> pair.
    pub pairs: BTreeMap<(String, String, String), Pair>,
    /// Value at the `--at` site -> how often, first witness.
    pub values: BTreeMap<String, Seen>,
    pub at_hits: usize,
    /// Writes by other threads between a lock the site holds and the site.
    pub between: BTreeMap<String, Seen>,
}

fn lockset(a: &Access) -> String {
    let mut l = a.locks.clone();
    l.sort();
    if l.is_empty() {
        "(no lock)".into()
    } else {
        l.join(" + ")
    }
}

fn xa(a: &Access) -> BTreeSet<&str> {
    // xa_lock is a spinlock: never shared.
    a.locks
        .iter()
        .filter(|l| l.starts_with("xa_lock("))
        .map(|s| s.as_str())
        .collect()
}

impl Agg {
    pub fn new(field: &'static str, at: Option<At>) -> Agg {
        Agg {
            field,
            at,
            executions: 0,
            touched: 0,
            sites: BTreeMap::new(),
            pairs: BTreeMap::new(),
            values: BTreeMap::new(),
            at_hits: 0,
            between: BTreeMap::new(),
        }
    }

    /// Take one execution in.
    pub fn add(&mut self, o: &Origin, n: usize, rec: &Arc<Recorder>, acc: &[Access]) {
        self.executions += 1;
        let f = self.field;
        let g = group(f);
        let cells: BTreeSet<&str> = acc
            .iter()
            .filter(|a| g.contains(&a.field))
            .map(|a| a.cell.as_str())
            .collect();
        if cells.is_empty() {
            return;
        }
        self.touched += 1;
        let label = format!("{}/{}", o.scenario, o.variant);
        let mut snap = None;
        let mut witness = |steps: Vec<usize>| Witness {
            origin: o.clone(),
            execution: n,
            steps,
            rec: snap.get_or_insert_with(|| Rc::new(rec.snapshot())).clone(),
        };
        for a in acc.iter().filter(|a| g.contains(&a.field)) {
            let s = self
                .sites
                .entry((a.field, a.func.to_string(), a.kind.name()))
                .or_default();
            s.count += 1;
            s.scenarios.insert(label.clone());
            *s.locksets.entry(lockset(a)).or_default() += 1;
        }
        for cell in &cells {
            let on: Vec<&Access> = acc.iter().filter(|a| a.cell == *cell).collect();
            for (j, b) in on.iter().enumerate() {
                // Per other thread, its latest conflicting access before b.
                let mut seen = BTreeSet::new();
                for a in on[..j].iter().rev() {
                    if seen.contains(&a.tid) {
                        continue;
                    }
                    let rel = relate(a, b);
                    if rel == Relation::NoConflict {
                        continue;
                    }
                    seen.insert(a.tid);
                    if !g.contains(&a.field) && !g.contains(&b.field) {
                        continue;
                    }
                    let cross = {
                        let (x, y) = (xa(a), xa(b));
                        !x.is_empty() && !y.is_empty() && x.is_disjoint(&y)
                    };
                    let key = (
                        format!("{} {} {}", a.func, a.kind.name(), a.field),
                        format!("{} {} {}", b.func, b.kind.name(), b.field),
                        format!(
                            "{}{}",
                            rel.describe(),
                            if cross { " (cross-file)" } else { "" }
                        ),
                    );
                    match self.pairs.get_mut(&key) {
                        Some(p) => {
                            p.count += 1;
                            p.scenarios.insert(label.clone());
                        }
                        None => {
                            self.pairs.insert(
                                key,
                                Pair {
                                    count: 1,
                                    scenarios: [label.clone()].into(),
                                    relation: rel,
                                    cross_file: cross,
                                    witness: witness(vec![a.step, b.step]),
                                },
                            );
                        }
                    }
                }
            }
        }
        let Some(at) = self.at.clone() else { return };
        for a in acc.iter().filter(|a| a.field == f && at.matches(a)) {
            self.at_hits += 1;
            let what = a.op.split_whitespace().next().unwrap_or("");
            let value = format!("{} at {what}", a.val);
            match self.values.get_mut(&value) {
                Some(s) => s.count += 1,
                None => {
                    self.values.insert(
                        value,
                        Seen {
                            count: 1,
                            witness: witness(vec![a.step]),
                        },
                    );
                }
            }
            // Only exclusive locks close a window: an rwsem held shared
            // (mmap_lock, MMAPLOCK on the fault side) admits other holders.
            let exclusive = |l: &str| {
                ["entry lock", "xa_lock", "pmd_lock", "pte_lock", "agf_lock"]
                    .iter()
                    .any(|p| l.starts_with(p))
            };
            for (l, &from) in a
                .locks
                .iter()
                .zip(&a.lock_steps)
                .filter(|(l, _)| exclusive(l))
            {
                for w in acc.iter().filter(|w| {
                    w.cell == a.cell
                        && w.tid != a.tid
                        && w.kind.is_write()
                        && w.step > from
                        && w.step < a.step
                }) {
                    let key = format!(
                        "T{} {} ({}) between {l} and {}",
                        w.tid,
                        w.func,
                        w.op,
                        at.name()
                    );
                    match self.between.get_mut(&key) {
                        Some(s) => s.count += 1,
                        None => {
                            self.between.insert(
                                key,
                                Seen {
                                    count: 1,
                                    witness: witness(vec![from, w.step, a.step]),
                                },
                            );
                        }
                    }
                }
            }
        }
    }

    /// The unordered plain pairs: the data races.
    pub fn races(&self) -> Vec<(&(String, String, String), &Pair)> {
        self.pairs
            .iter()
            .filter(|(_, p)| p.relation == Relation::Race)
            .collect()
    }

    /// The verdict in one line.
    pub fn verdict(&self) -> String {
        let f = self.field;
        if !self.sites.keys().any(|(fd, _, _)| *fd == f) {
            return format!("{f}: no explored execution touches it");
        }
        let writers: BTreeSet<&str> = self
            .sites
            .iter()
            .filter(|((fd, _, k), _)| {
                *fd == f && matches!(*k, "write" | "WRITE_ONCE" | "atomic rmw")
            })
            .map(|((_, func, _), _)| func.as_str())
            .collect();
        // The locks every write holds, with the file and index generalized.
        let mut common: Option<BTreeSet<String>> = None;
        for ((fd, _, k), s) in &self.sites {
            if *fd != f || !matches!(*k, "write" | "WRITE_ONCE" | "atomic rmw") {
                continue;
            }
            for ls in s.locksets.keys() {
                let set: BTreeSet<String> = ls.split(" + ").map(generalize).collect();
                common = Some(match common {
                    None => set,
                    Some(c) => c.intersection(&set).cloned().collect(),
                });
            }
        }
        let common = common.unwrap_or_default();
        let mut out = format!(
            "{f}: written in {} under {}",
            writers.into_iter().collect::<Vec<_>>().join("/"),
            if common.is_empty() {
                "no lock common to every write".to_string()
            } else {
                common.into_iter().collect::<Vec<_>>().join(" + ")
            }
        );
        let (mut by_lock, mut hb, mut atomic) = (BTreeMap::<String, usize>::new(), 0, 0);
        let mut edges = BTreeSet::new();
        for p in self.pairs.values() {
            match &p.relation {
                Relation::CommonLocks(l) => {
                    let xa: Vec<&String> = l.iter().filter(|l| l.starts_with("xa_lock")).collect();
                    let name = match xa.first() {
                        Some(_) => "xa_lock(mapping)".to_string(),
                        None => l
                            .iter()
                            .map(|s| generalize(s))
                            .collect::<Vec<_>>()
                            .join(" + "),
                    };
                    *by_lock.entry(name).or_default() += p.count;
                }
                Relation::HappensBefore(e) => {
                    hb += p.count;
                    edges.insert(match e {
                        vclock::Edge::Lock(l) => format!("{} handoff", generalize(l)),
                        vclock::Edge::Atomic(_) => "refcount release/acquire".into(),
                        vclock::Edge::Wake(_) => "wake -> wait return".into(),
                        vclock::Edge::Thread(t) => format!("thread {t}"),
                    });
                }
                Relation::Atomic => atomic += p.count,
                _ => {}
            }
        }
        let mut parts: Vec<String> = by_lock
            .iter()
            .map(|(l, n)| format!("serialized by {l} ({n} pairs)"))
            .collect();
        if hb > 0 {
            parts.push(format!(
                "ordered by happens-before ({hb} pairs: {})",
                edges.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if atomic > 0 {
            parts.push(format!("unordered but marked/atomic ({atomic} pairs)"));
        }
        if !parts.is_empty() {
            out.push_str("; conflicting accesses are ");
            out.push_str(&parts.join(", "));
        }
        let races = self.races();
        if races.is_empty() {
            out.push_str(
                "; every conflicting pair is ordered in the explored executions: SYNCHRONIZED",
            );
        } else {
            // Cross-file pairs (reflink) and pairs within one file are
            // named apart: they are different findings (H3; F1's split).
            let scen = |cross: bool| {
                let s: BTreeSet<&String> = races
                    .iter()
                    .filter(|(_, p)| p.cross_file == cross)
                    .flat_map(|(_, p)| &p.scenarios)
                    .collect();
                s.into_iter().cloned().collect::<Vec<_>>().join(", ")
            };
            let groups: Vec<String> = [(true, "cross-file "), (false, "same-file ")]
                .into_iter()
                .map(|(c, word)| (scen(c), word))
                .filter(|(s, _)| !s.is_empty())
                .map(|(s, word)| format!("{word}accesses ({s})"))
                .collect();
            out.push_str(&format!(
                "; {} have no common lock and no happens-before: UNSYNCHRONIZED",
                groups.join(" and ")
            ));
        }
        out
    }

    /// The pair whose witness backs the verdict: the first race, else the
    /// first ordered pair.
    pub fn verdict_witness(&self) -> Option<&Witness> {
        let races = self.races();
        let f = self.field;
        let own = |k: &(String, String, String)| k.0.ends_with(f) || k.1.ends_with(f);
        races
            .iter()
            .find(|(k, _)| own(k))
            .or(races.first())
            .map(|(_, p)| &p.witness)
            .or_else(|| self.pairs.values().next().map(|p| &p.witness))
    }

    pub fn render_text(&self, witness_file: Option<&str>) -> String {
        let mut o = String::new();
        let f = self.field;
        o.push_str(&format!(
            "why {f}: {} executions explored with access recording, {} touch {f}\n\n",
            self.executions, self.touched
        ));
        let g = group(f);
        if g.len() > 1 {
            o.push_str(&format!(
                "{f} is answered with {}: one union cell and the mapping that says which view is live\n\n",
                g[1..].join(" and ")
            ));
        }
        o.push_str("sites (field, kernel function, access: count; scenarios; locks held):\n");
        for ((fd, func, kind), s) in &self.sites {
            o.push_str(&format!(
                "  {fd} {func} {kind}: {}; {}\n",
                s.count,
                s.scenarios.iter().cloned().collect::<Vec<_>>().join(" ")
            ));
            for (ls, n) in &s.locksets {
                o.push_str(&format!("      {ls}  ({n})\n"));
            }
        }
        o.push_str(
            "\nconflicting pairs (earlier -> later, different threads, at least one write):\n",
        );
        for ((a, b, rel), p) in &self.pairs {
            o.push_str(&format!(
                "  {a} -> {b}: {rel}; {} times; {}\n",
                p.count,
                p.scenarios.iter().cloned().collect::<Vec<_>>().join(" ")
            ));
        }
        if let Some(at) = &self.at {
            o.push_str(&format!(
                "\nvalues of {f} at {} ({} accesses):\n",
                at.name(),
                self.at_hits
            ));
            for (v, s) in &self.values {
                o.push_str(&format!(
                    "  {v}: {} times; witness {}\n",
                    s.count,
                    s.witness.label()
                ));
            }
            if self.between.is_empty() {
                o.push_str(&format!(
                    "  no other thread writes {f} between an exclusive lock held at {} (entry lock, spinlocks) and the access, in any explored execution\n",
                    at.name()
                ));
            } else {
                for (k, s) in &self.between {
                    o.push_str(&format!(
                        "  {k}: {} times; witness {}\n",
                        s.count,
                        s.witness.label()
                    ));
                }
            }
        }
        o.push_str(&format!("\nverdict: {}\n", self.verdict()));
        if let Some(w) = self.verdict_witness() {
            o.push_str(&format!("witness: {}\n", w.label()));
            o.push_str(&w.excerpt());
            if let Some(p) = witness_file {
                o.push_str(&format!("  replay: daxcheck replay {p}\n"));
            }
        }
        o
    }

    pub fn render_json(&self, witness_file: Option<&str>) -> serde_json::Value {
        let sites: Vec<_> = self
            .sites
            .iter()
            .map(|((fd, func, kind), s)| {
                json!({"field": fd, "function": func, "access": kind, "count": s.count,
                       "scenarios": s.scenarios, "locksets": s.locksets})
            })
            .collect();
        let pairs: Vec<_> = self
            .pairs
            .iter()
            .map(|((a, b, rel), p)| {
                json!({"earlier": a, "later": b, "relation": rel, "count": p.count,
                       "race": p.relation == Relation::Race, "cross_file": p.cross_file,
                       "scenarios": p.scenarios, "witness": p.witness.label(),
                       "witness_steps": p.witness.steps})
            })
            .collect();
        let values: BTreeMap<&String, serde_json::Value> = self
            .values
            .iter()
            .map(|(v, s)| (v, json!({"count": s.count, "witness": s.witness.label(), "step": s.witness.steps})))
            .collect();
        let between: BTreeMap<&String, serde_json::Value> = self
            .between
            .iter()
            .map(|(v, s)| (v, json!({"count": s.count, "witness": s.witness.label(), "steps": s.witness.steps})))
            .collect();
        json!({
            "field": self.field,
            "executions": self.executions,
            "touching": self.touched,
            "sites": sites,
            "pairs": pairs,
            "at": self.at.as_ref().map(|a| a.name()),
            "values": values,
            "between": between,
            "verdict": self.verdict(),
            "witness": self.verdict_witness().map(|w| json!({
                "execution": w.label(), "steps": w.steps, "replay": witness_file})),
        })
    }
}

/// `xa_lock(A)` -> `xa_lock(mapping)`, `entry lock A[0]` -> `entry lock`.
fn generalize(l: &str) -> String {
    let shared = l.ends_with(daxcheck_core::access::SHARED);
    let g = generalize_name(daxcheck_core::access::lock_name(l));
    if shared {
        format!("{g}{}", daxcheck_core::access::SHARED)
    } else {
        g
    }
}

fn generalize_name(l: &str) -> String {
    if l.starts_with("xa_lock(") {
        "xa_lock(mapping)".into()
    } else if l.starts_with("entry lock") {
        "entry lock".into()
    } else if let Some((name, _)) = l.split_once('(') {
        format!("{name}(..)")
    } else {
        l.to_string()
    }
}

/// Whether any access of this kind writes.
pub fn writes(k: Kind) -> bool {
    k.is_write()
}
