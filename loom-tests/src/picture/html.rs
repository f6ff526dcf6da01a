//! The picture as one self-contained HTML page: the report in a header, the
//! lane titles in a bar that stays in view, the SVG drawing, and a panel
//! that shows a step's full event and the locks held then. No network
//! fetch: the content security policy forbids every load.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::svg::{self, lock_colour, thread_colour, Geometry, TRACK_W};
use super::{esc, Input, Layout};

const STYLE: &str = r#"
:root { --mono: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, "DejaVu Sans", sans-serif; color: #111; background: #fff; }
header#report { padding: 10px 14px 8px; border-bottom: 1px solid #ddd; background: #fafafa; }
#report .title { font: bold 14px var(--mono); }
#report .violation { font: bold 14px var(--mono); color: #b00000; margin: 4px 0 2px; }
#report .line { font: 12.5px var(--mono); }
#report .line.cause { color: #9a4d00; }
#report .line.race { color: #5b21b6; }
#report .line.later { color: #8a3030; }
#report a { color: inherit; text-decoration: underline dotted; cursor: pointer; }
#report .legend { margin-top: 6px; display: flex; flex-wrap: wrap; gap: 4px 14px; font: 12px var(--mono); color: #333; }
#report .chip { display: inline-block; width: 11px; height: 11px; margin-right: 4px; vertical-align: -1px; border-radius: 2px; }
#report .replay { margin-top: 6px; font: 12px var(--mono); color: #444; }
#lanes { position: sticky; top: 0; z-index: 3; height: 44px; background: #fff; border-bottom: 1px solid #ccc; }
#lanes .lane, #lanes .folio { position: absolute; top: 0; height: 44px; padding: 4px 6px; overflow: hidden; white-space: nowrap; font: 12px var(--mono); border-top: 4px solid; }
#lanes .lane .name { font-weight: bold; overflow: hidden; text-overflow: ellipsis; }
#lanes .lane .state { color: #555; overflow: hidden; text-overflow: ellipsis; }
#lanes .folio { background: #f3f3f3; border-top-color: #999; }
#lanes .folio .cols { display: flex; color: #555; font-size: 11px; margin-left: -6px; }
#lanes .folio .cols span { text-align: center; }
#pic { position: relative; }
#pic svg { display: block; }
#pic .hit { cursor: pointer; }
#pic .hit:hover { fill: rgba(37, 99, 235, 0.08); }
#pic .hit.sel { fill: rgba(37, 99, 235, 0.14); stroke: #2563eb; stroke-width: 1.5; }
#detail { position: fixed; right: 12px; bottom: 12px; width: 430px; max-height: 40vh; overflow: auto; z-index: 4;
  background: rgba(255, 255, 255, 0.97); border: 1px solid #bbb; border-radius: 6px; box-shadow: 0 2px 10px rgba(0,0,0,.18);
  padding: 8px 10px; font: 12px/1.45 var(--mono); }
#detail .head { font-weight: bold; }
#detail .ev { margin: 3px 0; padding: 3px 5px; background: #f4f4f6; border-radius: 3px; white-space: pre-wrap; word-break: break-word; }
#detail .mark { font-weight: bold; }
#detail .mark.seen { color: #c00000; } #detail .mark.cause { color: #9a4d00; } #detail .mark.race { color: #6d28d9; } #detail .mark.later { color: #a04040; }
#detail .sec { margin-top: 4px; color: #555; }
#detail ul { margin: 0; padding-left: 16px; }
#detail .hint { color: #777; font-size: 11px; margin-top: 4px; }
#detail.min .body { display: none; }
#detail .toggle { float: right; border: 1px solid #bbb; background: #f4f4f6; border-radius: 3px; font: 11px var(--mono); cursor: pointer; padding: 0 5px; }
"#;

