//! Campaign shards: `--shard I/N` keeps every N-th run of a `check` (and of
//! a `mutants` matrix, its baseline runs and its cells each dealt out the
//! same way), so that N machines of a CI matrix or a batch system split one
//! campaign; `daxcheck merge` puts their JSON outputs back together into the
//! output, and the verdict, of the unsharded run.
//!
//! Shard I holds items I-1, I-1+N, I-1+2N, ... of the unsharded list, so a
//! merge restores the order by dealing the shards' items back in turn. A
//! sharded JSON output starts with a header line naming its shard and
//! command, so the merge can check that every shard is there exactly once.

use serde_json::{json, Value};

use crate::matrix::Matrix;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N` with 1 <= I <= N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("bad shard `{s}` (expected I/N with 1 <= I <= N, e.g. 2/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard runs item `i` (0-based) of the unsharded list.
    pub fn keeps(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }

    /// This shard's part of `items`, in their order.
    pub fn select<T>(&self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(i, _)| self.keeps(*i))
            .map(|(_, t)| t)
            .collect()
    }

    /// The first line of a sharded JSON output (`shardHeader` in
    /// docs/daxcheck.schema.json).
    pub fn header(&self, command: &str) -> String {
        json!({
            "daxcheck_shard": format!("{}/{}", self.index, self.count),
            "command": command,
        })
        .to_string()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Deal the shards' lists back into the unsharded order: item k is item
/// k / N of shard k % N + 1. `parts` are in shard order.
pub fn interleave<T: Clone>(parts: &[Vec<T>]) -> Vec<T> {
    let n = parts.len();
    let total: usize = parts.iter().map(Vec::len).sum();
    (0..total)
        .filter_map(|k| parts[k % n].get(k / n).cloned())
        .collect()
}

/// One shard's JSON output, parsed.
struct Part {
    shard: Shard,
    command: String,
    records: Vec<Value>,
}

fn parse_part(name: &str, text: &str) -> Result<Part, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head: Value = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            format!("{name}: not a sharded daxcheck JSON output (no shard header line; run with --shard I/N --format json)")
        })?;
    let shard = head
        .get("daxcheck_shard")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name}: the first line has no `daxcheck_shard` field"))
        .and_then(|s| Shard::parse(s).map_err(|e| format!("{name}: {e}")))?;
    let command = head
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut records = Vec::new();
    for (n, l) in lines.enumerate() {
        records.push(
            serde_json::from_str(l)
                .map_err(|e| format!("{name}: line {}: not JSON ({e})", n + 2))?,
        );
    }
    Ok(Part {
        shard,
        command,
        records,
    })
}

/// The merged output (what the unsharded run prints with `--format json`)
/// and whether it passes. `files` are (name, text) pairs, in any order.
pub fn merge(files: &[(String, String)]) -> Result<(String, bool), String> {
    let mut parts = Vec::new();
    for (name, text) in files {
        parts.push(parse_part(name, text)?);
    }
    let Some(first) = parts.first() else {
        return Err("merge needs the JSON output of every shard".into());
    };
    let (count, command) = (first.shard.count, first.command.clone());
    let mut seen = vec![false; count];
    for p in &parts {
        if p.shard.count != count || p.command != command {
            return Err(format!(
                "shard {} of `{}` does not belong with shard {} of `{command}`",
                p.shard, p.command, first.shard
            ));
        }
        if std::mem::replace(&mut seen[p.shard.index - 1], true) {
            return Err(format!("shard {} is given twice", p.shard));
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(format!("shard {}/{count} is missing", i + 1));
    }
    parts.sort_by_key(|p| p.shard.index);
    match command.as_str() {
        "check" => {
            let runs = interleave(&parts.iter().map(|p| p.records.clone()).collect::<Vec<_>>());
            let ok = runs.iter().all(|r| {
                r.get("as_expected").and_then(Value::as_bool) == Some(true)
                    || r.get("out_of_reach").is_some_and(Value::is_string)
            });
            let mut out = String::new();
            for r in &runs {
                out.push_str(&r.to_string());
                out.push('\n');
            }
            Ok((out, ok))
        }
        "mutants" => {
            let mut ms = Vec::new();
            for p in &parts {
                let [rec] = &p.records[..] else {
                    return Err(format!(
                        "shard {} of `mutants` should hold one matrix after its header",
                        p.shard
                    ));
                };
                ms.push(
                    serde_json::from_value::<Matrix>(rec.clone())
                        .map_err(|e| format!("shard {}: not a mutant matrix ({e})", p.shard))?,
                );
            }
            let m = Matrix::merge(ms)?;
            let text = serde_json::to_string(&m).map_err(|e| e.to_string())?;
            Ok((format!("{text}\n"), m.ok()))
        }
        c => Err(format!("cannot merge outputs of `{c}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_refuses_bad_shards() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/2/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_and_interleave_restores_order() {
        let items: Vec<usize> = (0..17).collect();
        for n in 1..=5 {
            let parts: Vec<Vec<usize>> = (1..=n)
                .map(|i| Shard { index: i, count: n }.select(items.clone()))
                .collect();
            assert_eq!(interleave(&parts), items, "{n} shards");
        }
    }
}
