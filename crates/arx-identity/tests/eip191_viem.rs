//! EIP-191 against an independent implementation: signatures made by viem
//! (`fixtures/eip191_viem.mjs`) recover to viem's address, and our signer reproduces them
//! byte for byte (RFC 6979 makes ECDSA deterministic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arx_identity::{recover_eip191, Address};
use common::*;

#[test]
fn viem_signatures_recover_to_viems_address_and_match_ours() {
    let fixture = read_fixture("eip191_viem.json");
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let wallet = alice();
    for case in cases {
        let address: Address = case["address"].as_str().unwrap().parse().unwrap();
        let message = case["message"].as_str().unwrap();
        let signature =
            hex::decode(case["signature"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        assert_eq!(
            recover_eip191(message, &signature).unwrap(),
            address,
            "{message}"
        );
        assert_eq!(wallet.address(), address);
        assert_eq!(
            wallet.sign_text(message).as_slice(),
            signature.as_slice(),
            "{message}"
        );
    }
}

#[test]
fn viem_signed_the_current_signature_text() {
    let fixture = read_fixture("eip191_viem.json");
    assert_eq!(
        fixture["cases"][0]["message"].as_str().unwrap(),
        fixed_unsigned_update().signature_text()
    );
}
