//! Connected components: hook-and-compress on both backends against a sequential
//! union-find, and the giant component of ER graphs against S = 1 − e^{−cS}.

use crate::common::{gpu, mean_sd};
use emergence::analysis::components::{
    components_cpu, components_gpu, labels_cpu, labels_gpu, stats,
};
use emergence::backend::GpuGraph;
use emergence::graph::{generators::erdos_renyi, Csr};

fn csr_er(n: u32, c: f64, seed: u32) -> Csr {
    Csr::from_edges(&erdos_renyi(n, c, seed).unwrap())
}

/// Smallest id in each agent's component, by a plain sequential union-find.
fn union_find_labels(csr: &Csr) -> Vec<u32> {
    let n = csr.n() as usize;
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for i in 0..n as u32 {
        for &j in csr.neighbors(i) {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            if a != b {
                parent[a.max(b) as usize] = a.min(b);
            }
        }
    }
    (0..n as u32).map(|i| find(&mut parent, i)).collect()
}

#[test]
fn cpu_labels_match_union_find() {
    for (c, seed) in [(0.5, 1), (1.0, 2), (1.5, 3), (4.0, 4)] {
        let csr = csr_er(50_000, c, seed);
        let (labels, _) = labels_cpu(&csr);
        assert_eq!(labels, union_find_labels(&csr), "c = {c}");
    }
}

#[test]
fn gpu_labels_match_cpu() {
    let Some(mut ctx) = gpu() else { return };
    for (c, seed) in [(1.0, 5), (2.0, 6)] {
        let csr = csr_er(100_000, c, seed);
        let g = GpuGraph::upload(&ctx, &csr).unwrap();
        let (gs, parent) = components_gpu(&ctx, &g).unwrap();
        let labels = labels_gpu(&ctx, &parent, csr.n()).unwrap();
        let (cpu_labels, _) = labels_cpu(&csr);
        assert_eq!(labels, cpu_labels, "c = {c}");
        let cs = stats(&cpu_labels, gs.rounds);
        assert_eq!((gs.largest, gs.count), (cs.largest, cs.count));
    }
    // Chunked neighbour bindings and a 2-D dispatch, forced on a small graph.
    ctx.binding_cap = 128 * 1024;
    ctx.limits.max_compute_workgroups_per_dimension = 64;
    let csr = csr_er(20_000, 4.0, 7);
    let g = GpuGraph::upload(&ctx, &csr).unwrap();
    assert!(
        g.neighbors.len > g.neighbors.chunk_len as u64 * 2,
        "test must span several chunks"
    );
    let (_, parent) = components_gpu(&ctx, &g).unwrap();
    assert_eq!(
        labels_gpu(&ctx, &parent, csr.n()).unwrap(),
        labels_cpu(&csr).0
    );
}

/// Giant component of G(N, c/N): S = 1 − e^{−cS}; per-run sd at N = 10^5 from
/// sd² = S(1−S)/(N(1 − c(1−S))²): 0.0021 for c = 2, 0.0005 for c = 4. Tolerance
/// 4·sd/√runs.
fn check_giant(backend_gpu: bool) {
    let ctx = if backend_gpu {
        match gpu() {
            Some(c) => Some(c),
            None => return,
        }
    } else {
        None
    };
    let runs = 8;
    for (c, theory, sd) in [(2.0, 0.79681, 0.0021), (4.0, 0.98017, 0.0005)] {
        let s1: Vec<f64> = (0..runs)
            .map(|seed| {
                let csr = csr_er(100_000, c, 100 + seed);
                match &ctx {
                    Some(ctx) => {
                        let g = GpuGraph::upload(ctx, &csr).unwrap();
                        components_gpu(ctx, &g).unwrap().0.s1()
                    }
                    None => components_cpu(&csr).s1(),
                }
            })
            .collect();
        let (mean, _) = mean_sd(&s1);
        let tol = 4.0 * sd / (runs as f64).sqrt();
        assert!(
            (mean - theory).abs() < tol,
            "c = {c}: mean S1 {mean:.5}, theory {theory}, tolerance {tol:.5}"
        );
    }
}

#[test]
fn giant_component_matches_theory_cpu() {
    check_giant(false);
}

#[test]
fn giant_component_matches_theory_gpu() {
    check_giant(true);
}
