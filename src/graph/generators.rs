//! Random graph generators for the initial ties of a run: Erdős–Rényi, Watts–Strogatz,
//! Barabási–Albert, random geometric and stochastic block graphs. Each one is a pure
//! function of its arguments: draws come from the counter-based [`crate::rng`] keyed on
//! what is being decided (a row, a node, a draw index), never on which thread runs it,
//! so the parallel generators give the same graph on any number of cores. All return
//! simple graphs (no self-loops, each pair at most once) and refuse impossible
//! parameters with a [`Error::BadInput`] that names the config field and its range.

use rayon::prelude::*;

use super::EdgeList;
use crate::error::{Error, Result};
use crate::rng::{self, stream};

/// Config field names used in error messages, so the config layer and the messages agree.
pub mod field {
    pub const MEAN_DEGREE: &str = "graph.mean_degree";
    pub const MEAN_DEGREE_IN: &str = "graph.mean_degree_in";
    pub const REWIRE: &str = "graph.rewire";
    pub const ATTACH: &str = "graph.attach";
    pub const BLOCKS: &str = "graph.blocks";
}

/// Rows per parallel task: enough to amortise scheduling, few enough that rows of
/// unequal cost (later ER rows have more candidates) still balance across cores. The
/// output does not depend on it: parts are joined in row order.
const ROWS_PER_TASK: usize = 1 << 13;

/// A stream of 64-bit random words keyed on `(seed, key, stream)`; the draw index is the
/// counter. Each hash call yields four 32-bit words, i.e. two 64-bit draws.
struct Draws {
    seed: u32,
    key: u32,
    stream: u32,
    counter: u64,
    buffered: Option<u64>,
}

