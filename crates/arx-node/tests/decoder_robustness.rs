//! Bytes from the network never panic the node's decoders: mutated and truncated real
//! envelopes of every payload kind are refused with a stable code (or accepted if still valid).
//! A deterministic, bounded stand-in for the fuzz targets, so it runs on stable in CI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arx_e2e::{alice, group_envelope};
use arx_node::validate::{validate_envelope, Limits};
use openmls_rust_crypto::RustCrypto;
use rand::{rngs::StdRng, Rng, SeedableRng};

#[test]
fn mutated_envelopes_of_every_kind_are_refused_with_a_code_and_never_panic() {
    let alice = alice();
    let group_id = b"fuzz-group".to_vec();
    let mut group = alice.create_group(&group_id);
    let seeds = [
        alice.registration_envelope(),
        alice.key_package_envelope(),
        group_envelope(&group_id, alice.encrypt(&mut group, b"some text")),
    ];
    let crypto = RustCrypto::default();
    let limits = Limits::default();
    let mut rng = StdRng::seed_from_u64(0x4152_5821);
    let mut refused = 0;
    for round in 0..6_000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        match rng.gen_range(0..4) {
            0 => {
                let flips = rng.gen_range(1..8);
                for _ in 0..flips {
                    let i = rng.gen_range(0..bytes.len());
                    bytes[i] ^= 1 << rng.gen_range(0..8);
                }
            }
            1 => bytes.truncate(rng.gen_range(0..bytes.len())),
            2 => {
                let i = rng.gen_range(0..bytes.len());
                let extra: Vec<u8> = (0..rng.gen_range(1..32)).map(|_| rng.gen()).collect();
                bytes.splice(i..i, extra);
            }
            _ => bytes = (0..rng.gen_range(0..256)).map(|_| rng.gen()).collect(),
        }
        if let Err(err) = validate_envelope(0, bytes, &limits, &crypto, 1_800_000_000) {
            refused += 1;
            let code = err.code().as_str();
            assert!(
                code.contains('.') && !code.contains(' '),
                "unstable code {code:?}"
            );
            assert_eq!(err.index(), Some(0));
        }
    }
    assert!(
        refused > 5_000,
        "almost every mutation must be refused, got {refused}"
    );
}
