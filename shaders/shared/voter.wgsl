// Shared by the coevolving voter kernels: parameters, the tie slots (agent i's live ties
// are slots i*K .. i*K + degree[i]) and the plan of each agent's move.
// Bindings 0..3 belong to this file; a kernel's own bindings start at 4.

struct Params {
    n: u32,
    seed: u32,
    slots: u32,
    opinions: u32,
    rewire_24: u32,
    // Opinions held by fewer agents than this are scanned for a target; others are hit
    // by random draws from all agents, at most max_draws of them.
    scan_below: u32,
    max_draws: u32,
    _pad: u32,
}

const NONE: u32 = 0xffffffffu;
const MOVE_NONE: u32 = 0u;
const MOVE_ADOPT: u32 = 1u;
const MOVE_REWIRE: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> opinion: array<u32>;
@group(0) @binding(2) var<storage, read_write> neighbor: array<u32>;
@group(0) @binding(3) var<storage, read_write> degree: array<u32>;

// The move's priority: a bijection of the agent id for the tick's key, so no two agents
// tie.
fn move_priority(i: u32, t: u32) -> u32 {
    return pcg(i ^ rand4(params.seed, t, 0u, STREAM_VOTER_KEY).x);
}
