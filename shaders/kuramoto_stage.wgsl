// Kernel: stage s of a classical RK4 step of the Kuramoto model. The stage state is
// x = θ + c_s·dt·k_in (c = 0, ½, ½, 1); the rate there is
//   all-to-all: f_i = ω_i + K r_s sin(ψ_s − x_i), r_s e^{iψ_s} of the stage state
//               (reduced just before, in the control block);
//   on a graph: f_i = ω_i + K Σ_j A_ij sin(x_j − x_i) (no 1/N, no 1/degree).
// k_out = f; acc gathers (k1 + 2k2 + 2k3 + k4); the last stage writes
// θ' = wrap(θ + dt/6 · acc) (Jacobi: θ is only read). Twin: model::kuramoto::stage.
#import index
#import csr
#import kuramoto

@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read> omega: array<f32>;
@group(0) @binding(7) var<storage, read> theta: array<f32>;
@group(0) @binding(8) var<storage, read_write> theta_next: array<f32>;
@group(0) @binding(9) var<storage, read> control: Control;
@group(0) @binding(10) var<storage, read> k_in: array<f32>;
@group(0) @binding(11) var<storage, read_write> k_out: array<f32>;
@group(0) @binding(12) var<storage, read_write> acc: array<f32>;
@group(0) @binding(13) var<uniform> stage: vec4<u32>;

fn state(j: u32, c: f32) -> f32 {
    if (c == 0.0) { return theta[j]; }
    return theta[j] + c * params.dt * k_in[j];
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_index(gid, nwg);
    if (i >= params.n) { return; }
    let s = stage.x;
    let c = stage_c(s);
    let xi = state(i, c);
    var pull = 0.0;
    if (params.complete == 1u) {
        pull = control.stage_r * sin(control.stage_psi - xi);
    } else {
        for (var e = offsets[i]; e < offsets[i + 1u]; e++) {
            pull += sin(state(neighbor(e, params.chunk_len), c) - xi);
        }
    }
    let f = omega[i] + params.coupling * pull;
    k_out[i] = f;
    var a = stage_w(s) * f;
    if (s > 0u) { a = acc[i] + a; }
    acc[i] = a;
    if (s == 3u) {
        theta_next[i] = wrap(theta[i] + params.dt / 6.0 * a);
    }
}
