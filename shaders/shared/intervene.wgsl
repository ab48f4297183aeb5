// What the intervention passes share (twin: src/intervention/passes.rs): their
// parameters, and an agent's place in the order an action picks agents in. The place is
// a 64-bit (key, id) pair, held as vec2(key, id): the key says the order (a random word,
// the most knowledgeable first, or the highest degree first) and the id breaks ties, so
// places are distinct and "the first `count` agents" is one set on every device.
// The place itself is in intervene_place.wgsl. Kernels import lifecycle first (NEVER,
// EMPTY).

struct Intervene {
    n: u32,
    slots: u32,          // K
    seed: u32,
    tick: u32,
    stream: u32,         // STREAM_INTERVENTION | index << 8
    rank: u32,           // RANK_*
    eligible: u32,       // ELIGIBLE_*
    digit: u32,          // the digit a histogram counts (0 = lowest byte of the id)
    prefix_key: u32,     // the digits above it, as found so far
    prefix_id: u32,
    bound_key: u32,      // the last place picked
    bound_id: u32,
    mode: u32,           // CUT_*
    cut: u32,            // cut_ties: a tie goes when its 24-bit draw is below this
    adopt_tick: u32,
    count: u32,          // gather: records room; connect: new tie ends
    strength: f32,
    direction: f32,
    weight: f32,
    _pad: u32,
}

const RANK_RANDOM: u32 = 0u;
const RANK_KNOWLEDGE: u32 = 1u;
const RANK_DEGREE: u32 = 2u;
const ELIGIBLE_ALL: u32 = 0u;
const ELIGIBLE_NOT_ADOPTED: u32 = 1u;
const ELIGIBLE_FREE_SLOT: u32 = 2u;
const CUT_FLAGGED: u32 = 0u;
const CUT_SHARE: u32 = 1u;

// The bits of a float as an unsigned word in the order of Rust's f32::total_cmp.
fn ordered_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b >> 31u) == 1u) { return ~b; }
    return b | 0x80000000u;
}
