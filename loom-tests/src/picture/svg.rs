//! The swimlane drawing as SVG: step numbers down the left, one lane per
//! thread, the folios' value tracks on the right.

use std::fmt::Write;

use super::{esc, Input, Kind, Layout, LockClass};

pub use super::geometry::{
    lock_colour, thread_colour, Geometry, CH, FIT, FONT, GUTTER, HEAD, ROW, THREAD_COLOURS, TRACK_W,
};
use super::geometry::{repeats, BAR, BAR_PITCH};

/// The first `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut o: String = s.chars().take(n.saturating_sub(1)).collect();
    o.push('…');
    o
}

/// The marks a step carries: (css class, badge text).
pub fn marks(input: &Input, i: usize) -> Vec<(&'static str, String)> {
    let n = i + 1;
    let mut m = Vec::new();
    if input.seen == n {
        m.push(("seen", format!("{} seen after this step", input.check)));
    }
    if input.cause == Some(n) {
        m.push(("cause", "cause".to_string()));
    }
    if let Some(r) = &input.race {
        if r.first == n {
            m.push(("race", "race: access 1".to_string()));
        }
        if r.second == n {
            m.push(("race", "race: access 2 right after".to_string()));
        }
    }
    if m.is_empty() {
        let ids: Vec<&str> = input
            .later
            .iter()
            .filter(|l| l.0 == n)
            .map(|l| l.1.as_str())
            .collect();
        if !ids.is_empty() {
            m.push(("later", format!("then {}", ids.join(", "))));
        }
    }
    m
}

/// The drawing alone, to embed in the page (`top` leaves room above).
pub fn body(input: &Input, l: &Layout, g: &Geometry, out: &mut String) {
    if g.heads {
        heads(input, l, g, out);
    }
    rows(input, l, g, out);
}

/// Lane titles and folio column titles.
fn heads(input: &Input, l: &Layout, g: &Geometry, out: &mut String) {
    for t in &input.threads {
        let Some(x) = g.lane_x(t.tid) else { continue };
        let c = thread_colour(t.tid);
        let y = g.top;
        let _ = write!(
            out,
            r##"<g class="lane" data-tid="{tid}"><rect x="{x}" y="{y}" width="{lw}" height="{HEAD}" fill="{c}" fill-opacity="0.10"/><rect x="{x}" y="{y}" width="{lw}" height="4" fill="{c}"/><text x="{tx}" y="{y1}" font-weight="bold" fill="{c}">{title}</text><text x="{tx}" y="{y2}" fill="#555">{state}</text></g>"##,
            tid = t.tid,
            lw = g.lane_w(t.tid) - 2.0,
            tx = x + 6.0,
            y1 = y + 20.0,
            y2 = y + 36.0,
            title = esc(&clip(
                &format!("T{}  {}", t.tid, t.name),
                ((g.lane_w(t.tid) - 12.0) / CH) as usize
            )),
            state = esc(&clip(&t.state, ((g.lane_w(t.tid) - 12.0) / CH) as usize)),
        );
    }
    if !l.columns.is_empty() {
        let mut k = 0;
        while k < l.columns.len() {
            let pfn = l.columns[k].pfn;
            let n = l.columns[k..].iter().take_while(|c| c.pfn == pfn).count();
            let x = g.tracks_x + k as f64 * TRACK_W;
            let _ = write!(
                out,
                r##"<rect x="{x}" y="{y}" width="{ww}" height="{HEAD}" fill="#f3f3f3"/><text x="{tx}" y="{y1}" font-weight="bold" fill="#333">folio {pfn}</text>"##,
                y = g.top,
                ww = n as f64 * TRACK_W - 2.0,
                tx = x + 4.0,
                y1 = g.top + 18.0,
            );
            for (j, c) in l.columns[k..k + n].iter().enumerate() {
                let _ = write!(
                    out,
                    r##"<text x="{cx}" y="{y2}" text-anchor="middle" font-size="11" fill="#555">{name}</text>"##,
                    cx = x + j as f64 * TRACK_W + TRACK_W / 2.0,
                    y2 = g.top + 36.0,
                    name = c.track.short()
                );
            }
            k += n;
        }
    }
}

