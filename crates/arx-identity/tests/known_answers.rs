//! Known-answer tests: fixed inputs, checked-in outputs. They fail on any accidental change to
//! something hashed, signed or persisted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arx_identity::{
    client_envelope_hash, node_id_from_public_key, originator_signing_hash,
    verify_originator_envelope, Address, AssociationState, InboxId, NodeKey,
};
use common::*;
use prost::Message as _;
use serde_json::json;

const ANVIL_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

#[test]
fn inbox_ids_are_stable() {
    let address: Address = ANVIL_0.parse().unwrap();
    let cases: Vec<_> = [0u64, 7]
        .into_iter()
        .map(|nonce| {
            json!({
                "address": address.to_checksum(None),
                "nonce": nonce,
                "inbox_id": InboxId::derive(&address, nonce).to_string(),
            })
        })
        .collect();
    check_fixture("inbox_ids.json", &json!({ "cases": cases }));
}

#[test]
fn signature_text_and_signing_hash_are_stable() {
    let unsigned = fixed_unsigned_update();
    let update = fixed_update();
    let text = unsigned.signature_text();
    let actual = json!({
        "wallet_address": alice().address().to_checksum(None),
        "installation_seed": hex::encode(PHONE_SEED),
        "installation_key": phone().public_key().to_string(),
        "inbox_id": unsigned.inbox_id.to_string(),
        "client_timestamp_ns": unsigned.client_timestamp_ns,
        "signature_text": text,
        "signing_hash": hex::encode(unsigned.signing_hash()),
        "eip191_hash": hex::encode(alloy_primitives::eip191_hash_message(&text)),
        "wallet_signature": hex::encode(alice().sign_text(&text)),
        "installation_signature": hex::encode(phone().sign_update(&unsigned)),
        "signed_update_proto": hex::encode(update.to_proto().encode_to_vec()),
    });
    check_fixture("identity_update.json", &actual);
}

#[test]
fn signature_text_reads_as_documented() {
    let text = fixed_unsigned_update().signature_text();
    let expected = format!(
        "ARX identity update\n\
         \n\
         Inbox: {inbox}\n\
         Time: 2023-11-14T22:13:20.123456789Z\n\
         \n\
         1. Create this inbox with wallet {alice} as its first wallet and recovery address (nonce 0)\n\
         2. Add installation {phone} (a device), approved by wallet {alice}\n\
         3. Add wallet {bob}, approved by installation {phone}\n\
         4. Change the recovery address to wallet {bob}\n\
         5. Revoke wallet {alice} and every installation it added\n\
         \n\
         Only sign this if you started it in ARX.",
        inbox = InboxId::derive(&alice().address(), 0),
        alice = ANVIL_0,
        bob = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        phone = phone().public_key(),
    );
    assert_eq!(text, expected);
}

#[test]
fn signature_text_pads_nanoseconds_to_nine_digits() {
    let mut unsigned = fixed_unsigned_update();
    unsigned.client_timestamp_ns = 1_000_000_000;
    assert!(unsigned
        .signature_text()
        .contains("\nTime: 1970-01-01T00:00:01.000000000Z\n"));
    unsigned.client_timestamp_ns = 1;
    assert!(unsigned
        .signature_text()
        .contains("\nTime: 1970-01-01T00:00:00.000000001Z\n"));
}

#[test]
fn envelope_hashes_and_node_signature_are_stable() {
    let client_envelope = b"arx known-answer client envelope".to_vec();
    let node = NodeKey::from_bytes(&[0x4e; 32]);
    let (sequence_id, received_at_ns) = (42u64, 1_700_000_000_987_654_321i64);
    let hash = client_envelope_hash(&client_envelope);
    let signing_hash = originator_signing_hash(node.node_id(), sequence_id, received_at_ns, &hash);
    let envelope = node.sign_envelope(sequence_id, received_at_ns, client_envelope.clone());
    verify_originator_envelope(&envelope, &node.public_key()).unwrap();
    assert_eq!(node_id_from_public_key(&node.public_key()), node.node_id());
    assert_eq!(envelope.client_envelope_hash, hash);

    let actual = json!({
        "client_envelope": hex::encode(&client_envelope),
        "client_envelope_hash": hex::encode(hash),
        "node_seed": hex::encode(node.to_bytes()),
        "node_public_key": hex::encode(node.public_key()),
        "node_id": node.node_id(),
        "sequence_id": sequence_id,
        "received_at_ns": received_at_ns,
        "originator_signing_hash": hex::encode(signing_hash),
        "signature": hex::encode(&envelope.signature),
    });
    check_fixture("envelope.json", &actual);
}

#[test]
fn originator_signing_hash_covers_every_field() {
    let hash = [7u8; 32];
    let base = originator_signing_hash(1, 2, 3, &hash);
    assert_ne!(base, originator_signing_hash(9, 2, 3, &hash));
    assert_ne!(base, originator_signing_hash(1, 9, 3, &hash));
    assert_ne!(base, originator_signing_hash(1, 2, 9, &hash));
    assert_ne!(base, originator_signing_hash(1, 2, 3, &[8u8; 32]));
}

#[tokio::test]
async fn persisted_association_state_still_loads() {
    let state = apply(None, &fixed_update()).await.unwrap();
    check_fixture(
        "association_state.json",
        &serde_json::to_value(&state).unwrap(),
    );
    let loaded: AssociationState =
        serde_json::from_value(read_fixture("association_state.json")).unwrap();
    assert_eq!(loaded, state);
}
