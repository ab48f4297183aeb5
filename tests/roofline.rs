//! The roofline: the bytes each lifecycle pass moves, counted from its kernels' storage
//! bindings; the table of known GPUs; `bench --predict GPU` (nothing runs on a device) and
//! the per-pass GB/s of the measured `bench`. The byte counts are checked against a
//! computation by hand from the bindings each shader declares and what it does with them.

use crate::common::{emergence, gpu, scratch};
use emergence::gpu::shaders::{GraphStore, SlotSplit};
use emergence::roofline::{self, Phase, StorageGlobal};
use serde_json::Value;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary, expect success, parse its stdout as JSON.
fn json_of(args: &[&str]) -> Value {
    let out = emergence(args, repo());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{v} is not an unsigned integer"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// The pass called `name` of a prediction.
fn pass<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["passes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["pass"] == name)
        .unwrap_or_else(|| panic!("no pass {name}"))
}

/// Bytes (read, written) per tick and per metrics row of the lifecycle at N agents, K
/// slots and R label-propagation rounds, written out from the shaders' bindings: a binding
/// the kernel loads from is read whole, one it stores to (or updates atomically) written
/// whole. `a` is an agent array (4·N), `s` a slot array (4·N·K), `c` the control block.
struct Hand {
    a: u64,
    s: u64,
    c: u64,
    partials: u64,
    half_steps: u64,
    rounds: u64,
}

impl Hand {
    fn new(n: u64, k: u64, lpa_rounds: u64) -> Hand {
        Hand {
            a: 4 * n,
            s: 4 * n * k,
            c: 32,
            partials: 16 * n.div_ceil(64),
            half_steps: 2 * lpa_rounds,
            rounds: 12,
        }
    }

    /// (kernel, read, written) per tick.
    fn tick(&self) -> Vec<(&'static str, u64, u64)> {
        let Hand {
            a, s, c, partials, ..
        } = *self;
        vec![
            // phi, adopted_at read; partials written.
            ("lifecycle_psi_partial", 2 * a, partials),
            // partials read; control's tick read and written.
            ("lifecycle_psi_final", partials + c, c),
            // control, phi, omega, knowledge, adopted_at, degree, neighbor, weight read
            // (and a word for the nourished flags, read only while a nourish lasts);
            // phi_next, knowledge, adopted_at and control (the cascade's count) written.
            ("lifecycle_agents", c + 5 * a + 2 * s + 4, c + 3 * a),
            // phi_next → phi.
            ("phi copy", a, a),
            // control (removed counter), degree, neighbor, weight, age read and written;
            // phi read.
            ("ties_weights", c + 2 * a + 3 * s, c + a + 3 * s),
            // control, phi, degree, neighbor, weight, claim (atomic) read (and a word for
            // the pioneers, read only by searches an illuminate steers); target_of, claim
            // written.
            ("ties_propose", c + 3 * a + 2 * s + 4, 2 * a),
            // control, target_of, claim read; partner written.
            ("ties_confirm", c + 2 * a, a),
            // control (atomic), degree, partner read; control, degree, neighbor, weight,
            // age (one slot per agent, counted whole), partner, claim, target_of written.
            ("ties_commit", c + 2 * a, c + 4 * a + 3 * s),
        ]
    }

    /// (pass, read, written) per metrics row.
    fn metrics(&self) -> Vec<(&'static str, u64, u64)> {
        let Hand {
            a,
            s,
            c,
            half_steps: h,
            rounds: q,
            ..
        } = *self;
        let acc = 128;
        let sums = 6 * a;
        vec![
            // slot_degree, labels read; label_degree, two_m atomic.
            ("lpa_label_degrees", h * (2 * a + a + 4), h * (a + 4)),
            // slot_degree, slot_neighbor, clock (the control block), labels, label_degree,
            // two_m read; labels_next written.
            ("lpa_step", h * (3 * a + s + c + 4), h * a),
            ("lpa clears", 0, h * (a + 4)),
            ("lpa clear at the end", 0, a),
            ("labels copy", h * a, h * a),
            // The six scratch arrays of the community sums cleared.
            ("scratch clears", 0, sums),
            // control, phi, knowledge, adopted_at, degree, neighbor, weight, labels read;
            // acc atomic.
            ("metrics_agents", c + 5 * a + 2 * s + acc, acc),
            // phi, degree, labels read; sums atomic.
            ("community_sums", 3 * a + sums, sums),
            // sums read; acc atomic.
            ("community_reduce", sums + acc, acc),
            // parent, sizes written.
            ("components_init", 0, 2 * a),
            // slot_degree, slot_neighbor read; parent atomic (find, atomicMin); changed
            // only stored (atomicStore); every round.
            ("components_hook", q * (2 * a + s), q * (a + 4)),
            // parent loaded and stored.
            ("components_compress", q * a, q * a),
            // parent read; sizes atomic.
            ("components_sizes", 2 * a, a),
            // sizes read; result atomic.
            ("components_largest", a + 8, 8),
            // acc, result, changed cleared.
            ("metrics clears", 0, acc + 8 + 4),
            // acc, control, result, changed copied to the staging buffer.
            ("staging copies", acc + c + 12, acc + c + 12),
            // created and removed cleared.
            ("counters reset", 0, 8),
        ]
    }
}

fn sum(rows: &[(&str, u64, u64)]) -> (u64, u64) {
    rows.iter().fold((0, 0), |(r, w), x| (r + x.1, w + x.2))
}

#[test]
fn roofline_predict_h200_bytes_equal_a_hand_count_of_the_bindings() {
    let p = json_of(&[
        "bench",
        "--predict",
        "H200",
        "configs/lifecycle.toml",
        "--agents",
        "1000000",
        "--set",
        "graph.slots=32",
        "--json",
    ]);
    assert_eq!(p["prediction"], true);
    assert_eq!(p["bandwidth"]["gpu"], "H200");
    assert_eq!(f(&p["bandwidth"]["gb_per_s"]), 4800.0);
    assert_eq!(p["bandwidth"]["source"], "table");
    assert_eq!(u(&p["agents"]), 1_000_000);
    assert_eq!(u(&p["slots"]), 32);
    let hand = Hand::new(1_000_000, 32, 4);
    for (name, read, written) in hand.tick().into_iter().chain(hand.metrics()) {
        let x = pass(&p, name);
        assert_eq!(
            (u(&x["read_bytes"]), u(&x["written_bytes"])),
            (read, written),
            "{name}: (read, written) bytes"
        );
    }
    let (tr, tw) = sum(&hand.tick());
    let (mr, mw) = sum(&hand.metrics());
    assert_eq!(
        (u(&p["tick"]["read_bytes"]), u(&p["tick"]["written_bytes"])),
        (tr, tw)
    );
    assert_eq!(
        (
            u(&p["metrics_row"]["read_bytes"]),
            u(&p["metrics_row"]["written_bytes"])
        ),
        (mr, mw)
    );
    // The totals spelled out: a tick reads 17 agent arrays, 7 slot arrays, the control
    // block 6 times, the ψ partials once and a word each of the interventions' arrays,
    // and writes 12, 6, 4 and once: 964.3 MB read and 816.3 MB written at this size.
    let (a, s, c, partials) = (4_000_000u64, 128_000_000u64, 32u64, 16 * 15_625u64);
    assert_eq!(tr, 17 * a + 7 * s + 6 * c + partials + 2 * 4);
    assert_eq!(tw, 12 * a + 6 * s + 4 * c + partials);
    assert_eq!((tr, tw), (964_250_200, 816_250_128));
    // 7 dispatches a tick (ψ partial and final, agents, weights, propose, confirm,
    // commit) and one copy; a metrics row 2·2·4 label-propagation dispatches, 3 sums,
    // 1 + 2·12 + 2 components.
    assert_eq!(u(&p["tick"]["dispatches"]), 7);
    assert_eq!(u(&p["tick"]["transfers"]), 1);
    assert_eq!(u(&p["metrics_row"]["dispatches"]), 16 + 3 + 27);
    // What the bytes imply at 4.8 TB/s.
    let bytes = (tr + tw) as f64;
    let rate = &p["ticks_per_s"];
    assert!((f(&rate["at_peak"]) - 4800e9 / bytes).abs() < 1e-6 * f(&rate["at_peak"]));
    assert!(
        (f(&rate["at_fraction"]) - 0.6 * 4800e9 / bytes).abs() < 1e-6 * f(&rate["at_fraction"])
    );
    let with = f(&p["ticks_per_s_with_metrics"]["at_peak"]);
    let expect = 1.0 / (bytes / 4800e9 + (mr + mw) as f64 / 4800e9 / 10.0);
    assert!((with - expect).abs() < 1e-6 * expect, "{with} vs {expect}");
    // The command floor: every dispatch, copy and clear at 3 µs.
    assert!((f(&p["tick"]["command_floor_s"]) - 8.0 * 3e-6).abs() < 1e-12);
    assert!(f(&rate["predicted"]) <= f(&rate["at_fraction"]));
    assert_eq!(p["fits_memory"], true);
}

#[test]
fn roofline_predict_counts_follow_the_lpa_rounds_and_the_size() {
    let p = json_of(&[
        "bench",
        "--predict",
        "h100",
        "--agents",
        "10000000",
        "--set",
        "graph.slots=32",
        "--set",
        "model.lpa_rounds=2",
        "--json",
    ]);
    assert_eq!(p["bandwidth"]["gpu"], "H100 SXM");
    assert_eq!(f(&p["bandwidth"]["gb_per_s"]), 3350.0);
    assert_eq!(u(&pass(&p, "lpa_step")["dispatches"]), 4);
    assert_eq!(u(&p["metrics_row"]["dispatches"]), 8 + 3 + 27);
    let hand = Hand::new(10_000_000, 32, 2);
    let (tr, tw) = sum(&hand.tick());
    let (mr, mw) = sum(&hand.metrics());
    assert_eq!(
        u(&p["tick"]["read_bytes"]) + u(&p["tick"]["written_bytes"]),
        tr + tw
    );
    assert_eq!(
        u(&p["metrics_row"]["read_bytes"]) + u(&p["metrics_row"]["written_bytes"]),
        mr + mw
    );
    let at_peak = f(&p["ticks_per_s"]["at_peak"]);
    assert!((at_peak - 3350e9 / (tr + tw) as f64).abs() < 1e-6 * at_peak);
}

#[test]
fn roofline_predict_text_is_labelled_a_prediction() {
    let out = emergence(
        &[
            "bench",
            "--predict",
            "GeForce RTX 4090",
            "--agents",
            "100000",
        ],
        repo(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("prediction (nothing run): model lifecycle at N = 100000, K = 24, on RTX 4090 at 1008 GB/s"), "{text}");
    for want in [
        "assumed: 60 % of peak",
        "ties_weights",
        "components_hook",
        "tick: 7 dispatches + 1 copies/clears",
        "predicted ticks/s, tick alone:",
        "predicted ticks/s with a metrics row every 10 ticks:",
    ] {
        assert!(text.contains(want), "no `{want}` in\n{text}");
    }
}

#[test]
fn roofline_predict_refuses_an_unknown_gpu_in_one_line_naming_the_known_ones() {
    let out = emergence(&["bench", "--predict", "Voodoo 5"], repo());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("--predict Voodoo 5: not a GPU of the table"),
        "{err}"
    );
    for name in [
        "H200",
        "H100 SXM",
        "H100 PCIe",
        "A100 80GB SXM",
        "A100 40GB",
        "L40S",
        "RTX 4090",
        "M2",
        "M2 Pro",
        "M2 Max",
        "M3",
        "M3 Pro",
        "M3 Max",
    ] {
        assert!(err.contains(name), "{name} not named in {err}");
    }
    assert!(err.contains("--bandwidth GBPS"), "{err}");
    // With its bandwidth given, any GPU can be predicted.
    let p = json_of(&[
        "bench",
        "--predict",
        "Voodoo 5",
        "--bandwidth",
        "250",
        "--agents",
        "1000",
        "--json",
    ]);
    assert_eq!(p["bandwidth"]["gpu"], "Voodoo 5");
    assert_eq!(p["bandwidth"]["source"], "--bandwidth");
    assert_eq!(f(&p["bandwidth"]["gb_per_s"]), 250.0);
    assert_eq!(p["fits_memory"], Value::Null);
}

#[test]
fn roofline_predict_refuses_what_it_cannot_predict() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["bench", "--predict", "H200", "--bandwidth", "-3"],
            "--bandwidth -3",
        ),
        (
            &["bench", "--predict", "H200", "--bandwidth", "0"],
            "0 < GBPS",
        ),
        (
            &["bench", "--predict", "H200", "--backend", "gpu"],
            "--backend and --adapter have no effect",
        ),
        (
            &["bench", "--predict", "H200", "configs/threshold.toml"],
            "model threshold declares no per-pass traffic; allowed: lifecycle",
        ),
    ];
    for (args, want) in cases {
        let out = emergence(args, repo());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn roofline_table_has_the_vendor_figures_and_matches_adapter_names() {
    let bw = |name: &str| roofline::find(name).map(|g| (g.name, g.bandwidth_gb_per_s));
    // Names as a user types them: case, spaces and dashes do not matter.
    assert_eq!(bw("H200"), Some(("H200", 4800.0)));
    assert_eq!(bw("h100"), Some(("H100 SXM", 3350.0)));
    assert_eq!(bw("H100-PCIe"), Some(("H100 PCIe", 2000.0)));
    assert_eq!(bw("a100"), Some(("A100 80GB SXM", 2039.0)));
    assert_eq!(bw("A100 40GB"), Some(("A100 40GB", 1555.0)));
    assert_eq!(bw("l40s"), Some(("L40S", 864.0)));
    assert_eq!(bw("RTX4090"), Some(("RTX 4090", 1008.0)));
    assert_eq!(bw(" rtx 4090 "), Some(("RTX 4090", 1008.0)));
    assert_eq!(bw("m2"), Some(("M2", 100.0)));
    assert_eq!(bw("M2 Pro"), Some(("M2 Pro", 200.0)));
    assert_eq!(bw("m2max"), Some(("M2 Max", 400.0)));
    assert_eq!(bw("M3"), Some(("M3", 100.0)));
    assert_eq!(bw("M3 Pro"), Some(("M3 Pro", 150.0)));
    assert_eq!(bw("M3 Max"), Some(("M3 Max", 400.0)));
    assert_eq!(bw("Voodoo 5"), None);
    assert_eq!(bw(""), None);
    // Adapter names as drivers report them.
    let adapter = |name: &str| roofline::for_adapter(name).map(|g| g.name);
    assert_eq!(adapter("NVIDIA H200"), Some("H200"));
    assert_eq!(adapter("NVIDIA H100 80GB HBM3"), Some("H100 SXM"));
    assert_eq!(adapter("NVIDIA H100 PCIe"), Some("H100 PCIe"));
    assert_eq!(adapter("NVIDIA H100 NVL"), Some("H100 NVL"));
    assert_eq!(adapter("NVIDIA A100-SXM4-80GB"), Some("A100 80GB SXM"));
    assert_eq!(adapter("NVIDIA A100-SXM4-40GB"), Some("A100 40GB"));
    assert_eq!(adapter("NVIDIA A100-PCIE-40GB"), Some("A100 40GB"));
    assert_eq!(adapter("NVIDIA A100 80GB PCIe"), Some("A100 80GB PCIe"));
    assert_eq!(adapter("NVIDIA L40S"), Some("L40S"));
    assert_eq!(adapter("NVIDIA GeForce RTX 4090"), Some("RTX 4090"));
    assert_eq!(
        adapter("NVIDIA GeForce RTX 4090 Laptop GPU"),
        Some("RTX 4090 Laptop")
    );
    assert_eq!(adapter("Apple M2"), Some("M2"));
    assert_eq!(adapter("Apple M2 Pro"), Some("M2 Pro"));
    assert_eq!(adapter("Apple M3 Max"), Some("M3 Max"));
    // Not these: a different chip whose name contains a known one's letters.
    assert_eq!(adapter("NVIDIA Quadro M2000"), None);
    assert_eq!(adapter("NVIDIA GH200 480GB"), None);
    assert_eq!(adapter("llvmpipe (LLVM 15.0.6, 256 bits)"), None);
    // The bandwidth a measured bench takes: the table's for a known adapter, --bandwidth
    // for any other (or to replace the table's), none otherwise.
    use roofline::Bandwidth;
    let h200 = Bandwidth::for_adapter("NVIDIA H200", None).unwrap();
    assert_eq!(
        (h200.gpu.as_str(), h200.gb_per_s, h200.source.as_str()),
        ("H200", 4800.0, "table")
    );
    assert!(Bandwidth::for_adapter("llvmpipe (LLVM 15.0.6, 256 bits)", None).is_none());
    let given = Bandwidth::for_adapter("llvmpipe (LLVM 15.0.6, 256 bits)", Some(12.5)).unwrap();
    assert_eq!(
        (given.gb_per_s, given.source.as_str()),
        (12.5, "--bandwidth")
    );
    let replaced = Bandwidth::for_prediction("H100", Some(3000.0)).unwrap();
    assert_eq!(
        (replaced.gpu.as_str(), replaced.gb_per_s),
        ("H100 SXM", 3000.0)
    );
    assert_eq!(replaced.memory_gb, Some(80.0));
    // Memory from the same sheets.
    assert_eq!(roofline::find("H200").unwrap().memory_gb, 141.0);
    assert_eq!(roofline::find("H100").unwrap().memory_gb, 80.0);
}

/// The lifecycle's kernels, tick and metrics row, as gpu.rs, label_propagation_gpu.rs and
/// components.rs record them.
const LIFECYCLE_KERNELS: &[&str] = &[
    "lifecycle_psi_partial",
    "lifecycle_psi_final",
    "lifecycle_agents",
    "ties_weights",
    "ties_propose",
    "ties_confirm",
    "ties_commit",
    "lpa_label_degrees",
    "lpa_step",
    "metrics_agents",
    "community_sums",
    "community_reduce",
    "components_init",
    "components_hook",
    "components_compress",
    "components_sizes",
    "components_largest",
];

#[test]
fn roofline_mapping_sizes_every_storage_binding_of_the_lifecycle_kernels() {
    let loaded = emergence::config::load(None, &["agents=5000".into()]).unwrap();
    let model = emergence::model::find("lifecycle").unwrap();
    let size = emergence::model::Size::from_config(&loaded);
    let traffic = model.traffic(&size, &loaded.scenario);
    let kernels: Vec<&str> = traffic.iter().filter_map(|p| p.kernel.as_deref()).collect();
    assert_eq!(
        kernels, LIFECYCLE_KERNELS,
        "the kernels of a tick and a metrics row"
    );
    for p in traffic.iter().filter(|p| p.kernel.is_some()) {
        let name = p.kernel.as_deref().unwrap();
        assert!(
            p.unknown.is_empty(),
            "{name}: storage variables without a size in src/model/lifecycle/traffic.rs: {:?}",
            p.unknown
        );
        // Every storage global the kernel uses is counted, by its own reflection.
        let globals = roofline::storage_globals(name, GraphStore::Slots(SlotSplit::WHOLE)).unwrap();
        assert!(!globals.is_empty(), "{name} binds no storage");
        for g in &globals {
            let array = roofline::array_of(&g.name);
            let a = p
                .arrays
                .iter()
                .find(|a| a.array == array)
                .unwrap_or_else(|| {
                    panic!("{name}: {} (binding {}) not counted", g.name, g.binding)
                });
            assert!(a.bindings.contains(&g.binding), "{name}: {}", g.name);
            assert_eq!(a.read_bytes > 0, g.reads, "{name}: {} read", g.name);
            assert_eq!(a.written_bytes > 0, g.writes, "{name}: {} written", g.name);
            assert!(
                !g.writes || g.read_write,
                "{name}: {} written but read-only",
                g.name
            );
        }
    }
    // The sizes agree with the buffers the model declares.
    let buffers = model.buffers(&size);
    let declared = |name: &str| buffers.iter().find(|b| b.name == name).unwrap().bytes;
    let counted = |kernel: &str, array: &str| {
        let p = traffic.iter().find(|p| p.pass == kernel).unwrap();
        let a = p.arrays.iter().find(|a| a.array == array).unwrap();
        a.read_bytes.max(a.written_bytes)
    };
    assert_eq!(counted("ties_weights", "neighbor"), declared("neighbor"));
    assert_eq!(counted("ties_weights", "age"), declared("age"));
    assert_eq!(
        counted("lifecycle_agents", "phi_next"),
        declared("phi next")
    );
    // The ψ partials take the first words of scratch 5.
    assert!(
        counted("lifecycle_psi_partial", "partials") <= declared("scratch 5: sin hi, psi partials")
    );
    assert_eq!(
        counted("lifecycle_psi_final", "control"),
        declared("control")
    );
    assert_eq!(counted("metrics_agents", "acc"), declared("metrics sums"));
    assert_eq!(
        counted("community_sums", "sum_degree"),
        declared("scratch 0: next labels, degree sums, component parents")
    );
    assert_eq!(
        counted("components_hook", "parent"),
        declared("scratch 0: next labels, degree sums, component parents")
    );
    // Other models declare no traffic (yet).
    let threshold = emergence::model::find("threshold").unwrap();
    assert!(threshold.traffic(&size, &loaded.scenario).is_empty());
}

#[test]
fn roofline_chunks_of_an_array_count_as_the_whole_array_once() {
    assert_eq!(roofline::array_of("neighbor_0"), "neighbor");
    assert_eq!(roofline::array_of("neighbor_12"), "neighbor");
    assert_eq!(roofline::array_of("phi_next"), "phi_next");
    assert_eq!(roofline::array_of("nbr0"), "nbr0");
    assert_eq!(roofline::array_of("_3"), "_3");
    assert_eq!(roofline::array_of("weight_"), "weight_");
    let g = |binding, name: &str, reads, writes| StorageGlobal {
        binding,
        name: name.into(),
        read_write: writes,
        reads,
        writes,
    };
    // A tie array split over three bindings, one chunk only read, one written.
    let globals = [
        g(2, "phi", true, false),
        g(3, "neighbor_0", true, false),
        g(4, "neighbor_1", true, true),
        g(5, "neighbor_2", true, false),
        g(6, "mystery", true, true),
    ];
    let size = |a: &str| match a {
        "phi" => Some(400),
        "neighbor" => Some(9600),
        _ => None,
    };
    let p = roofline::PassTraffic::of_globals("k", &globals, Phase::Tick, None, 2, size);
    assert_eq!(p.arrays.len(), 3);
    let n = p.arrays.iter().find(|a| a.array == "neighbor").unwrap();
    assert_eq!(n.bindings, vec![3, 4, 5]);
    assert_eq!((n.read_bytes, n.written_bytes), (9600, 9600));
    assert_eq!(p.unknown, vec!["mystery".to_string()]);
    assert_eq!(
        (p.read_bytes, p.written_bytes),
        (2 * (400 + 9600), 2 * 9600)
    );
    assert_eq!(p.dispatches, 2);
}

/// The lifecycle bench's roofline on one backend: bytes by hand (N = 2000, K = 24),
/// GB/s from the time, fraction of `bandwidth`.
fn check_bench_roofline(figures: &Value, bandwidth: Option<f64>) {
    let p = &figures["passes"];
    let hand = Hand::new(2000, 24, 4);
    let tick = hand.tick();
    let group = |names: &[&str]| {
        sum(&tick
            .iter()
            .filter(|x| names.contains(&x.0))
            .copied()
            .collect::<Vec<_>>())
    };
    let expect = [
        (
            "psi",
            group(&["lifecycle_psi_partial", "lifecycle_psi_final"]),
        ),
        ("agents", group(&["lifecycle_agents"])),
        ("weights", group(&["ties_weights"])),
        (
            "search",
            group(&["ties_propose", "ties_confirm", "ties_commit"]),
        ),
    ];
    let roof = p["roofline"].as_array().unwrap();
    assert_eq!(roof.len(), 4);
    for (g, (name, (read, written))) in roof.iter().zip(expect) {
        assert_eq!(g["pass"], name);
        assert_eq!(
            (u(&g["read_bytes"]), u(&g["written_bytes"])),
            (read, written),
            "{name}"
        );
        let seconds = f(&g["seconds"]);
        assert!(seconds > 0.0, "{name}: {seconds}");
        let gbps = f(&g["gb_per_s"]);
        let want = (read + written) as f64 / seconds / 1e9;
        assert!(
            (gbps - want).abs() <= 1e-9 * want,
            "{name}: {gbps} vs {want}"
        );
        match bandwidth {
            Some(b) => assert!((f(&g["fraction_of_peak"]) - gbps / b).abs() < 1e-12),
            None => assert_eq!(g["fraction_of_peak"], Value::Null),
        }
    }
    let (tr, tw) = sum(&tick);
    assert_eq!(u(&p["tick_bytes"]), tr + tw);
    let (mr, mw) = sum(&hand.metrics());
    assert_eq!(u(&p["metrics_row_bytes"]), mr + mw);
    let tick_gbps = (tr + tw) as f64 * f(&p["ticks_per_s"]) / 1e9;
    assert!((f(&p["tick_gb_per_s"]) - tick_gbps).abs() <= 1e-9 * tick_gbps);
    match bandwidth {
        Some(b) => {
            assert_eq!(f(&p["bandwidth"]["gb_per_s"]), b);
            assert_eq!(p["bandwidth"]["source"], "--bandwidth");
        }
        None => assert_eq!(p["bandwidth"], Value::Null),
    }
}

const BENCH: &[&str] = &[
    "bench",
    "configs/lifecycle.toml",
    "--agents",
    "2000",
    "--ticks",
    "5",
    "--repeats",
    "1",
    "--set",
    "graph.kind=er",
    "--set",
    "graph.mean_degree=6",
    "--json",
];

#[test]
fn roofline_bench_json_reports_each_pass_groups_bytes_and_gb_per_s() {
    let _dir = scratch("roofline-bench");
    let with = |extra: &[&str]| {
        let mut args = BENCH.to_vec();
        args.extend_from_slice(extra);
        json_of(&args)
    };
    let cpu = with(&["--backend", "cpu", "--bandwidth", "25"]);
    check_bench_roofline(&cpu["backends"][0], Some(25.0));
    let cpu = with(&["--backend", "cpu"]);
    check_bench_roofline(&cpu["backends"][0], None);
    // The text prints the table.
    let mut args: Vec<&str> = BENCH.iter().copied().filter(|a| *a != "--json").collect();
    args.extend(["--backend", "cpu"]);
    let out = emergence(&args, repo());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cpu roofline (bytes from the kernels' bindings per tick"),
        "{text}"
    );
    assert!(
        text.contains("of peak: unknown adapter, give --bandwidth GBPS"),
        "{text}"
    );
    if gpu().is_some() {
        // lavapipe is in no table: no fraction unless --bandwidth gives one.
        let g = with(&["--backend", "gpu"]);
        check_bench_roofline(&g["backends"][0], None);
        let g = with(&["--backend", "gpu", "--bandwidth", "10"]);
        check_bench_roofline(&g["backends"][0], Some(10.0));
    }
}