fn rows(input: &Input, l: &Layout, g: &Geometry, out: &mut String) {
    let w = g.width;
    // Row stripes and marks.
    if let Some((a, b)) = g.hidden {
        let _ = write!(
            out,
            r##"<rect x="0" y="{y}" width="{w}" height="{ROW}" fill="#eee"/><text x="{x}" y="{ty}" fill="#555" font-style="italic">… steps {s0}–{s1} left out ({k} steps; holds and values run on through them) …</text>"##,
            y = g.row_y(a),
            x = GUTTER + 8.0,
            ty = g.row_y(a) + ROW - 5.0,
            s0 = a + 1,
            s1 = b,
            k = b - a,
        );
    }
    for i in (0..input.steps.len()).filter(|&i| g.shows(i)) {
        let y = g.row_y(i);
        let ms = marks(input, i);
        let fill = match ms.first().map(|m| m.0) {
            Some("seen") => "#ffd4d4",
            Some("cause") => "#ffe2b3",
            Some("race") => "#e9dcff",
            Some("later") => "#fff0f0",
            _ if i % 2 == 1 => "#f7f7f9",
            _ => "#ffffff",
        };
        let _ = write!(
            out,
            r#"<rect x="0" y="{y}" width="{w}" height="{ROW}" fill="{fill}"/>"#
        );
        if let Some((class, _)) = ms.first() {
            let stroke = match *class {
                "seen" => "#d00000",
                "cause" => "#e07b00",
                "race" => "#7c3aed",
                _ => "#e8a0a0",
            };
            let _ = write!(
                out,
                r#"<rect x="1" y="{y}" width="{ww}" height="{ROW}" fill="none" stroke="{stroke}" stroke-width="1.5"/>"#,
                ww = w - 2.0
            );
        }
    }
    // Lane separators.
    for (_, x, _) in &g.lanes {
        let _ = write!(
            out,
            r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#c8c8d0"/>"##,
            y0 = g.rows_top(),
            y1 = g.height
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#c8c8d0"/>"##,
        x = g.tracks_x,
        y0 = g.rows_top(),
        y1 = g.height
    );
    // Lock holds: a bar per hold in the holder's lane.
    // A hold that begins and ends among left-out steps has no row.
    let drawn = |from: usize, to: Option<usize>| {
        g.shows(from) || to.is_none_or(|t| g.shows(t) || g.row_y(t) > g.row_y(from))
    };
    for sp in l.spans.iter().filter(|sp| drawn(sp.from, sp.to)) {
        let Some(lx) = g.lane_x(sp.tid) else { continue };
        let x = lx + 6.0 + sp.slot as f64 * BAR_PITCH;
        let y0 = g.row_y(sp.from) + 3.0;
        let y1 = match sp.to {
            Some(t) => g.row_y(t) + ROW - 3.0,
            None => g.height - 6.0,
        };
        let c = lock_colour(l, &sp.lock);
        let (op, dash) = if sp.shared {
            ("0.45", r#" stroke-dasharray="3 2""#)
        } else {
            ("0.9", "")
        };
        let rx = if sp.class == LockClass::Entry {
            0.0
        } else {
            2.0
        };
        let _ = write!(
            out,
            r#"<rect class="hold" x="{x}" y="{y0}" width="{BAR}" height="{h}" rx="{rx}" fill="{c}" fill-opacity="{op}" stroke="{c}"{dash}><title>{t} held by T{tid}: steps {a}–{b}</title></rect>"#,
            h = (y1 - y0).max(4.0),
            t = esc(&format!(
                "{}{}",
                sp.lock,
                if sp.shared { " (shared)" } else { "" }
            )),
            tid = sp.tid,
            a = sp.from + 1,
            b = sp.to.map_or("end".to_string(), |t| (t + 1).to_string()),
        );
    }
    // Sleeps: a dotted line from schedule() to the wake-up.
    for n in l.naps.iter().filter(|n| drawn(n.from, n.to)) {
        let Some(x) = g.label_x(l, n.tid, input.steps[n.from].depth) else {
            continue;
        };
        let y0 = g.row_y(n.from) + ROW;
        let y1 = n.to.map_or(g.height - 6.0, |t| g.row_y(t));
        let _ = write!(
            out,
            r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#8a94a6" stroke-width="3" stroke-dasharray="7 4"/>"##,
            x = x + 3.0
        );
    }
    // Step labels.
    for (i, s) in input.steps.iter().enumerate().filter(|(i, _)| g.shows(*i)) {
        let y = g.row_y(i) + ROW - 5.0;
        let ms = marks(input, i);
        let numfill = match ms.first().map(|m| m.0) {
            Some("seen") => "#d00000",
            Some("cause") => "#b35c00",
            Some("race") => "#6d28d9",
            Some("later") => "#b04848",
            _ => "#888",
        };
        let _ = write!(
            out,
            r#"<text x="{x}" y="{y}" text-anchor="end" fill="{numfill}">{n}</text>"#,
            x = GUTTER - 8.0,
            n = i + 1
        );
        let badge = ms
            .iter()
            .map(|m| m.1.as_str())
            .collect::<Vec<_>>()
            .join(" · ");
        let Some(x) = g.label_x(l, s.tid, s.depth) else {
            // Thread 0: set-up and the checker, across the lanes.
            let _ = write!(
                out,
                r##"<text x="{x}" y="{y}" fill="#777" font-style="italic">{t}</text>"##,
                x = GUTTER + 8.0,
                t = esc(&format!("T{} {}: {}", s.tid, s.func, s.text)),
            );
            if !badge.is_empty() {
                let _ = write!(
                    out,
                    r##"<text x="{x}" y="{y}" text-anchor="end" font-weight="bold" fill="{numfill}">◀ {b}</text>"##,
                    x = g.tracks_x - 6.0,
                    b = esc(&badge)
                );
            }
            continue;
        };
        let lane_x = g.lane_x(s.tid).unwrap_or(0.0);
        let lane_w = g.lane_w(s.tid);
        let lane_end = lane_x + lane_w - 6.0;
        // A row holds one thread's step, so the badge goes into the empty
        // lane beside it; only a lone lane shares its row with the badge.
        let (badge_at, badge_w) = if badge.is_empty() {
            (None, 0.0)
        } else if g.lanes.last().is_some_and(|l| l.1 > lane_x) {
            (Some((lane_x + lane_w + 6.0, "start", "◀ ")), 0.0)
        } else if g.lanes.len() > 1 {
            (Some((lane_x - 6.0, "end", "")), 0.0)
        } else {
            (
                Some((lane_end, "end", "◀ ")),
                (badge.chars().count() + 2) as f64 * CH + 8.0,
            )
        };
        let room = ((lane_end - badge_w - x) / CH).max(4.0) as usize;
        let (f, e) = if repeats(input, i) {
            let e = clip(&s.text, room.saturating_sub(2));
            ("· ".to_string(), e)
        } else {
            let shown = clip(&format!("{}: {}", s.func, s.text), room);
            match shown.split_once(": ") {
                Some((f, e)) if f == s.func => (f.to_string(), format!(": {e}")),
                _ => (shown.clone(), String::new()),
            }
        };
        let weight = match s.kind {
            Kind::Value { changed: true, .. }
            | Kind::Wake { .. }
            | Kind::Sleep { .. }
            | Kind::Woken => r#" font-weight="bold""#,
            _ => "",
        };
        let _ = write!(
            out,
            r##"<text x="{x}" y="{y}"><tspan fill="{fc}">{f}</tspan><tspan fill="#111"{weight}>{e}</tspan></text>"##,
            fc = thread_colour(s.tid),
            f = esc(&f),
            e = esc(&e),
        );
        if let Some((bx, anchor, arrow)) = badge_at {
            let tail = if arrow.is_empty() { " ▶" } else { "" };
            let _ = write!(
                out,
                r#"<text class="badge" x="{bx}" y="{y}" text-anchor="{anchor}" font-weight="bold" fill="{numfill}">{arrow}{b}{tail}</text>"#,
                b = esc(&badge)
            );
        }
    }
    // Value tracks: the value after each change; a line while it stands.
    for (k, c) in l.columns.iter().enumerate() {
        let cx = g.tracks_x + k as f64 * TRACK_W + TRACK_W / 2.0;
        let changes: Vec<&(usize, String, bool)> = c.marks.iter().filter(|m| m.2).collect();
        for (j, m) in changes.iter().enumerate() {
            let y0 = g.row_y(m.0) + ROW;
            let y1 = changes.get(j + 1).map_or(g.height - 6.0, |n| g.row_y(n.0));
            let _ = write!(
                out,
                r##"<line x1="{cx}" y1="{y0}" x2="{cx}" y2="{y1}" stroke="#b8b8c8" stroke-width="2"/>"##
            );
        }
        for m in c.marks.iter().filter(|m| g.shows(m.0)) {
            let s = &input.steps[m.0];
            let y = g.row_y(m.0);
            if m.2 {
                let tw = (m.1.chars().count() as f64 * CH + 8.0).min(TRACK_W - 4.0);
                let _ = write!(
                    out,
                    r##"<rect x="{rx}" y="{ry}" width="{tw}" height="{rh}" rx="3" fill="#fff" stroke="{col}" stroke-width="1.5"/><text x="{cx}" y="{ty}" text-anchor="middle" font-weight="bold" fill="#111">{v}<title>step {n}: {t}</title></text>"##,
                    rx = cx - tw / 2.0,
                    ry = y + 1.5,
                    rh = ROW - 3.0,
                    col = thread_colour(s.tid),
                    ty = y + ROW - 5.0,
                    v = esc(&clip(&m.1, ((TRACK_W - 10.0) / CH) as usize)),
                    n = m.0 + 1,
                    t = esc(&s.text),
                );
            } else {
                let _ = write!(
                    out,
                    r##"<circle cx="{x}" cy="{cy}" r="3.5" fill="#fff" stroke="{col}" stroke-width="1.5"><title>step {n}: {t}</title></circle>"##,
                    x = cx + TRACK_W / 2.0 - 10.0,
                    cy = y + ROW / 2.0,
                    col = thread_colour(s.tid),
                    n = m.0 + 1,
                    t = esc(&s.text),
                );
            }
        }
    }
    // Wake arrows, on top.
    for a in l.arrows.iter().filter(|a| g.shows(a.from) || g.shows(a.to)) {
        let (fs, ts) = (&input.steps[a.from], &input.steps[a.to]);
        let (Some(fx0), Some(tx0)) = (g.lane_x(fs.tid), g.lane_x(ts.tid)) else {
            continue;
        };
        let y0 = g.row_y(a.from) + ROW / 2.0;
        let y1 = g.row_y(a.to) + ROW / 2.0;
        let right = tx0 > fx0;
        let x0 = if right {
            fx0 + g.lane_w(fs.tid) - 8.0
        } else {
            fx0 + 4.0
        };
        let x1 = g.label_x(l, ts.tid, ts.depth).unwrap_or(tx0) - 4.0;
        let bend = (x1 - x0) / 2.0;
        let _ = write!(
            out,
            r##"<path class="wake" d="M{x0},{y0} C{c1},{y0} {c2},{y1} {x1},{y1}" fill="none" stroke="#1d4ed8" stroke-width="2" marker-end="url(#arrow)"><title>{t}</title></path><text x="{lx}" y="{ly}" font-size="11" fill="#1d4ed8" text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="4" stroke-linejoin="round">{t}</text>"##,
            c1 = x0 + bend,
            c2 = x1 - bend,
            t = esc(&a.label),
            // The curve's midpoint, which lies between the two lanes.
            lx = (x0 + x1) / 2.0,
            ly = (y0 + y1) / 2.0 - 4.0,
        );
    }
    // Hover targets, one per row, above everything.
    for (i, s) in input.steps.iter().enumerate().filter(|(i, _)| g.shows(*i)) {
        let ms = marks(input, i);
        let class = ms.first().map_or("", |m| m.0);
        let _ = write!(
            out,
            r#"<rect class="hit {class}" id="step-{n}" data-step="{n}" data-tid="{tid}" x="0" y="{y}" width="{w}" height="{ROW}" fill="transparent"><title>{t}</title></rect>"#,
            n = i + 1,
            tid = s.tid,
            y = g.row_y(i),
            t = esc(&format!("step {} T{} {}: {}", i + 1, s.tid, s.func, s.text)),
        );
    }
}

fn open(out: &mut String, w: f64, h: f64) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="picture" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1d4ed8"/></marker></defs>"##
    );
}

