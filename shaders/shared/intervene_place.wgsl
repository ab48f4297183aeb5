// An agent's place in the order an action picks agents in, and whether it may be picked
// (twin: src/intervention/passes.rs). A kernel that imports this imports rng,
// lifecycle and intervene first and declares `knowledge`, `degree` and `adopted_at`.

fn eligible(ip: Intervene, i: u32) -> bool {
    switch ip.eligible {
        case ELIGIBLE_NOT_ADOPTED: { return adopted_at[i] == NEVER; }
        case ELIGIBLE_FREE_SLOT: { return degree[i] < ip.slots; }
        default: { return true; }
    }
}

fn place(ip: Intervene, i: u32) -> vec2<u32> {
    var key = 0u;
    switch ip.rank {
        case RANK_KNOWLEDGE: { key = ~ordered_bits(knowledge[i]); }
        case RANK_DEGREE: { key = ~degree[i]; }
        default: { key = rand4(ip.seed, ip.tick, i, ip.stream).x; }
    }
    return vec2<u32>(key, i);
}

fn at_most(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y <= b.y);
}
