use emergence::rng::*;

#[test]
fn pcg_known_answers() {
    let got: Vec<u32> = (0..4).map(pcg).collect();
    assert_eq!(got, vec![0x07bb2fe2, 0xa8beea3c, 0x7a7ecc88, 0x7f0ef6bc]);
    assert_eq!(
        pcg4d([1, 2, 3, 4]),
        [0x3622cd16, 0xf11471d8, 0xe1109b3f, 0x02b94c2f]
    );
}

#[test]
fn uniform_is_open_interval() {
    assert!(uniform(0) > 0.0);
    assert!(uniform(u32::MAX) < 1.0);
    assert_eq!(uniform(0), 0.5 / 8_388_608.0);
    assert_eq!(uniform(u32::MAX), 1.0 - 0.5 / 8_388_608.0);
    // Every value is distinct per 23-bit bucket: exact, no rounding.
    assert!(uniform(u32::MAX - 512) < uniform(u32::MAX));
}

#[test]
fn normal_known_answers() {
    // Pinned on the CPU; the GPU test below compares within WGSL's log/cos precision.
    let r = rand4(7, 3, 11, 5);
    let z = normal(r[0], r[1]);
    assert!(z.is_finite());
    let again = rand4(7, 3, 11, 5);
    assert_eq!(r, again);
    let values: Vec<f32> = (0..4)
        .map(|i| {
            let r = rand4(1, 0, i, 0);
            normal(r[0], r[1])
        })
        .collect();
    let expected = [
        KNOWN_NORMALS[0],
        KNOWN_NORMALS[1],
        KNOWN_NORMALS[2],
        KNOWN_NORMALS[3],
    ];
    for (v, e) in values.iter().zip(expected) {
        assert!((v - e).abs() < 2e-6, "{values:?}");
    }
}

/// normal() of rand4(1, 0, i, 0) for i = 0..4, computed independently in double precision.
const KNOWN_NORMALS: [f32; 4] = [-1.5351819, -0.569_102, 0.1443612, -1.4876345];

#[test]
fn normal_moments() {
    let n = 200_000;
    let xs: Vec<f64> = (0..n)
        .map(|i| {
            let r = rand4(3, 1, i, 9);
            normal(r[0], r[1]) as f64
        })
        .collect();
    let (mean, sd) = crate::common::mean_sd(&xs);
    // sd of the sample mean is 1/sqrt(n) = 0.0022; of the sample sd about 1/sqrt(2n) = 0.0016.
    assert!(mean.abs() < 4.0 * 0.0023, "mean {mean}");
    assert!((sd - 1.0).abs() < 4.0 * 0.0016, "sd {sd}");
}

#[test]
fn gpu_draws_match_cpu_bit_for_bit() {
    let Some(ctx) = crate::common::gpu() else {
        return;
    };
    let n = 131_072u32;
    let (words, normals) = emergence::gpu::rng_draws::draws(&ctx, n, 42, 7, 3).unwrap();
    let mut worst = 0f32;
    for i in 0..n {
        let r = rand4(42, 7, i, 3);
        assert_eq!(words[i as usize], r, "agent {i}");
        let z = normal(r[0], r[1]);
        worst = worst.max((normals[i as usize] - z).abs() / z.abs().max(1.0));
    }
    // WGSL promises log/cos to about 2^-11; relative to the value's scale.
    assert!(worst < 2f32.powi(-10), "worst normal difference {worst}");
}

#[test]
fn stream_ids_are_distinct_and_leave_the_high_bits_free() {
    let ids: Vec<u32> = stream::ALL.iter().map(|&(_, id)| id).collect();
    for (i, (name, id)) in stream::ALL.iter().enumerate() {
        assert!(*id > 0 && *id < 256, "stream {name} = {id}");
        assert!(!ids[..i].contains(id), "stream {name} = {id} is used twice");
    }
    assert!(stream::ALL.contains(&("NOISE", stream::NOISE)));
}
