//! Conversion between the domain types and the `arx-proto` wire types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arx_identity::{IdentityUpdate, Signature};
use arx_proto::{identity_action, identity_signature, member_identifier};
use common::*;
use prost::Message as _;

fn fixed_proto() -> arx_proto::IdentityUpdate {
    fixed_update().to_proto()
}

#[test]
fn identity_update_round_trips_through_proto_and_bytes() {
    let update = fixed_update();
    assert_eq!(
        IdentityUpdate::from_proto(&update.to_proto()).unwrap(),
        update
    );
    let bytes = update.to_proto().encode_to_vec();
    let decoded = arx_proto::IdentityUpdate::decode(bytes.as_slice()).unwrap();
    assert_eq!(IdentityUpdate::from_proto(&decoded).unwrap(), update);
}

#[test]
fn every_signature_kind_round_trips() {
    let signatures = [
        Signature::Eip191([0x1b; 65]),
        Signature::SmartWallet {
            chain_id: 8453,
            block_number: 19,
            signature: vec![1, 2, 3],
        },
        Signature::Installation([0x2c; 64]),
    ];
    for sig in signatures {
        assert_eq!(Signature::from_proto(&sig.to_proto()).unwrap(), sig);
    }
}

/// Applies `edit` to the known-answer update's wire form and expects `identity.malformed`
/// mentioning `needle`.
#[track_caller]
fn assert_malformed(edit: impl FnOnce(&mut arx_proto::IdentityUpdate), needle: &str) {
    let mut proto = fixed_proto();
    edit(&mut proto);
    let err = IdentityUpdate::from_proto(&proto).unwrap_err();
    assert_eq!(err.code().as_str(), "identity.malformed", "{err}");
    assert!(
        err.to_string().contains(needle),
        "{err:?} should mention {needle:?}"
    );
}

fn create(proto: &mut arx_proto::IdentityUpdate) -> &mut arx_proto::CreateInbox {
    match proto.actions[0].kind.as_mut().unwrap() {
        identity_action::Kind::CreateInbox(c) => c,
        _ => unreachable!(),
    }
}

fn add_installation(proto: &mut arx_proto::IdentityUpdate) -> &mut arx_proto::AddAssociation {
    match proto.actions[1].kind.as_mut().unwrap() {
        identity_action::Kind::AddAssociation(a) => a,
        _ => unreachable!(),
    }
}

#[test]
fn wrong_inbox_id_length_is_malformed() {
    assert_malformed(|p| p.inbox_id.truncate(31), "inbox id must be 32 bytes");
}

#[test]
fn wrong_address_length_is_malformed() {
    assert_malformed(
        |p| create(p).initial_address.push(0),
        "wallet address must be 20 bytes",
    );
    assert_malformed(
        |p| match p.actions[3].kind.as_mut().unwrap() {
            identity_action::Kind::ChangeRecoveryAddress(c) => c.new_recovery_address.clear(),
            _ => unreachable!(),
        },
        "wallet address must be 20 bytes",
    );
}

#[test]
fn missing_oneofs_and_fields_are_malformed() {
    assert_malformed(|p| p.actions[0].kind = None, "identity action has no kind");
    assert_malformed(
        |p| add_installation(p).new_member = None,
        "new_member is missing",
    );
    assert_malformed(
        |p| add_installation(p).existing_member = Some(arx_proto::MemberIdentifier { kind: None }),
        "member identifier has no kind",
    );
    assert_malformed(
        |p| create(p).initial_address_signature = None,
        "initial_address_signature is missing",
    );
    assert_malformed(
        |p| {
            add_installation(p).new_member_signature =
                Some(arx_proto::IdentitySignature { kind: None })
        },
        "identity signature has no kind",
    );
}

#[test]
fn bad_installation_key_is_malformed() {
    assert_malformed(
        |p| {
            add_installation(p).new_member = Some(arx_proto::MemberIdentifier {
                kind: Some(member_identifier::Kind::InstallationKey(vec![0xaa; 31])),
            })
        },
        "installation key must be 32 bytes",
    );
    // The identity point: 32 bytes, but of small order.
    let mut identity_point = vec![0u8; 32];
    identity_point[0] = 1;
    assert_malformed(
        |p| {
            add_installation(p).new_member = Some(arx_proto::MemberIdentifier {
                kind: Some(member_identifier::Kind::InstallationKey(identity_point)),
            })
        },
        "installation key",
    );
}

#[test]
fn wrong_signature_lengths_are_malformed() {
    assert_malformed(
        |p| {
            create(p).initial_address_signature = Some(arx_proto::IdentitySignature {
                kind: Some(identity_signature::Kind::Eip191(vec![0; 64])),
            })
        },
        "EIP-191 signature must be 65 bytes",
    );
    assert_malformed(
        |p| {
            add_installation(p).new_member_signature = Some(arx_proto::IdentitySignature {
                kind: Some(identity_signature::Kind::Installation(vec![0; 63])),
            })
        },
        "installation signature must be 64 bytes",
    );
    assert_malformed(
        |p| {
            create(p).initial_address_signature = Some(arx_proto::IdentitySignature {
                kind: Some(identity_signature::Kind::SmartWallet(
                    arx_proto::SmartWalletSignature {
                        chain_id: 1,
                        block_number: 1,
                        signature: vec![],
                    },
                )),
            })
        },
        "smart-wallet signature is empty",
    );
}