impl Draws {
    fn new(seed: u32, key: u32, stream: u32) -> Self {
        Draws {
            seed,
            key,
            stream,
            counter: 0,
            buffered: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        if let Some(x) = self.buffered.take() {
            return x;
        }
        // The low half of the counter is the hash's `tick` word and the high half is
        // folded into the key, so a sequential stream never wraps around onto itself.
        let tick = self.counter as u32;
        let high = (self.counter >> 32) as u32;
        let key = if high == 0 {
            self.key
        } else {
            self.key ^ rng::pcg(high)
        };
        self.counter += 1;
        let [a, b, c, d] = rng::rand4(self.seed, tick, key, self.stream);
        self.buffered = Some(((c as u64) << 32) | d as u64);
        ((a as u64) << 32) | b as u64
    }

    /// Uniform in (0, 1) with 53 random bits. 24 bits (as `rng::uniform` has) are not
    /// enough for geometric gaps: at p = 4·10^-8 one step of a 24-bit uniform is a jump
    /// of 1.5 in the gap length.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (bias below n / 2^64).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Calls `emit(w)` for every `w` in `lo..hi`, each independently with probability `p`, in
/// ascending order, in time proportional to the number emitted (Batagelj & Brandes 2005:
/// the gap to the next success is geometric, so it is drawn instead of walked).
fn bernoulli_range(draws: &mut Draws, lo: u32, hi: u32, p: f64, mut emit: impl FnMut(u32)) {
    if p <= 0.0 || lo >= hi {
        return;
    }
    if p >= 1.0 {
        (lo..hi).for_each(emit);
        return;
    }
    let log_q = (-p).ln_1p();
    let mut w = lo as u64;
    loop {
        let gap = (draws.uniform().ln() / log_q).floor();
        if gap >= (hi as u64 - w) as f64 {
            return;
        }
        w += gap as u64;
        emit(w as u32);
        w += 1;
    }
}

/// Runs `row(v, &mut out)` for every row `v` in `0..rows` in parallel, `per_task` rows per
/// task, and concatenates the outputs in row order, so the result does not depend on
/// scheduling.
fn edges_by_row(
    rows: usize,
    per_task: usize,
    row: impl Fn(usize, &mut Vec<(u32, u32)>) + Sync,
) -> Vec<(u32, u32)> {
    let parts: Vec<Vec<(u32, u32)>> = (0..rows.div_ceil(per_task))
        .into_par_iter()
        .map(|t| {
            let mut out = Vec::new();
            for v in t * per_task..((t + 1) * per_task).min(rows) {
                row(v, &mut out);
            }
            out
        })
        .collect();
    parts.concat()
}

fn check_mean_degree(n: u32, mean_degree: f64, max: f64, what: &str) -> Result<()> {
    if !mean_degree.is_finite() || mean_degree < 0.0 || mean_degree > max {
        return Err(Error::bad_input(format!(
            "{} = {mean_degree} is out of range: {what} with n = {n} agents it must be between 0 and {max}",
            field::MEAN_DEGREE
        )));
    }
    Ok(())
}

/// Erdős–Rényi G(n, p) with p = `mean_degree / (n - 1)`, in O(N + M) and in parallel.
///
/// Row `v` decides the pairs `(w, v)`, `w < v`, by geometric skipping with draws keyed on
/// `v` alone, so rows are independent. Edges are returned as `(w, v)` with `w < v`,
/// ordered by `v` then `w`.
pub fn erdos_renyi(n: u32, mean_degree: f64, seed: u32) -> Result<EdgeList> {
    let max = n.saturating_sub(1) as f64;
    check_mean_degree(n, mean_degree, max, "for a simple graph")?;
    if n < 2 || mean_degree == 0.0 {
        return Ok(EdgeList {
            n,
            edges: Vec::new(),
            weights: None,
        });
    }
    let p = mean_degree / max;
    let edges = edges_by_row(n as usize, ROWS_PER_TASK, |v, out| {
        let v = v as u32;
        let mut draws = Draws::new(seed, v, stream::GRAPH);
        bernoulli_range(&mut draws, 0, v, p, |w| out.push((w, v)));
    });
    Ok(EdgeList {
        n,
        edges,
        weights: None,
    })
}

/// Watts–Strogatz small world: a ring where each agent ties to its `k / 2` nearest
/// agents on each side, then each lattice edge `(u, u + j)` in turn (j = 1..k/2 outer,
/// u inner, as in the original) has its far end moved, with probability `rewire`, to a
/// uniformly chosen agent that is neither `u` nor already tied to `u`.
///
/// Rewiring depends on the ties left by earlier rewirings, so this one is sequential;
/// its draws come from a single counter in that fixed order.
pub fn watts_strogatz(n: u32, k: u32, rewire: f64, seed: u32) -> Result<EdgeList> {
    if k % 2 == 1 || (k > 0 && k >= n) {
        return Err(Error::bad_input(format!(
            "{} = {k} is out of range for a Watts–Strogatz ring of n = {n} agents: it must be even and between 0 and {}",
            field::MEAN_DEGREE,
            n.saturating_sub(1) & !1
        )));
    }
    if !(0.0..=1.0).contains(&rewire) {
        return Err(Error::bad_input(format!(
            "{} = {rewire} is out of range: it is a probability, between 0 and 1",
            field::REWIRE
        )));
    }
    let half = k / 2;
    let mut adjacency: Vec<Vec<u32>> = (0..n).map(|_| Vec::with_capacity(k as usize + 2)).collect();
    for u in 0..n {
        for j in 1..=half {
            let v = ((u as u64 + j as u64) % n as u64) as u32;
            adjacency[u as usize].push(v);
            adjacency[v as usize].push(u);
        }
    }

    if rewire > 0.0 {
        let mut draws = Draws::new(seed, 0, stream::GRAPH);
        for j in 1..=half {
            for u in 0..n {
                if draws.uniform() >= rewire {
                    continue;
                }
                // An agent already tied to everyone has nowhere to move the tie to.
                if adjacency[u as usize].len() as u64 >= n as u64 - 1 {
                    continue;
                }
                let target = loop {
                    let w = draws.below(n as u64) as u32;
                    if w != u && !adjacency[u as usize].contains(&w) {
                        break w;
                    }
                };
                let v = ((u as u64 + j as u64) % n as u64) as u32;
                remove_value(&mut adjacency[u as usize], v);
                remove_value(&mut adjacency[v as usize], u);
                adjacency[u as usize].push(target);
                adjacency[target as usize].push(u);
            }
        }
    }

    let mut edges = Vec::with_capacity(n as usize * half as usize);
    for (u, row) in adjacency.iter_mut().enumerate() {
        row.sort_unstable();
        let u = u as u32;
        edges.extend(row.iter().filter(|&&v| v > u).map(|&v| (u, v)));
    }
    Ok(EdgeList {
        n,
        edges,
        weights: None,
    })
}

fn remove_value(row: &mut Vec<u32>, value: u32) {
    if let Some(pos) = row.iter().position(|&x| x == value) {
        row.swap_remove(pos);
    }
}

/// Barabási–Albert preferential attachment: a clique of `m + 1` agents, then each later
/// agent `t` ties to `m` distinct earlier agents, each chosen with probability
/// proportional to its degree. Draws are keyed on `t`, so agent `t`'s choices depend only
/// on the graph so far and the seed.
pub fn barabasi_albert(n: u32, m: u32, seed: u32) -> Result<EdgeList> {
    if m == 0 || m >= n {
        return Err(Error::bad_input(format!(
            "{} = {m} is out of range for n = {n} agents: each new agent's ties must be between 1 and {}",
            field::ATTACH,
            n.saturating_sub(1)
        )));
    }
    let clique = m + 1;
    let total = clique as usize * m as usize / 2 + (n - clique) as usize * m as usize;
    let mut edges = Vec::with_capacity(total);
    for v in 1..clique {
        for u in 0..v {
            edges.push((u, v));
        }
    }
    // Every edge end listed once: a uniform pick from this list is a pick by degree.
    let mut ends: Vec<u32> = Vec::with_capacity(2 * total);
    for &(u, v) in &edges {
        ends.push(u);
        ends.push(v);
    }
    let mut targets: Vec<u32> = Vec::with_capacity(m as usize);
    for t in clique..n {
        let mut draws = Draws::new(seed, t, stream::GRAPH);
        targets.clear();
        while targets.len() < m as usize {
            let pick = ends[draws.below(ends.len() as u64) as usize];
            if !targets.contains(&pick) {
                targets.push(pick);
            }
        }
        for &target in &targets {
            edges.push((target, t));
            ends.push(target);
            ends.push(t);
        }
    }
    Ok(EdgeList {
        n,
        edges,
        weights: None,
    })
}

/// Random geometric graph on the unit torus: `n` uniform points, tied when their
/// (wrap-around) distance is at most r, with π r² (n − 1) = `mean_degree`. Returns the
/// positions too (they are exact multiples of 2^-24 in [0, 1), and the ties are decided on
/// these very f32 values, so the graph can be recomputed from them).
///
/// O(N + M): points are bucketed into a grid of cells no smaller than r, and each point
/// only looks at its own and the 8 surrounding cells.
pub fn random_geometric(n: u32, mean_degree: f64, seed: u32) -> Result<(EdgeList, Vec<[f32; 2]>)> {
    // Beyond r = 1/2 a disk would overlap itself on the torus and the degree formula fails.
    let max = std::f64::consts::FRAC_PI_4 * n.saturating_sub(1) as f64;
    check_mean_degree(n, mean_degree, max, "for a torus (radius at most 1/2)")?;
    let positions: Vec<[f32; 2]> = (0..n)
        .into_par_iter()
        .map(|i| {
            let [x, y, _, _] = rng::rand4(seed, 0, i, stream::GRAPH_AUX);
            let unit = 1.0 / 16_777_216.0;
            [(x >> 8) as f32 * unit, (y >> 8) as f32 * unit]
        })
        .collect();
    if n < 2 || mean_degree == 0.0 {
        return Ok((
            EdgeList {
                n,
                edges: Vec::new(),
                weights: None,
            },
            positions,
        ));
    }
    let r2 = mean_degree / (std::f64::consts::PI * (n - 1) as f64);
    let r = r2.sqrt();
    let tied = |a: [f32; 2], b: [f32; 2]| {
        let dx = (a[0] as f64 - b[0] as f64).abs();
        let dy = (a[1] as f64 - b[1] as f64).abs();
        let (dx, dy) = (dx.min(1.0 - dx), dy.min(1.0 - dy));
        dx * dx + dy * dy <= r2
    };
    let plain = |edges| EdgeList {
        n,
        edges,
        weights: None,
    };

    // Cells at least r wide, and no more cells than points (tiny r would otherwise make a
    // huge, empty grid).
    let side = ((1.0 / r).floor() as u64)
        .min((n as f64).sqrt() as u64)
        .max(1) as usize;
    if side < 3 {
        // The 3×3 neighbourhood would wrap onto itself; the graph is dense anyway.
        let edges = edges_by_row(n as usize, ROWS_PER_TASK, |i, out| {
            let i = i as u32;
            let a = positions[i as usize];
            out.extend(
                (i + 1..n)
                    .filter(|&j| tied(a, positions[j as usize]))
                    .map(|j| (i, j)),
            );
        });
        return Ok((plain(edges), positions));
    }

    // Counting sort of the points by cell (ids ascending within a cell), with a copy of
    // the positions in that order: the neighbour scan then reads memory that is close
    // together instead of jumping around the id order (4x faster at n = 10^6).
    let cell: Vec<u32> = positions
        .iter()
        .map(|p| {
            let cx = ((p[0] as f64 * side as f64) as usize).min(side - 1);
            let cy = ((p[1] as f64 * side as f64) as usize).min(side - 1);
            (cy * side + cx) as u32
        })
        .collect();
    let mut cell_start = vec![0u32; side * side + 1];
    for &c in &cell {
        cell_start[c as usize + 1] += 1;
    }
    for c in 0..side * side {
        cell_start[c + 1] += cell_start[c];
    }
    let mut fill = cell_start.clone();
    let mut members = vec![0u32; n as usize];
    let mut member_pos = vec![[0f32; 2]; n as usize];
    for (i, &c) in cell.iter().enumerate() {
        let slot = fill[c as usize] as usize;
        members[slot] = i as u32;
        member_pos[slot] = positions[i];
        fill[c as usize] += 1;
    }
    drop(cell);
    let in_cell = |c: usize| cell_start[c] as usize..cell_start[c + 1] as usize;

    // One task per band of grid rows; edges come out grouped by the cell of their lower
    // id end, a fixed order.
    let edges = edges_by_row(side, 8, |cy, out| {
        for cx in 0..side {
            for a in in_cell(cy * side + cx) {
                let (id_a, pos_a) = (members[a], member_pos[a]);
                for dy in [side - 1, 0, 1] {
                    for dx in [side - 1, 0, 1] {
                        let c = ((cy + dy) % side) * side + (cx + dx) % side;
                        for b in in_cell(c) {
                            if members[b] > id_a && tied(pos_a, member_pos[b]) {
                                out.push((id_a, members[b]));
                            }
                        }
                    }
                }
            }
        }
    });
    Ok((plain(edges), positions))
}

/// Stochastic block model: `blocks` blocks of `n / blocks` consecutive agents (the last
/// takes the remainder). Pairs inside a block tie with the probability that gives
/// `mean_degree_in` expected ties inside the block per agent, pairs across blocks with the
/// probability that gives the remaining `mean_degree - mean_degree_in`. O(N + M): since
/// blocks are contiguous, row `v`'s earlier agents split into one range across blocks
/// and one inside its block, each skipped through geometrically.
///
/// Returns the edges and the block of each agent.
pub fn stochastic_block(
    n: u32,
    blocks: u32,
    mean_degree: f64,
    mean_degree_in: f64,
    seed: u32,
) -> Result<(EdgeList, Vec<u32>)> {
    if blocks == 0 || blocks > n {
        return Err(Error::bad_input(format!(
            "{} = {blocks} is out of range for n = {n} agents: it must be between 1 and {n}",
            field::BLOCKS
        )));
    }
    check_mean_degree(
        n,
        mean_degree,
        n.saturating_sub(1) as f64,
        "for a simple graph",
    )?;
    if !mean_degree_in.is_finite() || mean_degree_in < 0.0 || mean_degree_in > mean_degree {
        return Err(Error::bad_input(format!(
            "{} = {mean_degree_in} is out of range: it must be between 0 and {} = {mean_degree}",
            field::MEAN_DEGREE_IN,
            field::MEAN_DEGREE
        )));
    }
    let size = n / blocks;
    let last = n - size * (blocks - 1);
    let pairs = |s: u32| s as f64 * (s as f64 - 1.0) / 2.0;
    let pairs_in = pairs(size) * (blocks - 1) as f64 + pairs(last);
    let pairs_out = pairs(n) - pairs_in;
    // Expected ties = (mean degree) · n / 2, spread over the available pairs; using the
    // actual pair counts keeps the overall means exact even with a larger last block.
    let ties_in = mean_degree_in * n as f64 / 2.0;
    let ties_out = (mean_degree - mean_degree_in) * n as f64 / 2.0;
    let max_in = 2.0 * pairs_in / n as f64;
    let max_out = 2.0 * pairs_out / n as f64;
    if ties_in > pairs_in * (1.0 + 1e-12) {
        return Err(Error::bad_input(format!(
            "{} = {mean_degree_in} is out of range: with {} = {blocks} blocks of {size} agents it must be at most {max_in}",
            field::MEAN_DEGREE_IN,
            field::BLOCKS
        )));
    }
    if ties_out > pairs_out * (1.0 + 1e-12) {
        return Err(Error::bad_input(format!(
            "{} - {} = {} ties between blocks is out of range: with {} = {blocks} it must be at most {max_out}",
            field::MEAN_DEGREE,
            field::MEAN_DEGREE_IN,
            mean_degree - mean_degree_in,
            field::BLOCKS
        )));
    }
    let p_in = if pairs_in > 0.0 {
        ties_in / pairs_in
    } else {
        0.0
    };
    let p_out = if pairs_out > 0.0 {
        ties_out / pairs_out
    } else {
        0.0
    };
    let block_of = |v: u32| (v / size).min(blocks - 1);

    let edges = edges_by_row(n as usize, ROWS_PER_TASK, |v, out| {
        let v = v as u32;
        let start = block_of(v) * size;
        let mut across = Draws::new(seed, v, stream::GRAPH_AUX);
        bernoulli_range(&mut across, 0, start, p_out, |w| out.push((w, v)));
        let mut inside = Draws::new(seed, v, stream::GRAPH);
        bernoulli_range(&mut inside, start, v, p_in, |w| out.push((w, v)));
    });
    let membership = (0..n).map(block_of).collect();
    Ok((
        EdgeList {
            n,
            edges,
            weights: None,
        },
        membership,
    ))
}
