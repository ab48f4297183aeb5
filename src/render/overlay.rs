//! The overlay drawn over each frame on the host: the tick, the current stage of the
//! life-cycle, the talk's title, a legend for the colour mode, a caption at each
//! transition (the stage's name and one line of evidence) and sparklines of S1, C, r and
//! adoption so far over bands of the stages. [`Captioner`] follows the run with the
//! online stage tracker, so a caption comes at the row a stage is confirmed and says
//! what was measured then. Text is rasterised with ab_glyph from the bundled DejaVu
//! Sans, so frames look the same on every machine.

use super::{splat, ColorMode, RenderPlan};
use crate::analysis::community_tracker::TrackerParams;
use crate::analysis::stages::{self, OnlineTracker, StageParams};
use crate::io::MetricsTable;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// The series the sparklines show: (metrics column, label, colour).
pub const SPARKLINES: [(&str, &str, [u8; 3]); 4] = [
    ("s1", "S1 largest component", [110, 170, 255]),
    ("clustering", "C clustering", [120, 220, 140]),
    ("alignment", "r alignment", [255, 210, 90]),
    ("adoption", "adoption", [255, 140, 90]),
];

/// Colours of the stage names (those of the report's stage bands).
pub const STAGE_COLOURS: [[u8; 3]; 4] = [
    [190, 190, 190],
    [120, 170, 255],
    [120, 220, 140],
    [255, 170, 80],
];

/// What the overlay of one frame says.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayInfo {
    pub tick: u64,
    pub stage: u8,
    /// (tick, value) of each of [`SPARKLINES`], up to this frame.
    pub series: Vec<Vec<(f64, f64)>>,
    /// The x axis of the sparklines runs from the first tick to this one.
    pub first_tick: f64,
    pub last_tick: f64,
    pub agents: u32,
    pub colour: ColorMode,
    pub title: Option<String>,
    /// The latest transition's caption while it is up: its stage and one line of evidence.
    pub caption: Option<(u8, String)>,
    /// (tick it is dated to, stage) of each transition so far: the sparklines' bands.
    pub bands: Vec<(f64, u8)>,
}

/// Follows a run frame by frame: the stage from the online tracker, the stage bands, and
/// a caption for `caption_frames` frames after each transition, whose frame the movie
/// holds for `hold_frames` more.
pub struct Captioner {
    tracker: Option<OnlineTracker>,
    agents: u32,
    first_tick: u64,
    last_tick: u64,
    colour: ColorMode,
    title: Option<String>,
    hold_frames: u32,
    caption_frames: u32,
    /// The stage of the previous frame (`None` before the first).
    shown: Option<u8>,
    caption: Option<(u8, String)>,
    caption_left: u32,
}

impl Captioner {
    /// For a run of `agents` from `first_tick` to `last_tick`; `resumed` when its first
    /// frame continues an interrupted movie (whose transitions were captioned already).
    pub fn new(
        plan: &RenderPlan,
        agents: u32,
        first_tick: u64,
        last_tick: u64,
        resumed: bool,
    ) -> Captioner {
        Captioner {
            tracker: None,
            agents,
            first_tick,
            last_tick,
            colour: plan.colour,
            title: plan.title.clone(),
            hold_frames: plan.hold_frames,
            caption_frames: plan.caption_frames,
            shown: (!resumed).then_some(0),
            caption: None,
            caption_left: 0,
        }
    }

    /// The overlay of the frame at `tick` (with the rows so far in `table` and the
    /// communities drawn: size, and whether of practice), and how many more times the
    /// movie shows it.
    pub fn frame(
        &mut self,
        table: &MetricsTable,
        tick: u64,
        communities: &[(u32, bool)],
    ) -> (OverlayInfo, u32) {
        let tracker = self.tracker.get_or_insert_with(|| {
            OnlineTracker::new(StageParams::new(self.agents), &table.columns)
        });
        let upto = rows_upto(table, tick);
        tracker.catch_up(&upto);
        let stage = tracker.stage();
        let mut bands: Vec<(f64, u8)> = tracker
            .said()
            .iter()
            .map(|t| (t.tick as f64, t.stage))
            .collect();
        bands.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut hold = 0;
        match self.shown {
            Some(before) if stage > before => {
                self.caption = Some((stage, evidence(stage, &upto, communities)));
                self.caption_left = self.caption_frames;
                hold = self.hold_frames;
            }
            _ => {}
        }
        self.shown = Some(stage);
        let caption = if self.caption_left > 0 {
            self.caption_left -= 1;
            self.caption.clone()
        } else {
            None
        };
        let mut info =
            OverlayInfo::from_rows(&upto, tick, self.agents, self.first_tick, self.last_tick);
        info.stage = stage;
        info.colour = self.colour;
        info.title = self.title.clone();
        info.caption = caption;
        info.bands = bands;
        (info, hold)
    }
}

