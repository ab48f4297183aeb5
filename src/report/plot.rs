//! Line plots with plotters, to PNG and SVG, with text drawn from the bundled DejaVu Sans
//! (assets/fonts) through ab_glyph, so no fontconfig or system font is needed at run
//! time. [`LinePlot`] is a plain description (series, shaded x-bands, vertical markers,
//! optional log axes) so other commands (e.g. `emergence scaling`) can reuse it.

use crate::error::{Error, Result};
use crate::io::rundir::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// The bundled font; registered under every family name plotters' defaults ask for.
pub(crate) static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Family name the plots use for all text.
pub const FONT_FAMILY: &str = "sans-serif";

/// Register the bundled font with plotters (once per process). Every drawing call
/// needs it: without a registered font, ab_glyph text layout fails.
pub fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The font is compiled in and known to parse; a failure here is a build defect.
            if plotters::style::register_font(family, FontStyle::Normal, FONT).is_err() {
                panic!("bundled font assets/fonts/DejaVuSans.ttf does not parse");
            }
        }
    });
}

/// An RGB colour (kept independent of plotters' types so callers need not import them).
pub type Rgb = (u8, u8, u8);

/// Colours for successive series (Tableau 10), readable on white.
pub const PALETTE: [Rgb; 8] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];

/// One line: points in data coordinates; non-finite values break the line.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// None: the palette colour of the series' position.
    pub color: Option<Rgb>,
}

/// A shaded x-interval spanning the full height (e.g. one stage of the lifecycle).
#[derive(Debug, Clone)]
pub struct Band {
    pub x0: f64,
    pub x1: f64,
    pub color: Rgb,
}

/// A vertical line at `x` with a short label at its top (e.g. a stage transition).
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    pub color: Rgb,
}

/// Everything one plot shows.
#[derive(Debug, Clone, Default)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub markers: Vec<Marker>,
    /// Fixed y range; None: the data's range with a margin.
    pub y_range: Option<(f64, f64)>,
    /// Log10 axes (non-positive values are dropped).
    pub log_x: bool,
    pub log_y: bool,
    /// Pixel size of the PNG (the SVG uses the same coordinates).
    pub size: (u32, u32),
}

impl LinePlot {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>) -> Self {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            size: (900, 340),
            ..Default::default()
        }
    }
}

/// Write `<dir>/<stem>.png` and `<dir>/<stem>.svg` (drawn in memory, each written under
/// a temporary name and renamed); returns the PNG's bytes (for embedding).
pub fn render(plot: &LinePlot, dir: &Path, stem: &str) -> Result<Vec<u8>> {
    ensure_font();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let (w, h) = plot.size;
    let mut rgb = vec![0u8; 3 * w as usize * h as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, plot.size).into_drawing_area();
        draw(&root, plot).map_err(|e| plot_error(&png, e))?;
        root.present()
            .map_err(|e| plot_error(&png, e.to_string()))?;
    }
    let mut encoded = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut encoded, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| plot_error(&png, e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| plot_error(&png, e.to_string()))?;
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, plot.size).into_drawing_area();
        draw(&root, plot).map_err(|e| plot_error(&svg, e))?;
        root.present()
            .map_err(|e| plot_error(&svg, e.to_string()))?;
    }
    write_atomic(&png, &encoded)?;
    write_atomic(&svg, text.as_bytes())?;
    Ok(encoded)
}

fn plot_error(path: &Path, msg: String) -> Error {
    Error::io(
        path,
        std::io::Error::other(format!("drawing the plot: {msg}")),
    )
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Map a data value onto the drawn axis (log10 when asked); None drops the point.
fn axis(v: f64, log: bool) -> Option<f64> {
    let v = if log {
        if v > 0.0 {
            v.log10()
        } else {
            return None;
        }
    } else {
        v
    };
    v.is_finite().then_some(v)
}

/// The finite range of `values` with a 5% margin, widened when it is a single value.
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + lo.abs()) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let m = (hi - lo) * 0.05;
    (lo - m, hi + m)
}