/// Runs first: every script error, console error and blocked load is
/// written into the page, where a test reads it.
const CATCH: &str = r#"
window.__daxErrors = [];
window.__daxReport = function () {
  var s = document.getElementById('daxcheck-status');
  if (s) { s.setAttribute('data-errors', String(window.__daxErrors.length)); s.textContent = window.__daxErrors.join('\n'); }
};
window.addEventListener('error', function (e) { window.__daxErrors.push('error: ' + e.message); window.__daxReport(); });
document.addEventListener('securitypolicyviolation', function (e) { window.__daxErrors.push('blocked load: ' + e.blockedURI + ' (' + e.violatedDirective + ')'); window.__daxReport(); });
(function () { var ce = console.error; console.error = function () { window.__daxErrors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); window.__daxReport(); return ce.apply(console, arguments); }; })();
"#;

const SCRIPT: &str = r#"
(function () {
  var byStep = {};
  JSON.parse(document.getElementById('steps').textContent).forEach(function (s) { byStep[s.n] = s; });
  var panel = document.getElementById('detail');
  var body = panel.querySelector('.body');
  var pinned = null, current = null;
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function select(n) {
    var old = document.querySelector('#pic .hit.sel'); if (old) old.classList.remove('sel');
    var r = document.getElementById('step-' + n); if (r) r.classList.add('sel');
  }
  function show(n) {
    var s = byStep[n]; if (!s) return;
    current = n; body.textContent = '';
    body.appendChild(el('div', 'head', 'step ' + s.n + ' \u00b7 T' + s.tid + (s.thread ? '  ' + s.thread : '')));
    body.appendChild(el('div', null, s.func + '  (nesting ' + s.depth + ')'));
    body.appendChild(el('div', 'ev', s.text));
    s.marks.forEach(function (m) { body.appendChild(el('div', 'mark ' + m[0], m[1])); });
    s.wakes.forEach(function (w) { body.appendChild(el('div', null, w)); });
    body.appendChild(el('div', 'sec', 'locks held after this step:'));
    var ul = el('ul');
    s.held.forEach(function (h) { ul.appendChild(el('li', null, h)); });
    body.appendChild(ul);
    if (s.values.length) {
      body.appendChild(el('div', 'sec', 'folio values after this step:'));
      var vl = el('ul');
      s.values.forEach(function (v) { vl.appendChild(el('li', null, v)); });
      body.appendChild(vl);
    }
    body.appendChild(el('div', 'hint', pinned === n ? 'pinned: click the step again or press Esc to release' : 'hover a step; click pins it'));
  }
  var toggle = panel.querySelector('.toggle');
  toggle.addEventListener('click', function () { panel.classList.toggle('min'); toggle.textContent = panel.classList.contains('min') ? 'step details +' : '–'; });
  function pin(n) { pinned = n; select(n); show(n); }
  var svg = document.getElementById('picture');
  svg.addEventListener('mouseover', function (e) {
    var r = e.target.closest('.hit'); if (r && pinned === null) show(+r.getAttribute('data-step'));
  });
  svg.addEventListener('click', function (e) {
    var r = e.target.closest('.hit'); if (!r) return;
    var n = +r.getAttribute('data-step');
    if (pinned === n) { pinned = null; select(-1); show(n); } else { pin(n); }
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') { pinned = null; select(-1); if (current) show(current); } });
  document.querySelectorAll('a[data-step]').forEach(function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      var n = +a.getAttribute('data-step');
      var r = document.getElementById('step-' + n);
      if (r) r.scrollIntoView({ block: 'center' });
      pin(n);
    });
  });
  var first = +document.body.getAttribute('data-first');
  var linked = /^#step-(\d+)$/.exec(location.hash);
  if (linked && document.getElementById('step-' + linked[1])) {
    pin(+linked[1]);
    document.getElementById('step-' + linked[1]).scrollIntoView({ block: 'center' });
  } else if (byStep[first]) { show(first); } else {
    var last = document.querySelectorAll('#pic .hit'); if (last.length) show(+last[last.length - 1].getAttribute('data-step'));
  }
  var st = document.getElementById('daxcheck-status');
  st.setAttribute('data-lanes', String(document.querySelectorAll('#lanes .lane').length));
  st.setAttribute('data-marked', Array.prototype.map.call(document.querySelectorAll('#pic .hit.seen, #pic .hit.cause, #pic .hit.race'), function (r) { return r.getAttribute('data-step') + ':' + r.classList[1]; }).join(' '));
  st.setAttribute('data-ready', '1');
  window.__daxReport();
})();
"#;