/// The rows of `table` at or before `tick`.
fn rows_upto(table: &MetricsTable, tick: u64) -> MetricsTable {
    MetricsTable {
        columns: table.columns.clone(),
        rows: table
            .rows
            .iter()
            .filter(|r| r.first().is_some_and(|&t| t <= tick as f64))
            .cloned()
            .collect(),
    }
}

/// One line of evidence for a stage just confirmed, from the last row and the
/// communities drawn (size, and whether of practice).
pub fn evidence(stage: u8, table: &MetricsTable, communities: &[(u32, bool)]) -> String {
    let last = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c == name)
            .and_then(|k| table.rows.last().map(|r| r[k]))
            .unwrap_or(f64::NAN)
    };
    match stage {
        1 => format!(
            "the largest network holds {:.0}% of the agents (mean degree {:.1})",
            100.0 * last("s1"),
            last("mean_degree")
        ),
        2 if !communities.is_empty() => {
            let mut s: Vec<u32> = communities.iter().map(|c| c.0).collect();
            s.sort_unstable();
            let lasting = communities.iter().filter(|c| c.1).count();
            format!(
                "{} communities, median {} members; {lasting} have lasted {} ticks",
                s.len(),
                s[s.len() / 2],
                TrackerParams::default().min_lifetime
            )
        }
        2 => format!(
            "{:.0} communities, clustering {:.2}",
            last("communities"),
            last("clustering")
        ),
        3 => format!(
            "{:.0}% adopted, alignment r = {:.2}",
            100.0 * last("adoption"),
            last("alignment")
        ),
        _ => String::new(),
    }
}

impl OverlayInfo {
    /// The overlay at `tick` from the metrics rows so far (rows after `tick` are left
    /// out); the stage is the detector's on those rows.
    pub fn from_table(
        table: &MetricsTable,
        tick: u64,
        agents: u32,
        first_tick: u64,
        last_tick: u64,
    ) -> OverlayInfo {
        let upto = rows_upto(table, tick);
        let mut info = OverlayInfo::from_rows(&upto, tick, agents, first_tick, last_tick);
        info.stage = stages::detect(&upto, &StageParams::new(agents)).map_or(0, |r| r.stage);
        info
    }

    /// The sparklines of the rows of `table` (all at or before `tick`), stage 0.
    fn from_rows(
        table: &MetricsTable,
        tick: u64,
        agents: u32,
        first_tick: u64,
        last_tick: u64,
    ) -> OverlayInfo {
        let col = |name: &str| table.columns.iter().position(|c| c == name);
        let series = SPARKLINES
            .iter()
            .map(|(name, _, _)| match col(name) {
                Some(k) => table.rows.iter().map(|r| (r[0], r[k])).collect(),
                None => Vec::new(),
            })
            .collect();
        OverlayInfo {
            tick,
            stage: 0,
            series,
            first_tick: first_tick as f64,
            last_tick: last_tick.max(first_tick + 1) as f64,
            agents,
            colour: ColorMode::Purpose,
            title: None,
            caption: None,
            bands: Vec::new(),
        }
    }
}

