//! The report page: one HTML file with everything inside it (plots as base64 data URIs,
//! inline CSS and script), so it opens from disk, by mail or from an archive without a
//! server or network. The only outside reference is `movie.mp4`, relative, and only
//! when the run directory has one. A short inline script records on `<body>` how many
//! images loaded (`data-images-ok`, `data-images-failed`) and any script errors or
//! `console.error` calls (`data-js-errors`), which the browser test reads back.

use super::{stage_color, stage_name, Panel, RunData};
use serde_json::Value;
use std::fmt::Write as _;

pub(super) struct Figure {
    pub panel: Panel,
    pub png: Vec<u8>,
}

/// HTML-escape text for element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for data URIs; small enough not to need a
/// dependency.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{}", (f * 1e6).round() / 1e6),
            _ => n.to_string(),
        },
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", value_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Bool(b) => b.to_string(),
    }
}

fn css_rgb(c: (u8, u8, u8)) -> String {
    format!("rgb({},{},{})", c.0, c.1, c.2)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:980px;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle;border:1px solid #888}
figure{margin:1em 0}img.plot{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.9em;color:#555}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}.muted{color:#777}video{max-width:100%}";

const SCRIPT: &str = "(function(){
var b=document.body,errs=0;
function err(){errs+=1;b.setAttribute('data-js-errors',String(errs));}
window.addEventListener('error',err,true);
var ce=console.error;console.error=function(){err();return ce.apply(console,arguments);};
window.addEventListener('load',function(){
var imgs=document.querySelectorAll('img'),ok=0,bad=0;
for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}else{bad++;}}
b.setAttribute('data-images-ok',String(ok));b.setAttribute('data-images-failed',String(bad));
b.setAttribute('data-loaded','1');});
})();";

/// The whole page.
pub(super) fn page(data: &RunData, figures: &[Figure]) -> String {
    let name = data
        .dir
        .canonicalize()
        .unwrap_or_else(|_| data.dir.clone())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| data.dir.display().to_string());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>emergence report: {}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body data-js-errors=\"0\">\n<h1>{}</h1>\n<p class=\"muted\">model <b>{}</b>, {} metrics rows, ticks {} to {}</p>\n",
        esc(&name),
        esc(&name),
        esc(&data.model),
        data.metrics.rows.len(),
        data.metrics.rows.first().map_or(0.0, |r| r[0]),
        data.metrics.rows.last().map_or(0.0, |r| r[0]),
    );
    stage_table(&mut h, data);
    h.push_str("<h2>Order parameters</h2>\n");
    for f in figures {
        let _ = writeln!(
            h,
            "<figure id=\"plot-{stem}\"><img class=\"plot\" alt=\"{title}\" src=\"data:image/png;base64,{b64}\">\
             <figcaption>{title}: {cols} (<a href=\"plots/{stem}.svg\">SVG</a>, <a href=\"plots/{stem}.png\">PNG</a>)</figcaption></figure>",
            stem = esc(&f.panel.stem),
            title = esc(&f.panel.title),
            cols = esc(&f.panel.columns.join(", ")),
            b64 = base64(&f.png),
        );
    }
    if data.dir.join("movie.mp4").is_file() {
        h.push_str(
            "<h2>Movie</h2>\n<video controls preload=\"metadata\" src=\"movie.mp4\">\
             <a href=\"movie.mp4\">movie.mp4</a></video>\n",
        );
    }
    parameters(&mut h, data);
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    h
}

fn stage_table(h: &mut String, data: &RunData) {
    h.push_str("<h2>Stages</h2>\n<table id=\"stages\">\n<tr><th>stage</th><th>name</th><th>tick</th><th>confidence</th><th>evidence</th></tr>\n");
    let tr = &data.stages.transitions;
    for t in tr {
        let _ = writeln!(
            h,
            "<tr class=\"transition\"><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            css_rgb(stage_color(t.stage)),
            t.stage,
            esc(&t.name),
            t.tick,
            t.confidence.map_or("–".into(), |c| format!("{c:.2}")),
            esc(&value_text(&t.evidence)),
        );
    }
    if tr.is_empty() {
        let why = if data.model == "lifecycle" {
            "no stage transitions recorded for this run (no stages.json, or none detected)"
        } else {
            "this model has no stages"
        };
        let _ = writeln!(
            h,
            "<tr><td colspan=\"5\" class=\"muted\">{}</td></tr>",
            esc(why)
        );
    }
    h.push_str("</table>\n");
    if data.model == "lifecycle" {
        let bands: Vec<String> = (0..4)
            .map(|s| {
                format!(
                    "<span class=\"swatch\" style=\"background:{}\"></span>{} {}",
                    css_rgb(stage_color(s)),
                    s,
                    esc(stage_name(s))
                )
            })
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"muted\">Bands in the plots: {}. Dashed lines mark the transitions.</p>",
            bands.join(", ")
        );
    }
}

fn parameters(h: &mut String, data: &RunData) {
    h.push_str("<h2>Run</h2>\n");
    match &data.summary {
        Some(Value::Object(s)) => {
            h.push_str("<table id=\"summary\">\n");
            for (k, v) in s {
                // The stage list has its own table above.
                if k == "stages" {
                    continue;
                }
                let _ = writeln!(
                    h,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(k),
                    esc(&value_text(v))
                );
            }
            h.push_str("</table>\n");
        }
        _ => h.push_str("<p class=\"muted\">no summary.json</p>\n"),
    }
    match &data.config {
        Some(c) => {
            let _ = write!(h, "<h2>config.toml</h2>\n<pre>{}</pre>\n", esc(c));
        }
        None => h.push_str("<p class=\"muted\">no config.toml</p>\n"),
    }
}
