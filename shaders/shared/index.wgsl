// Flat thread index of a 1-D or 2-D dispatch of WORKGROUP-thread workgroups (dispatches
// past 65,535 workgroups go 2-D; see GpuContext::dispatch_size).
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WORKGROUP;
}