fn step_link(n: usize) -> String {
    format!(r##"<a data-step="{n}" href="#step-{n}">step {n}</a>"##)
}

/// "locks held by T1 after step 29: a, b" for the race line.
fn locks_of(l: &Layout, tid: u8, step: usize) -> Vec<String> {
    step.checked_sub(1)
        .map(|i| l.held_after(i).remove(&tid).unwrap_or_default())
        .unwrap_or_default()
}

/// The page.
pub fn page(input: &Input) -> String {
    let l = Layout::new(input);
    let (drawing, g) = svg::embedded(input, &l);
    let mut out = String::new();
    let title = format!("daxcheck · {}", input.title);
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<script>{CATCH}</script>
<style>{STYLE}</style>
</head>
<body data-first="{first}">
<header id="report">
<div class="title">{title}</div>
<div class="violation">VIOLATION {head}</div>
"#,
        t = esc(&title),
        title = esc(&input.title),
        head = esc(&input.headline),
        first = input.cause.unwrap_or(input.seen),
    );
    let _ = writeln!(
        out,
        r#"<div class="line">seen by {} after {}</div>"#,
        esc(&input.seen_by),
        if input.seen == 0 {
            "no step".to_string()
        } else {
            step_link(input.seen)
        }
    );
    if let Some(c) = input.cause {
        let s = &input.steps[c.saturating_sub(1).min(input.steps.len().saturating_sub(1))];
        let _ = writeln!(
            out,
            r#"<div class="line cause">cause: {} T{} {}: {}</div>"#,
            step_link(c),
            s.tid,
            esc(&s.func),
            esc(&s.text)
        );
    }
    if let Some(r) = &input.race {
        let side = |n: usize| {
            let Some(s) = n.checked_sub(1).and_then(|i| input.steps.get(i)) else {
                return (String::new(), Vec::new());
            };
            let held = locks_of(&l, s.tid, n);
            (
                format!(
                    "{} T{} {}: {} — holding {}",
                    step_link(n),
                    s.tid,
                    esc(&s.func),
                    esc(&s.text),
                    if held.is_empty() {
                        "no lock".to_string()
                    } else {
                        esc(&held.join(", "))
                    }
                ),
                held,
            )
        };
        let (a, ha) = side(r.first);
        let (b, hb) = side(r.second);
        let common: Vec<&String> = ha.iter().filter(|x| hb.contains(x)).collect();
        let _ = writeln!(
            out,
            r#"<div class="line race">race, access 1: {a}</div><div class="line race">race, access 2 (right after): {b}</div><div class="line race">common lock: {c} ({note})</div>"#,
            c = if common.is_empty() {
                "none".to_string()
            } else {
                esc(&common
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
            },
            note = esc(&r.note)
        );
    }
    for (n, _, t) in input.later.iter().take(6) {
        let _ = writeln!(
            out,
            r#"<div class="line later">then, after {}: {}</div>"#,
            step_link(*n),
            esc(t)
        );
    }
    if input.later.len() > 6 {
        let _ = writeln!(
            out,
            r#"<div class="line later">(+{} more)</div>"#,
            input.later.len() - 6
        );
    }
    out.push_str(r#"<div class="legend">"#);
    for lock in &l.locks {
        let _ = write!(
            out,
            r#"<span><span class="chip" style="background:{}"></span>{}</span>"#,
            lock_colour(&l, lock),
            esc(lock)
        );
    }
    out.push_str(
        r#"<span>▮ hold · ▯ dashed: shared (down_read)</span><span style="color:#1d4ed8">→ wake-up</span><span style="color:#777">╎ dashed grey line: asleep</span><span>▢ value after a change · ○ a read</span>"#,
    );
    out.push_str("</div>\n");
    if let Some(r) = &input.replay {
        let _ = writeln!(out, r#"<div class="replay">{}</div>"#, esc(r));
    }
    out.push_str("</header>\n");
    lanes_bar(input, &l, &g, &mut out);
    let _ = writeln!(out, r#"<main id="pic">{drawing}</main>"#);
    out.push_str(
        r#"<aside id="detail"><button class="toggle" type="button" title="hide or show the step panel">–</button><div class="body">hover a step; click pins it</div></aside>
<div id="daxcheck-status" hidden data-ready="0" data-errors="0"></div>
"#,
    );
    let json = serde_json::Value::Array(step_data(input, &l, &g)).to_string();
    // JSON inside a script element: no `<` may close it early.
    let _ = write!(
        out,
        r#"<script type="application/json" id="steps">{}</script>
<script>{SCRIPT}</script>
</body></html>
"#,
        json.replace('<', "\\u003c")
    );
    out
}

/// The bar of lane and folio titles that stays in view while scrolling.
fn lanes_bar(input: &Input, l: &Layout, g: &Geometry, out: &mut String) {
    let _ = write!(out, r#"<div id="lanes" style="width:{}px">"#, g.width);
    for t in &input.threads {
        let Some(x) = g.lane_x(t.tid) else { continue };
        let c = thread_colour(t.tid);
        let _ = write!(
            out,
            r#"<div class="lane" data-tid="{tid}" style="left:{x}px;width:{w}px;border-top-color:{c};background:{c}1a"><div class="name" style="color:{c}">T{tid}  {name}</div><div class="state">{state}</div></div>"#,
            tid = t.tid,
            w = g.lane_w(t.tid) - 2.0,
            name = esc(&t.name),
            state = esc(&t.state),
        );
    }
    let mut k = 0;
    while k < l.columns.len() {
        let pfn = l.columns[k].pfn;
        let n = l.columns[k..].iter().take_while(|c| c.pfn == pfn).count();
        let _ = write!(
            out,
            r#"<div class="folio" style="left:{x}px;width:{w}px"><div><b>folio {pfn}</b></div><div class="cols">"#,
            x = g.tracks_x + k as f64 * TRACK_W,
            w = n as f64 * TRACK_W - 2.0,
        );
        for c in &l.columns[k..k + n] {
            let _ = write!(
                out,
                r#"<span style="width:{}px">{}</span>"#,
                TRACK_W - 2.0,
                c.track.short()
            );
        }
        out.push_str("</div></div>");
        k += n;
    }
    out.push_str("</div>\n");
}

/// Per step: what the detail panel shows.
fn step_data(input: &Input, l: &Layout, g: &Geometry) -> Vec<serde_json::Value> {
    let names: BTreeMap<u8, &str> = input
        .threads
        .iter()
        .map(|t| (t.tid, t.name.as_str()))
        .collect();
    input
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| g.shows(*i))
        .map(|(i, s)| {
            let held_map = l.held_after(i);
            let held: Vec<String> = input
                .threads
                .iter()
                .map(|t| {
                    let h = held_map.get(&t.tid).cloned().unwrap_or_default();
                    format!(
                        "T{}: {}",
                        t.tid,
                        if h.is_empty() {
                            "—".to_string()
                        } else {
                            h.join(", ")
                        }
                    )
                })
                .collect();
            let mut wakes = Vec::new();
            for a in &l.arrows {
                if a.from == i {
                    wakes.push(format!(
                        "woke T{} (runs on at step {}): {}",
                        input.steps[a.to].tid,
                        a.to + 1,
                        a.label
                    ));
                }
                if a.to == i {
                    wakes.push(format!(
                        "woken by T{} at step {}: {}",
                        input.steps[a.from].tid,
                        a.from + 1,
                        a.label
                    ));
                }
            }
            let values: Vec<String> = l
                .columns
                .iter()
                .filter_map(|c| {
                    c.marks
                        .iter()
                        .rev()
                        .find(|m| m.2 && m.0 <= i)
                        .map(|m| format!("folio {} {}: {}", c.pfn, c.track.short(), m.1))
                })
                .collect();
            let marks: Vec<(&str, String)> = svg::marks(input, i)
                .into_iter()
                .map(|(c, t)| (c, t.trim_start_matches("◀ ").to_string()))
                .collect();
            serde_json::json!({
                "n": i + 1,
                "tid": s.tid,
                "thread": names.get(&s.tid).copied().unwrap_or(""),
                "func": s.func,
                "depth": s.depth,
                "text": s.text,
                "held": held,
                "wakes": wakes,
                "values": values,
                "marks": marks,
            })
        })
        .collect()
}
