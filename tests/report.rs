//! `emergence report` through the binary: the plots and the page a run writes at its
//! end and the command rebuilds, for both models; stages read from `stages.json`; bad
//! run directories refused with exit 2; and the page rendered in headless Chromium (no
//! script errors, every image decoded, the stage table there). Without Chromium the
//! browser check skips, unless EMERGENCE_REQUIRE_BROWSER=1 (set in CI).

use crate::common::{emergence, scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

const LIFECYCLE_PANELS: [&str; 6] = [
    "structure",
    "alignment",
    "evidence",
    "mean_degree",
    "churn",
    "communities",
];

/// Decode a PNG and check it is a drawn plot: the expected size, not blank.
fn check_png(path: &Path) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: does not decode: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(
        info.width >= 400 && info.height >= 200,
        "{}: {}x{}",
        path.display(),
        info.width,
        info.height
    );
    let pixels = &buf[..info.buffer_size()];
    let not_white = pixels.iter().filter(|&&b| b < 200).count();
    // Axes, text and lines: well over a thousand dark samples; a blank image has none.
    assert!(not_white > 2000, "{}: looks blank", path.display());
}

fn check_plots(run: &Path, panels: &[&str]) {
    for p in panels {
        check_png(&run.join("plots").join(format!("{p}.png")));
        let svg = std::fs::read_to_string(run.join("plots").join(format!("{p}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("<text") && svg.contains("</svg>"),
            "{p}.svg"
        );
    }
}

/// The page is self-contained: images are data URIs, nothing is fetched from a network.
fn check_html(run: &Path, images: usize) -> String {
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        images,
        "embedded plots"
    );
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("<table id=\"stages\">"));
    assert!(html.contains("<table id=\"summary\">"));
    html
}

/// A small lifecycle run (CPU), its report as the run wrote it and as `report` rebuilds
/// it, and the same page with stages from a `stages.json` in the detector's shape.
#[test]
fn lifecycle_report_with_stages_renders() {
    let dir = scratch("report-lifecycle");
    let started = Instant::now();
    ok(&emergence(
        &[
            "run",
            "--agents",
            "2000",
            "--ticks",
            "300",
            "--backend",
            "cpu",
            "--out",
            "life",
        ],
        &dir,
    ));
    let run = dir.join("life");
    check_plots(&run, &LIFECYCLE_PANELS);
    let html = check_html(&run, LIFECYCLE_PANELS.len());
    // Whatever the stage detector wrote, every transition it found is in the table.
    if let Ok(text) = std::fs::read_to_string(run.join("stages.json")) {
        let found: serde_json::Value = serde_json::from_str(&text).unwrap();
        let n = found["transitions"].as_array().map_or(0, Vec::len);
        assert_eq!(html.matches("<tr class=\"transition\">").count(), n);
    }

    // The command rebuilds what was removed.
    std::fs::remove_dir_all(run.join("plots")).unwrap();
    std::fs::remove_file(run.join("report.html")).unwrap();
    // Stages as the detector writes them: a stage per metrics row and the transitions.
    let rows = std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let per_row: Vec<u32> = (0..rows).map(|k| (k * 4 / rows) as u32).collect::<Vec<_>>();
    let tick_of = |k: usize| k as f64 * 10.0;
    let first = |s: u32| per_row.iter().position(|&r| r == s).unwrap();
    let stages = serde_json::json!({
        "rows": per_row,
        "transitions": [
            {"stage": 1, "name": "networks", "tick": tick_of(first(1)), "confidence": 0.9,
             "evidence": {"s1": 0.4}},
            {"stage": 2, "name": "communities of practice", "tick": tick_of(first(2)),
             "confidence": 0.75, "evidence": "clustering 0.31 > 0.2 for the window"},
            {"stage": 3, "name": "system of influence", "tick": tick_of(first(3)),
             "confidence": 0.6, "evidence": {"adoption_jump": 0.7, "<b>": "escaped"}},
        ]
    });
    std::fs::write(run.join("stages.json"), stages.to_string()).unwrap();
    let out = emergence(&["report", "life"], &dir);
    ok(&out);
    check_plots(&run, &LIFECYCLE_PANELS);
    let html = check_html(&run, LIFECYCLE_PANELS.len());
    assert_eq!(html.matches("<tr class=\"transition\">").count(), 3);
    assert!(html.contains("communities of practice") && html.contains("0.75"));
    assert!(html.contains("&lt;b&gt;") && !html.contains("<b>: escaped"));
    eprintln!("lifecycle run + report: {:.2?}", started.elapsed());

    browser_check(&run.join("report.html"), LIFECYCLE_PANELS.len());
}