/// What the legend shows for a colour mode: swatches with labels, and one line of text.
pub fn legend(mode: ColorMode) -> (Vec<([u32; 3], &'static str)>, &'static str) {
    match mode {
        ColorMode::Purpose => (
            Vec::new(),
            "hue: purpose; brightness: knowledge (adopters full)",
        ),
        ColorMode::Community => (
            vec![(splat::NO_COMMUNITY, "in no community")],
            "each colour: one community, for its whole life",
        ),
        ColorMode::Knowledge => (
            vec![
                (splat::KNOWLEDGE_RAMP[0], "no knowledge"),
                (splat::KNOWLEDGE_RAMP[1], "half of mastery"),
                (splat::KNOWLEDGE_RAMP[2], "mastery"),
            ],
            "colour: knowledge k / k*",
        ),
        ColorMode::Adoption => (
            vec![(splat::ADOPTER, "adopted"), (splat::NOT_ADOPTER, "not yet")],
            "colour: adoption",
        ),
        ColorMode::Stage => (
            vec![
                (splat::ISOLATED, "isolated"),
                (splat::NETWORKED, "in a network"),
                (splat::PRACTICE, "in a community of practice"),
                (splat::INFLUENCE, "adopted: system of influence"),
            ],
            "colour: each agent's place in the life-cycle",
        ),
    }
}

/// An RGBA8 frame being drawn on.
struct Canvas<'a> {
    px: &'a mut [u8],
    w: i32,
    h: i32,
}

impl Canvas<'_> {
    fn blend(&mut self, x: i32, y: i32, c: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x >= self.w || y >= self.h || a <= 0.0 {
            return;
        }
        let k = 4 * (y * self.w + x) as usize;
        let a = a.min(1.0);
        for (dst, &src) in self.px[k..k + 3].iter_mut().zip(&c) {
            let d = *dst as f32;
            *dst = (d + (src as f32 - d) * a).round() as u8;
        }
    }

    fn rect(&mut self, x0: i32, y0: i32, w: i32, h: i32, c: [u8; 3], a: f32) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.blend(x, y, c, a);
            }
        }
    }

    fn line(&mut self, (x0, y0): (i32, i32), (x1, y1): (i32, i32), c: [u8; 3]) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for s in 0..=steps {
            let x = x0 + (x1 - x0) * s / steps;
            let y = y0 + (y1 - y0) * s / steps;
            self.blend(x, y, c, 1.0);
            self.blend(x, y + 1, c, 0.5);
        }
    }

    /// The advance of `text` at `size`, without drawing it.
    fn measure(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
        let scaled = font.as_scaled(PxScale::from(size));
        let mut pen = 0.0;
        let mut last = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(prev) = last {
                pen += scaled.kern(prev, id);
            }
            pen += scaled.h_advance(id);
            last = Some(id);
        }
        pen
    }

    /// `text` with its baseline at (x, y); returns the advance.
    fn text(
        &mut self,
        font: &FontRef<'_>,
        size: f32,
        x: f32,
        y: f32,
        text: &str,
        c: [u8; 3],
    ) -> f32 {
        let scale = PxScale::from(size);
        let scaled = font.as_scaled(scale);
        let mut pen = x;
        let mut last = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(prev) = last {
                pen += scaled.kern(prev, id);
            }
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, y));
            pen += scaled.h_advance(id);
            last = Some(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let (bx, by) = (b.min.x as i32, b.min.y as i32);
                outline.draw(|gx, gy, cov| self.blend(bx + gx as i32, by + gy as i32, c, cov));
            }
        }
        pen - x
    }
}

