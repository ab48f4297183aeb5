// An agent's place in the order an action picks agents in, and whether it may be picked
// (twin: src/intervention/passes.rs). A kernel that imports this imports rng and
// intervene first and declares `knowledge`, `degree` and `adopted_at`.

fn eligible(ip: Intervene, i: u32) -> bool {
    switch ip.eligible {
        case 1u: { return adopted_at[i] == NO_AGENT; }
        case 2u: { return degree[i] < ip.slots; }
        default: { return true; }
    }
}

fn place(ip: Intervene, i: u32) -> vec2<u32> {
    var key = 0u;
    switch ip.rank {
        case 1u: { key = ~ordered_bits(knowledge[i]); }
        case 2u: { key = ~degree[i]; }
        default: { key = rand4(ip.seed, ip.tick, i, ip.stream).x; }
    }
    return vec2<u32>(key, i);
}

fn at_most(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y <= b.y);
}