#[test]
fn threshold_report() {
    let dir = scratch("report-threshold");
    let config = format!("{}/configs/threshold.toml", env!("CARGO_MANIFEST_DIR"));
    ok(&emergence(
        &[
            "run",
            &config,
            "--agents",
            "5000",
            "--backend",
            "cpu",
            "--out",
            "th",
        ],
        &dir,
    ));
    let run = dir.join("th");
    std::fs::remove_file(run.join("report.html")).unwrap();
    let out = emergence(&["report", "th"], &dir);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("report.html"));
    check_plots(&run, &["active_fraction", "newly_active"]);
    let html = check_html(&run, 2);
    assert!(html.contains("this model has no stages"));
    assert!(!html.contains("<video"), "no movie, no video tag");

    // A movie in the run directory is linked, relatively.
    std::fs::write(run.join("movie.mp4"), b"").unwrap();
    ok(&emergence(&["report", "th"], &dir));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<video controls preload=\"metadata\" src=\"movie.mp4\">"));
}

#[test]
fn report_refuses_what_is_not_a_run() {
    let dir = scratch("report-bad");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::create_dir_all(dir.join("garbled")).unwrap();
    std::fs::write(dir.join("garbled/metrics.csv"), "tick,s1\n0,0.5\n1,oops\n").unwrap();
    for (run, says) in [
        ("missing", "not a run directory"),
        ("empty", "metrics.csv"),
        ("garbled", "metrics.csv:3"),
    ] {
        let out = emergence(&["report", run], &dir);
        assert_eq!(out.status.code(), Some(2), "{run}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{run}: {err}");
        assert!(lines[0].contains(says), "{run}: {err}");
        assert!(!dir.join(run).join("report.html").exists());
    }
}

/// Chromium's binary, if installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        for d in std::env::split_paths(&path) {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Load the page in headless Chromium and read back the DOM after the load event: the
/// page's own script has recorded how many images decoded and any script errors; the
/// browser's log on stderr must show no uncaught exception or console error.
fn browser_check(page: &Path, images: usize) {
    let Some(chrome) = chromium() else {
        if std::env::var("EMERGENCE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("EMERGENCE_REQUIRE_BROWSER=1 but no chromium on PATH");
        }
        eprintln!("SKIPPED: the browser check (no chromium on PATH)");
        return;
    };
    let started = Instant::now();
    let profile = scratch("report-chromium-profile");
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(&chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on threads so a chatty browser cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut so, &mut s).ok();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut se, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = out_t.join().unwrap();
    let log = err_t.join().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(status.success(), "chromium failed: {status}\n{log}");
    let attr = |name: &str| {
        let key = format!("{name}=\"");
        let at = dom
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in the DOM:\n{dom}"));
        let rest = &dom[at + key.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    };
    assert_eq!(attr("data-loaded"), "1", "the load event ran");
    assert_eq!(attr("data-images-ok"), images.to_string());
    assert_eq!(attr("data-images-failed"), "0");
    assert_eq!(attr("data-js-errors"), "0");
    assert!(dom.contains("<table id=\"stages\">"));
    assert_eq!(dom.matches("<tr class=\"transition\">").count(), 3);
    let console_errors: Vec<&str> = log
        .lines()
        // The page logs nothing, so any console line (at any level) is a fault.
        .filter(|l| {
            l.contains("Uncaught")
                || l.contains(":CONSOLE")
                || l.contains("Failed to load resource")
        })
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );
    eprintln!("chromium check: {:.2?}", started.elapsed());
}
