// A random permutation of 0..n evaluated at one index, forwards or backwards: a 4-round
// balanced Feistel network on 2·half_bits bits with cycle walking into 0..n.
// Twin: rng::Permutation (same rounds, same keys, same walk).

struct Permutation { n: u32, half_bits: u32, keys: vec4<u32> }

fn perm_round(r: u32, k: u32, half_bits: u32) -> u32 {
    return pcg(r ^ k) & ((1u << half_bits) - 1u);
}

fn feistel(p: Permutation, x: u32) -> u32 {
    let mask = (1u << p.half_bits) - 1u;
    var l = x >> p.half_bits;
    var r = x & mask;
    for (var k = 0u; k < 4u; k++) {
        let t = l ^ perm_round(r, p.keys[k], p.half_bits);
        l = r;
        r = t;
    }
    return (l << p.half_bits) | r;
}

fn feistel_inv(p: Permutation, x: u32) -> u32 {
    let mask = (1u << p.half_bits) - 1u;
    var l = x >> p.half_bits;
    var r = x & mask;
    for (var k = 0u; k < 4u; k++) {
        let t = r ^ perm_round(l, p.keys[3u - k], p.half_bits);
        r = l;
        l = t;
    }
    return (l << p.half_bits) | r;
}

fn perm_apply(p: Permutation, i: u32) -> u32 {
    var x = feistel(p, i);
    while (x >= p.n) { x = feistel(p, x); }
    return x;
}

fn perm_invert(p: Permutation, q: u32) -> u32 {
    var x = feistel_inv(p, q);
    while (x >= p.n) { x = feistel_inv(p, x); }
    return x;
}