/// The drawing for the page (the page carries title, report and legend).
pub fn embedded(input: &Input, l: &Layout) -> (String, Geometry) {
    let g = Geometry::new(input, l, 0.0, false);
    let mut out = String::new();
    open(&mut out, g.width, g.height);
    body(input, l, &g, &mut out);
    out.push_str("</svg>");
    (out, g)
}

/// A self-contained SVG file: the report and the lock legend above the lanes.
pub fn standalone(input: &Input) -> String {
    let l = Layout::new(input);
    let mut lines = vec![
        (input.title.clone(), "bold", "#111"),
        (format!("VIOLATION {}", input.headline), "bold", "#b00000"),
        (
            format!("seen by {} after step {}", input.seen_by, input.seen),
            "normal",
            "#333",
        ),
    ];
    if let Some(c) = input.cause {
        lines.push((format!("cause: step {c}"), "normal", "#b35c00"));
    }
    if let Some(r) = &input.race {
        lines.push((
            format!("race: steps {} and {} ({})", r.first, r.second, r.note),
            "normal",
            "#6d28d9",
        ));
    }
    let legend_y = 16.0 + lines.len() as f64 * 18.0;
    let width = Geometry::new(input, &l, 0.0, true).width;
    // The lock legend, wrapped to the picture's width.
    let mut chips = Vec::new();
    let (mut x, mut y) = (8.0, legend_y);
    for lock in &l.locks {
        let wlen = lock.chars().count() as f64 * CH + 22.0;
        if x + wlen > width {
            x = 8.0;
            y += 16.0;
        }
        chips.push((x, y, lock));
        x += wlen;
    }
    let top = y + 14.0;
    let g = Geometry::new(input, &l, top, true);
    let mut out = String::new();
    open(&mut out, g.width, g.height);
    let _ = write!(
        out,
        r##"<rect width="{w}" height="{h}" fill="#fff"/>"##,
        w = g.width,
        h = g.height
    );
    let room = ((g.width - 16.0) / CH) as usize;
    for (k, (t, weight, fill)) in lines.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="8" y="{y}" font-weight="{weight}" fill="{fill}">{t}</text>"#,
            y = 18.0 + k as f64 * 18.0,
            t = esc(&clip(t, room))
        );
    }
    for (x, y, lock) in chips {
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{ry}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{y}" fill="#333">{t}</text>"##,
            ry = y - 9.0,
            c = lock_colour(&l, lock),
            tx = x + 14.0,
            t = esc(lock)
        );
    }
    body(input, &l, &g, &mut out);
    out.push_str("</svg>\n");
    out
}