/// Draw the overlay onto an RGBA8 frame of `w` × `h` pixels.
pub fn draw(rgba: &mut [u8], w: u32, h: u32, info: &OverlayInfo) {
    let font = FontRef::try_from_slice(crate::report::plot::FONT).expect("the bundled font parses");
    let s = (h.min(w) as f32 / 720.0).max(0.5);
    let mut c = Canvas {
        px: rgba,
        w: w as i32,
        h: h as i32,
    };
    let x0 = 18.0 * s;
    let white = [235, 235, 235];
    c.text(
        &font,
        30.0 * s,
        x0,
        44.0 * s,
        &format!("tick {}", info.tick),
        white,
    );
    let stage = info.stage.min(3) as usize;
    c.text(
        &font,
        22.0 * s,
        x0,
        76.0 * s,
        &format!("stage {stage}: {}", stages::STAGE_NAMES[stage]),
        STAGE_COLOURS[stage],
    );
    let grey = [160, 160, 160];
    c.text(
        &font,
        14.0 * s,
        x0,
        100.0 * s,
        &format!("{} agents", info.agents),
        grey,
    );
    let (bw, bh) = ((250.0 * s) as i32, (38.0 * s) as i32);
    let mut y = 128.0 * s;
    for (k, (_, label, colour)) in SPARKLINES.iter().enumerate() {
        let points = info.series.get(k).map_or(&[][..], |v| &v[..]);
        let value = points
            .last()
            .map_or(String::new(), |p| format!("  {:.2}", p.1));
        c.text(
            &font,
            14.0 * s,
            x0,
            y + 14.0 * s,
            &format!("{label}{value}"),
            *colour,
        );
        let top = (y + 20.0 * s) as i32;
        let left = x0 as i32;
        c.rect(left, top, bw, bh, [0, 0, 0], 0.45);
        let span = info.last_tick - info.first_tick;
        // The stage bands: each transition's colour from the tick it is dated to.
        for (b, &(from, stage)) in info.bands.iter().enumerate() {
            let to = info
                .bands
                .get(b + 1)
                .map_or(info.tick as f64, |n| n.0)
                .max(from);
            let fx = |t: f64| ((t - info.first_tick) / span).clamp(0.0, 1.0);
            let x0 = left + (fx(from) * (bw - 1) as f64).round() as i32;
            let x1 = left + (fx(to) * (bw - 1) as f64).round() as i32;
            c.rect(
                x0,
                top,
                (x1 - x0).max(1),
                bh,
                STAGE_COLOURS[stage.min(3) as usize],
                0.16,
            );
        }
        let to_px = |(t, v): (f64, f64)| {
            let fx = ((t - info.first_tick) / span).clamp(0.0, 1.0);
            let fy = v.clamp(0.0, 1.0);
            (
                left + (fx * (bw - 1) as f64).round() as i32,
                top + bh - 1 - (fy * (bh - 2) as f64).round() as i32,
            )
        };
        for pair in points.windows(2) {
            c.line(to_px(pair[0]), to_px(pair[1]), *colour);
        }
        if let Some(&p) = points.last() {
            let (x, y) = to_px(p);
            c.rect(x - 1, y - 1, 3, 3, *colour, 1.0);
        }
        y += 66.0 * s;
    }
    // The legend of the colour mode.
    let (swatches, line) = legend(info.colour);
    y += 4.0 * s;
    c.text(&font, 14.0 * s, x0, y, line, grey);
    for (rgb, label) in swatches {
        y += 22.0 * s;
        let rgb = rgb.map(|v| v as u8);
        c.rect(
            x0 as i32,
            (y - 11.0 * s) as i32,
            (12.0 * s) as i32,
            (12.0 * s) as i32,
            rgb,
            1.0,
        );
        c.text(&font, 14.0 * s, x0 + 20.0 * s, y, label, [200, 200, 200]);
    }
    if let Some(title) = &info.title {
        let size = 26.0 * s;
        let wide = Canvas::measure(&font, size, title);
        let x = (w as f32 - wide - 24.0 * s).max(x0);
        c.text(&font, size, x, 44.0 * s, title, white);
    }
    if let Some((stage, line)) = &info.caption {
        let stage = (*stage).min(3) as usize;
        let big = 44.0 * s;
        let small = 22.0 * s;
        let name = format!("stage {stage}: {}", stages::STAGE_NAMES[stage]);
        let wide = Canvas::measure(&font, big, &name).max(Canvas::measure(&font, small, line));
        let (bw, bh) = (wide + 60.0 * s, 110.0 * s);
        let bx = (w as f32 - bw) / 2.0;
        let by = h as f32 - bh - 40.0 * s;
        c.rect(bx as i32, by as i32, bw as i32, bh as i32, [0, 0, 0], 0.7);
        c.rect(
            bx as i32,
            by as i32,
            bw as i32,
            (5.0 * s) as i32,
            STAGE_COLOURS[stage],
            1.0,
        );
        let centre = |t: &str, size: f32| (w as f32 - Canvas::measure(&font, size, t)) / 2.0;
        c.text(
            &font,
            big,
            centre(&name, big),
            by + 58.0 * s,
            &name,
            STAGE_COLOURS[stage],
        );
        c.text(
            &font,
            small,
            centre(line, small),
            by + 92.0 * s,
            line,
            white,
        );
    }
}