/// Tick label for an axis value: the data value (undoing log10) in a short form.
fn tick_label(v: f64, log: bool) -> String {
    let v = if log { 10f64.powf(v) } else { v };
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 || (v.fract() == 0.0 && a >= 1.0) {
        format!("{v:.0}")
    } else {
        // Four significant digits, so close ticks (0.0055, 0.006) stay distinct.
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
) -> std::result::Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    // Each series as runs of drawable points: a NaN or a dropped log value breaks a line.
    let runs: Vec<Vec<Vec<(f64, f64)>>> = plot
        .series
        .iter()
        .map(|s| {
            let mut runs = vec![Vec::new()];
            for &(x, y) in &s.points {
                match (axis(x, plot.log_x), axis(y, plot.log_y)) {
                    (Some(x), Some(y)) => runs.last_mut().unwrap().push((x, y)),
                    _ => {
                        if !runs.last().unwrap().is_empty() {
                            runs.push(Vec::new());
                        }
                    }
                }
            }
            runs
        })
        .collect();
    let all = || runs.iter().flatten().flatten();
    let (x0, x1) = {
        let xs = all()
            .map(|p| p.0)
            .chain(plot.bands.iter().filter_map(|b| axis(b.x0, plot.log_x)))
            .chain(plot.bands.iter().filter_map(|b| axis(b.x1, plot.log_x)));
        let (lo, hi) = padded_range(xs);
        // Time axes start where the data start; the margin is only for a single point.
        let (dlo, dhi) = (
            all().map(|p| p.0).fold(f64::INFINITY, f64::min),
            all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max),
        );
        if dlo.is_finite() && dhi > dlo {
            (dlo, dhi)
        } else {
            (lo, hi)
        }
    };
    let (y0, y1) = match plot.y_range {
        Some((a, b)) => (
            axis(a, plot.log_y).unwrap_or(0.0),
            axis(b, plot.log_y).unwrap_or(1.0),
        ),
        None => padded_range(all().map(|p| p.1)),
    };
    // A header row holds the title and, when it fits, the legend in one line, so the
    // legend never hides data; otherwise the legend goes inside, in the emptiest corner.
    let (header, body) = root.split_vertically(34);
    let inline_legend = draw_header(&header, plot).map_err(e)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .margin_top(4)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    let (log_x, log_y) = (plot.log_x, plot.log_y);
    let xf = move |v: &f64| tick_label(*v, log_x);
    let yf = move |v: &f64| tick_label(*v, log_y);
    chart
        .configure_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style((FONT_FAMILY, 13))
        .axis_desc_style((FONT_FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(e)?;
    // Bands under everything else, clipped to the plotted x range.
    chart
        .draw_series(plot.bands.iter().filter_map(|b| {
            let a = axis(b.x0, log_x)?.max(x0);
            let c = axis(b.x1, log_x)?.min(x1);
            (c > a).then(|| Rectangle::new([(a, y0), (c, y1)], rgb(b.color).mix(0.16).filled()))
        }))
        .map_err(e)?;
    for (k, (s, runs)) in plot.series.iter().zip(&runs).enumerate() {
        let color = rgb(s.color.unwrap_or(PALETTE[k % PALETTE.len()]));
        let mut labelled = false;
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let style = color.stroke_width(2);
            let drawn = if run.len() == 1 {
                // A lone point would be invisible as a line.
                chart
                    .draw_series(std::iter::once(Circle::new(run[0], 3, style.filled())))
                    .map_err(e)?
            } else {
                chart
                    .draw_series(LineSeries::new(run.iter().copied(), style))
                    .map_err(e)?
            };
            // An unlabelled series (an interval's second edge) has no legend entry.
            if !labelled && !s.label.is_empty() {
                labelled = true;
                drawn.label(s.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
            }
        }
    }
    for m in &plot.markers {
        let Some(x) = axis(m.x, log_x) else { continue };
        if x < x0 || x > x1 {
            continue;
        }
        let color = rgb(m.color);
        chart
            .draw_series(DashedLineSeries::new(
                [(x, y0), (x, y1)],
                6,
                4,
                color.stroke_width(2),
            ))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(
                // Offset in pixels so the label sits beside its line, not on it.
                EmptyElement::at((x, y1))
                    + Text::new(
                        m.label.clone(),
                        (4, 2),
                        (FONT_FAMILY, 13).into_font().color(&color),
                    ),
            ))
            .map_err(e)?;
    }
    if !inline_legend && plot.series.iter().any(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .label_font((FONT_FAMILY, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .position(legend_corner(&runs, (x0, x1), (y0, y1)))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// Title at the left of the header row, then the legend (colour, label) in the same
/// line; returns whether the legend fitted there.
fn draw_header<DB: DrawingBackend>(
    header: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
) -> std::result::Result<bool, DrawingAreaErrorKind<DB::ErrorType>> {
    let title = TextStyle::from((FONT_FAMILY, 19).into_font());
    let label = TextStyle::from((FONT_FAMILY, 13).into_font());
    header.draw(&Text::new(plot.title.clone(), (14, 8), title.clone()))?;
    let (width, _) = header.dim_in_pixel();
    let mut x = 14 + header.estimate_text_size(&plot.title, &title)?.0 as i32 + 36;
    let mut items = Vec::new();
    for (k, s) in plot.series.iter().enumerate() {
        if s.label.is_empty() {
            continue;
        }
        let w = header.estimate_text_size(&s.label, &label)?.0 as i32;
        items.push((x, k, s));
        x += 24 + w + 20;
    }
    if x - 20 > width as i32 - 8 {
        return Ok(false);
    }
    for (x, k, s) in items {
        let color = rgb(s.color.unwrap_or(PALETTE[k % PALETTE.len()]));
        header.draw(&PathElement::new(
            vec![(x, 17), (x + 18, 17)],
            color.stroke_width(3),
        ))?;
        header.draw(&Text::new(s.label.clone(), (x + 24, 10), label.clone()))?;
    }
    Ok(true)
}

/// The corner of the plot the lines cross least, for the legend (plotters draws it inside
/// the plotting area, where it would otherwise hide data).
fn legend_corner(
    runs: &[Vec<Vec<(f64, f64)>>],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> SeriesLabelPosition {
    let (w, h) = ((x1 - x0).max(1e-300), (y1 - y0).max(1e-300));
    let corners = [
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let mut best = (usize::MAX, SeriesLabelPosition::UpperLeft);
    for (pos, right, upper) in corners {
        let hits = runs
            .iter()
            .flatten()
            .flatten()
            .filter(|&&(x, y)| {
                let fx = (x - x0) / w;
                let fy = (y - y0) / h;
                (if right { fx > 0.7 } else { fx < 0.3 })
                    && (if upper { fy > 0.6 } else { fy < 0.4 })
            })
            .count();
        if hits < best.0 {
            best = (hits, pos);
        }
    }
    best.1
}
