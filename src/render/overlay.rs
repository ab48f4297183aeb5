//! The overlay drawn over each frame on the host: the tick, the current stage of the
//! life-cycle and sparklines of S1, C, r and adoption so far. Text is rasterised with
//! ab_glyph from the bundled DejaVu Sans, so frames look the same on every machine.

use crate::analysis::stages::{self, StageParams};
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
const STAGE_COLOURS: [[u8; 3]; 4] = [
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
        let rows: Vec<&Vec<f64>> = table
            .rows
            .iter()
            .filter(|r| r.first().is_some_and(|&t| t <= tick as f64))
            .collect();
        let col = |name: &str| table.columns.iter().position(|c| c == name);
        let series = SPARKLINES
            .iter()
            .map(|(name, _, _)| match col(name) {
                Some(k) => rows.iter().map(|r| (r[0], r[k])).collect(),
                None => Vec::new(),
            })
            .collect();
        let upto = MetricsTable {
            columns: table.columns.clone(),
            rows: rows.into_iter().cloned().collect(),
        };
        let stage = stages::detect(&upto, &StageParams::new(agents)).map_or(0, |r| r.stage);
        OverlayInfo {
            tick,
            stage,
            series,
            first_tick: first_tick as f64,
            last_tick: last_tick.max(first_tick + 1) as f64,
            agents,
        }
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
        &format!(
            "{} agents; hue: purpose, brightness: knowledge / adoption",
            info.agents
        ),
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
}
