//! Where the picture puts things: text metrics, lane and track positions,
//! row heights, and which rows of a very long trace are shown; and the
//! colours of threads and locks.

use super::{Input, Layout};

/// Text size and the width of one of its characters (a monospace font).
pub const FONT: f64 = 12.0;
pub const CH: f64 = 7.25;
pub const ROW: f64 = 18.0;
pub const GUTTER: f64 = 46.0;
/// The lane header (thread titles) above the first row.
pub const HEAD: f64 = 44.0;
pub const BAR: f64 = 6.0;
pub const BAR_PITCH: f64 = 8.0;
pub const INDENT: f64 = 10.0;
pub const TRACK_W: f64 = 70.0;
/// The page width the picture is fitted to (a laptop screen at 100%).
pub const FIT: f64 = 1400.0;
const MIN_LANE: f64 = 240.0;
/// A longer trace keeps its first and last steps, as the text trace does.
const KEEP_HEAD: usize = 150;
const KEEP_TAIL: usize = 250;

pub const THREAD_COLOURS: [&str; 6] = [
    "#2563eb", "#059669", "#9333ea", "#c2410c", "#0891b2", "#4d7c0f",
];
pub fn thread_colour(tid: u8) -> &'static str {
    THREAD_COLOURS[(tid as usize + THREAD_COLOURS.len() - 1) % THREAD_COLOURS.len()]
}

/// A colour per lock, in order of first acquisition: hues a golden angle
/// apart, so any two locks differ and neighbours in time differ most.
pub fn lock_colour(l: &Layout, lock: &str) -> String {
    let i = l.locks.iter().position(|x| x == lock).unwrap_or(0);
    let hue = (20.0 + i as f64 * 137.508) % 360.0;
    let light = [45, 33, 58][i % 3];
    format!("hsl({hue:.0},70%,{light}%)")
}

/// Where everything goes.
pub struct Geometry {
    pub top: f64,
    /// Whether the lane titles are part of the drawing (the page draws
    /// them in a header that stays in view instead).
    pub heads: bool,
    /// Each lane's thread, left edge and width, in thread order.
    pub lanes: Vec<(u8, f64, f64)>,
    /// Steps left out of a very long trace (a livelock runs to the
    /// explorer's step bound): indices `a..b`, drawn as one row.
    pub hidden: Option<(usize, usize)>,
    pub tracks_x: f64,
    pub width: f64,
    pub height: f64,
}

impl Geometry {
    pub fn new(input: &Input, l: &Layout, top: f64, heads: bool) -> Geometry {
        let n = input.steps.len();
        let hidden = (n > KEEP_HEAD + KEEP_TAIL).then(|| (KEEP_HEAD, n - KEEP_TAIL));
        let rows = hidden.map_or(n, |(a, b)| n - (b - a) + 1);
        let tracks_w = l.columns.len() as f64 * TRACK_W;
        // Lanes share the width in proportion to what their labels need.
        let need: Vec<f64> = input
            .threads
            .iter()
            .map(|t| {
                let slots = l.slots.get(&t.tid).copied().unwrap_or(0) as f64;
                input
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(i, s)| {
                        s.tid == t.tid && hidden.is_none_or(|(a, b)| *i < a || *i >= b)
                    })
                    .map(|(i, s)| {
                        let chars = if repeats(input, i) {
                            s.text.chars().count() + 2
                        } else {
                            s.func.chars().count() + 2 + s.text.chars().count()
                        };
                        20.0 + slots * BAR_PITCH + s.depth as f64 * INDENT + chars as f64 * CH
                    })
                    .fold(MIN_LANE, f64::max)
            })
            .collect();
        let avail = FIT - GUTTER - tracks_w;
        let total: f64 = need.iter().sum();
        let widths: Vec<f64> = need
            .iter()
            .map(|w| {
                if total <= avail {
                    w + (avail - total) / need.len() as f64
                } else {
                    (avail * w / total).max(MIN_LANE)
                }
                .floor()
            })
            .collect();
        let mut x = GUTTER;
        let mut lanes = Vec::new();
        for (t, w) in input.threads.iter().zip(&widths) {
            lanes.push((t.tid, x, *w));
            x += w;
        }
        let tracks_x = x;
        let head = if heads { HEAD } else { 0.0 };
        Geometry {
            top,
            heads,
            lanes,
            hidden,
            tracks_x,
            width: tracks_x + tracks_w + 4.0,
            height: top + head + rows as f64 * ROW + 8.0,
        }
    }

    pub fn lane_x(&self, tid: u8) -> Option<f64> {
        self.lanes.iter().find(|l| l.0 == tid).map(|l| l.1)
    }

    pub fn lane_w(&self, tid: u8) -> f64 {
        self.lanes
            .iter()
            .find(|l| l.0 == tid)
            .map_or(MIN_LANE, |l| l.2)
    }

    /// Top of row `i`.
    pub fn row_y(&self, i: usize) -> f64 {
        let row = match self.hidden {
            Some((a, b)) if i >= b => i - (b - a) + 1,
            Some((a, _)) if i >= a => a,
            _ => i,
        };
        self.top + if self.heads { HEAD } else { 0.0 } + row as f64 * ROW
    }

    /// Whether step index `i` has a row of its own.
    pub fn shows(&self, i: usize) -> bool {
        self.hidden.is_none_or(|(a, b)| i < a || i >= b)
    }

    /// Top of the first row.
    pub fn rows_top(&self) -> f64 {
        self.row_y(0)
    }

    /// Where a step's label starts in its lane.
    pub fn label_x(&self, l: &Layout, tid: u8, depth: u8) -> Option<f64> {
        let slots = l.slots.get(&tid).copied().unwrap_or(0) as f64;
        self.lane_x(tid)
            .map(|x| x + 6.0 + slots * BAR_PITCH + 4.0 + depth as f64 * INDENT)
    }
}

/// Whether step `i` runs in the same function as its thread's previous
/// step: a run of steps in one function names it once, as a call tree
/// would (the panel and the tooltip always name it).
pub fn repeats(input: &Input, i: usize) -> bool {
    let s = &input.steps[i];
    input.steps[..i]
        .iter()
        .rev()
        .find(|p| p.tid == s.tid)
        .is_some_and(|p| p.func == s.func && p.depth == s.depth)
}
