//! The rules `AssociationState::apply_update` enforces, one behaviour per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;

use arx_identity::{
    Action, Address, AssociationState, IdentityError, InboxId, MemberId, NoChainVerifier,
    Signature, SmartWalletVerifier, UnsignedAction, UnsignedIdentityUpdate, MAX_ACTIONS_PER_UPDATE,
    MAX_INSTALLATIONS, MAX_WALLETS,
};
use common::*;

// ---- creating an inbox ----

#[tokio::test]
async fn creating_inbox_makes_first_wallet_a_member_and_the_recovery_address() {
    let alice = alice();
    let inbox = Inbox::create(&alice).await;
    assert_eq!(inbox.id(), InboxId::derive(&alice.address(), 0));
    assert_eq!(inbox.state.wallets(), vec![alice.address()]);
    assert!(inbox.state.installations().is_empty());
    assert_eq!(inbox.state.recovery_address(), alice.address());
    assert!(inbox.state.has_wallet(&alice.address()));
    assert_eq!(
        inbox.state.member(&wallet_member(&alice)).unwrap().added_by,
        None
    );
}

#[tokio::test]
async fn first_update_that_does_not_create_is_inbox_not_found() {
    let (alice, phone) = (alice(), phone());
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![add(&phone, &alice)],
    };
    let update = sign(unsigned, &[&alice, &phone], None);
    assert_code(apply(None, &update).await, "identity.inbox_not_found");
}

#[tokio::test]
async fn creating_an_existing_inbox_is_inbox_exists() {
    let alice = alice();
    let mut inbox = Inbox::create(&alice).await;
    let update = inbox.update(vec![create_action(&alice, 0)], &[&alice]);
    assert_code(inbox.apply(update).await, "identity.inbox_exists");

    // Also within the update that creates it.
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![create_action(&alice, 0), create_action(&alice, 0)],
    };
    assert_code(
        apply(None, &sign(unsigned, &[&alice], None)).await,
        "identity.inbox_exists",
    );
}

#[tokio::test]
async fn create_naming_another_inbox_id_is_inbox_id_mismatch() {
    let alice = alice();
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 1),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![create_action(&alice, 0)],
    };
    let err = apply(None, &sign(unsigned, &[&alice], None))
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "identity.inbox_id_mismatch");
    assert!(!err.retryable());
}

#[tokio::test]
async fn update_for_another_inbox_is_inbox_id_mismatch() {
    let (alice, bob) = (alice(), bob());
    let mut alices = Inbox::create(&alice).await;
    let bobs = Inbox::create(&bob).await;
    let update = alices.update(vec![add(&carol(), &alice)], &[&alice, &carol()]);
    assert_ne!(update.inbox_id, bobs.id());
    assert_code(
        apply(Some(&bobs.state), &update).await,
        "identity.inbox_id_mismatch",
    );
}

#[tokio::test]
async fn create_signed_by_another_wallet_is_signature_invalid() {
    let (alice, mallory) = (alice(), mallory());
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![create_action(&alice, 0)],
    };
    let forged = Signature::Eip191(mallory.sign_text(&unsigned.signature_text()));
    let update = unsigned
        .attach(&[(wallet_member(&alice), forged)], None)
        .unwrap();
    assert_code(apply(None, &update).await, "identity.signature_invalid");
}

// ---- update shape ----

#[tokio::test]
async fn empty_update_is_malformed() {
    let mut inbox = Inbox::create(&alice()).await;
    let update = inbox.update(vec![], &[]);
    assert_code(inbox.apply(update).await, "identity.malformed");
}

#[tokio::test]
async fn update_without_a_positive_timestamp_is_malformed() {
    let alice = alice();
    for timestamp in [0, -1] {
        let unsigned = UnsignedIdentityUpdate {
            inbox_id: InboxId::derive(&alice.address(), 0),
            client_timestamp_ns: timestamp,
            actions: vec![create_action(&alice, 0)],
        };
        let err = apply(None, &sign(unsigned, &[&alice], None))
            .await
            .unwrap_err();
        assert_eq!(err.code().as_str(), "identity.malformed");
        assert!(err.to_string().contains("client_timestamp_ns"), "{err}");
    }
}

#[tokio::test]
async fn update_with_too_many_actions_is_refused() {
    let alice = alice();
    let mut inbox = Inbox::create(&alice).await;
    let actions = vec![change_recovery(&alice); MAX_ACTIONS_PER_UPDATE + 1];
    let update = inbox.update(actions, &[&alice]);
    assert_code(inbox.apply(update).await, "identity.too_many_actions");

    let actions = vec![change_recovery(&alice); MAX_ACTIONS_PER_UPDATE];
    inbox.act(actions, &[&alice]).await.unwrap();
}

// ---- signatures ----

#[tokio::test]
async fn forged_installation_signature_is_signature_invalid() {
    let (alice, phone, laptop) = (alice(), phone(), laptop());
    let mut inbox = Inbox::create(&alice).await;
    let unsigned = inbox.unsigned(vec![add(&phone, &alice)]);
    let signatures = [
        (wallet_member(&alice), alice.signature(&unsigned)),
        // The laptop signs in the phone's place.
        (installation_member(&phone), laptop.signature(&unsigned)),
    ];
    let update = unsigned.attach(&signatures, None).unwrap();
    assert_code(inbox.apply(update).await, "identity.signature_invalid");
    assert!(!inbox.state.has_installation(&phone.public_key()));
}

#[tokio::test]
async fn signature_over_another_update_is_signature_invalid() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let other = inbox.unsigned(vec![add(&laptop(), &alice)]);
    let unsigned = inbox.unsigned(vec![add(&phone, &alice)]);
    let signatures = [
        (wallet_member(&alice), alice.signature(&other)),
        (installation_member(&phone), phone.signature(&unsigned)),
    ];
    let update = unsigned.attach(&signatures, None).unwrap();
    assert_code(inbox.apply(update).await, "identity.signature_invalid");
}

#[tokio::test]
async fn tampered_timestamp_invalidates_every_signature() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let mut update = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    update.client_timestamp_ns += 1;
    assert_code(inbox.apply(update).await, "identity.signature_invalid");
}

#[tokio::test]
async fn wallet_signature_in_an_installation_slot_is_signature_invalid() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let mut update = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    let Action::AddAssociation {
        new_member_signature,
        existing_member_signature,
        ..
    } = &mut update.actions[0]
    else {
        unreachable!()
    };
    *new_member_signature = existing_member_signature.clone();
    assert_code(inbox.apply(update).await, "identity.signature_invalid");
}

#[tokio::test]
async fn replayed_update_is_signature_replayed() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let update = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    inbox.apply(update.clone()).await.unwrap();
    assert_code(inbox.apply(update).await, "identity.signature_replayed");

    // The creating update too: replay is checked before anything else.
    let create = inbox.log[0].clone();
    assert_code(inbox.apply(create).await, "identity.signature_replayed");
}

#[tokio::test]
async fn replay_after_revocation_cannot_re_add_a_member() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let add_phone = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    inbox.apply(add_phone.clone()).await.unwrap();
    inbox.act(vec![revoke(&phone)], &[&alice]).await.unwrap();
    assert_code(inbox.apply(add_phone).await, "identity.signature_replayed");
    assert!(!inbox.state.has_installation(&phone.public_key()));
}

#[tokio::test]
async fn signature_reused_in_a_new_update_is_signature_replayed() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let first = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    let Action::AddAssociation {
        existing_member_signature: old,
        ..
    } = first.actions[0].clone()
    else {
        unreachable!()
    };
    inbox.apply(first).await.unwrap();

    let unsigned = inbox.unsigned(vec![add(&laptop(), &alice)]);
    let signatures = [
        (wallet_member(&alice), old),
        (
            installation_member(&laptop()),
            laptop().signature(&unsigned),
        ),
    ];
    let update = unsigned.attach(&signatures, None).unwrap();
    assert_code(inbox.apply(update).await, "identity.signature_replayed");
}

#[tokio::test]
async fn re_encoded_wallet_signature_is_still_a_replay() {
    let (alice, bob) = (alice(), bob());
    let mut inbox = Inbox::create(&alice).await;
    let update = inbox.update(vec![add(&bob, &alice)], &[&alice, &bob]);
    inbox.apply(update.clone()).await.unwrap();
    inbox.act(vec![revoke(&bob)], &[&alice]).await.unwrap();

    // Same signatures with v written as 0/1 instead of 27/28.
    let mut replay = update;
    for action in &mut replay.actions {
        if let Action::AddAssociation {
            existing_member_signature,
            new_member_signature,
            ..
        } = action
        {
            for sig in [existing_member_signature, new_member_signature] {
                if let Signature::Eip191(bytes) = sig {
                    bytes[64] -= 27;
                }
            }
        }
    }
    assert_code(inbox.apply(replay).await, "identity.signature_replayed");
}

/// The other valid ECDSA signature for the same message: `s` -> `n - s`, parity flipped.
fn high_s_twin(sig: &[u8; 65]) -> [u8; 65] {
    use alloy_primitives::U256;
    let n: U256 = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        .parse()
        .unwrap();
    let s = U256::from_be_slice(&sig[32..64]);
    let mut twin = *sig;
    twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    twin[64] = if sig[64] == 27 { 28 } else { 27 };
    twin
}

#[tokio::test]
async fn re_encodings_of_a_used_wallet_signature_count_as_the_same_signature() {
    let (alice, bob, carol) = (alice(), bob(), carol());
    let mut inbox = Inbox::create(&alice).await;
    let first = inbox.update(vec![add(&bob, &alice)], &[&alice, &bob]);
    let Action::AddAssociation {
        existing_member_signature: Signature::Eip191(old),
        ..
    } = first.actions[0].clone()
    else {
        unreachable!()
    };
    inbox.apply(first.clone()).await.unwrap();

    // The high-s twin recovers to the same wallet over the same text.
    let twin = high_s_twin(&old);
    assert_ne!(twin, old);
    let text = first.unsigned().signature_text();
    assert_eq!(
        arx_identity::recover_eip191(&text, &twin).unwrap(),
        alice.address()
    );

    let mut parity_bit = old;
    parity_bit[64] -= 27;
    for reused in [twin, parity_bit] {
        let unsigned = inbox.unsigned(vec![add(&carol, &alice)]);
        let signatures = [
            (wallet_member(&alice), Signature::Eip191(reused)),
            (wallet_member(&carol), carol.signature(&unsigned)),
        ];
        let update = unsigned.attach(&signatures, None).unwrap();
        assert_code(inbox.apply(update).await, "identity.signature_replayed");
    }
}

#[tokio::test]
async fn wallet_signature_with_parity_bit_v_is_accepted() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let mut update = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    if let Action::AddAssociation {
        existing_member_signature: Signature::Eip191(bytes),
        ..
    } = &mut update.actions[0]
    {
        bytes[64] -= 27;
    }
    inbox.apply(update).await.unwrap();
}

#[tokio::test]
async fn one_signature_may_fill_several_slots_of_an_update() {
    let (alice, phone, laptop) = (alice(), phone(), laptop());
    let mut inbox = Inbox::create(&alice).await;
    // Alice signs once for both additions.
    inbox
        .act(
            vec![add(&phone, &alice), add(&laptop, &alice)],
            &[&alice, &phone, &laptop],
        )
        .await
        .unwrap();
    assert_eq!(inbox.state.installations().len(), 2);
}

#[tokio::test]
async fn smart_wallet_signature_without_a_chain_is_unsupported() {
    let alice = alice();
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![create_action(&alice, 0)],
    };
    let sig = Signature::SmartWallet {
        chain_id: 1,
        block_number: 100,
        signature: vec![1, 2, 3],
    };
    let update = unsigned
        .attach(&[(wallet_member(&alice), sig)], None)
        .unwrap();
    let err = AssociationState::apply_update(None, &update, &NoChainVerifier)
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "identity.smart_wallet_unsupported");
    assert!(!err.retryable());
    assert_eq!(err.to_string(), "smart-contract wallets need a chain RPC");
}

/// A chain where one contract wallet accepts exactly the signature `b"ok"`.
struct FakeChain {
    account: Address,
    reachable: bool,
    seen: Mutex<Vec<(u64, u64, [u8; 32])>>,
}

#[async_trait::async_trait]
impl SmartWalletVerifier for FakeChain {
    async fn verify(
        &self,
        account: Address,
        chain_id: u64,
        block_number: u64,
        message_hash: [u8; 32],
        signature: &[u8],
    ) -> Result<(), IdentityError> {
        if !self.reachable {
            return Err(IdentityError::ChainUnavailable("connection refused".into()));
        }
        self.seen
            .lock()
            .unwrap()
            .push((chain_id, block_number, message_hash));
        if account == self.account && signature.starts_with(b"ok") {
            Ok(())
        } else {
            Err(IdentityError::SignatureInvalid("contract said no".into()))
        }
    }
}

#[tokio::test]
async fn smart_wallet_signature_is_checked_by_the_verifier_over_the_eip191_hash() {
    let contract = Address::repeat_byte(0xcc);
    let chain = FakeChain {
        account: contract,
        reachable: true,
        seen: Mutex::default(),
    };
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&contract, 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![UnsignedAction::CreateInbox {
            initial_address: contract,
            nonce: 0,
        }],
    };
    let expected_hash = alloy_primitives::eip191_hash_message(unsigned.signature_text()).0;
    let sig = Signature::SmartWallet {
        chain_id: 8453,
        block_number: 7,
        signature: b"ok".to_vec(),
    };
    let update = unsigned
        .clone()
        .attach(&[(MemberId::Wallet(contract), sig)], None)
        .unwrap();
    let state = AssociationState::apply_update(None, &update, &chain)
        .await
        .unwrap();
    assert!(state.has_wallet(&contract));
    assert_eq!(
        chain.seen.lock().unwrap().as_slice(),
        &[(8453, 7, expected_hash)]
    );

    let refused = Signature::SmartWallet {
        chain_id: 8453,
        block_number: 7,
        signature: b"no".to_vec(),
    };
    let update = unsigned
        .attach(&[(MemberId::Wallet(contract), refused)], None)
        .unwrap();
    assert_code(
        AssociationState::apply_update(None, &update, &chain).await,
        "identity.signature_invalid",
    );

    let down = FakeChain {
        account: contract,
        reachable: false,
        seen: Mutex::default(),
    };
    let err = AssociationState::apply_update(None, &update, &down)
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "identity.chain_unavailable");
    assert!(err.retryable());
}

// ---- adding members ----

#[tokio::test]
async fn wallet_adds_installation_which_records_who_added_it() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
    assert_eq!(inbox.state.installations(), vec![phone.public_key()]);
    assert_eq!(
        inbox
            .state
            .member(&installation_member(&phone))
            .unwrap()
            .added_by,
        Some(wallet_member(&alice))
    );
}

#[tokio::test]
async fn installation_and_wallet_can_each_add_a_wallet() {
    let (alice, bob, carol, phone) = (alice(), bob(), carol(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
    inbox
        .act(vec![add(&bob, &phone)], &[&phone, &bob])
        .await
        .unwrap();
    inbox
        .act(vec![add(&carol, &bob)], &[&bob, &carol])
        .await
        .unwrap();
    let mut wallets = vec![alice.address(), bob.address(), carol.address()];
    wallets.sort();
    assert_eq!(inbox.state.wallets(), wallets);
    assert_eq!(
        inbox.state.member(&wallet_member(&bob)).unwrap().added_by,
        Some(installation_member(&phone))
    );
}

#[tokio::test]
async fn installation_cannot_add_an_installation() {
    let (alice, phone, laptop) = (alice(), phone(), laptop());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
    let update = inbox.update(vec![add(&laptop, &phone)], &[&phone, &laptop]);
    assert_code(inbox.apply(update).await, "identity.unauthorized");
}

#[tokio::test]
async fn adding_needs_the_new_members_own_signature() {
    let (alice, bob) = (alice(), bob());
    let mut inbox = Inbox::create(&alice).await;
    let unsigned = inbox.unsigned(vec![add(&bob, &alice)]);
    // Alice signs in bob's slot too.
    let alice_sig = alice.signature(&unsigned);
    let signatures = [
        (wallet_member(&alice), alice_sig.clone()),
        (wallet_member(&bob), alice_sig),
    ];
    let update = unsigned.attach(&signatures, None).unwrap();
    assert_code(inbox.apply(update).await, "identity.signature_invalid");
}

#[tokio::test]
async fn non_member_cannot_approve_an_addition() {
    let (alice, mallory, phone) = (alice(), mallory(), phone());
    let mut inbox = Inbox::create(&alice).await;
    let update = inbox.update(vec![add(&phone, &mallory)], &[&mallory, &phone]);
    assert_code(inbox.apply(update).await, "identity.not_member");
}

#[tokio::test]
async fn adding_a_member_twice_is_already_member() {
    let (alice, phone) = (alice(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
    let update = inbox.update(vec![add(&phone, &alice)], &[&alice, &phone]);
    assert_code(inbox.apply(update).await, "identity.already_member");
}

#[tokio::test]
async fn installations_are_limited() {
    let alice = alice();
    let mut inbox = Inbox::create(&alice).await;
    let devices: Vec<_> = (0..=MAX_INSTALLATIONS as u8).map(device).collect();
    for d in &devices[..MAX_INSTALLATIONS] {
        inbox.act(vec![add(d, &alice)], &[&alice, d]).await.unwrap();
    }
    let last = &devices[MAX_INSTALLATIONS];
    let update = inbox.update(vec![add(last, &alice)], &[&alice, last]);
    assert_code(inbox.apply(update).await, "identity.too_many_installations");

    // Revoking one makes room again.
    inbox
        .act(vec![revoke(&devices[0])], &[&alice])
        .await
        .unwrap();
    inbox
        .act(vec![add(last, &alice)], &[&alice, last])
        .await
        .unwrap();
}

#[tokio::test]
async fn wallets_are_limited() {
    let alice = alice();
    let mut inbox = Inbox::create(&alice).await;
    let wallets: Vec<_> = (1..=MAX_WALLETS as u8)
        .map(|n| arx_identity::LocalWallet::from_bytes(&[0x40 + n; 32]).unwrap())
        .collect();
    for w in &wallets[..MAX_WALLETS - 1] {
        inbox.act(vec![add(w, &alice)], &[&alice, w]).await.unwrap();
    }
    assert_eq!(inbox.state.wallets().len(), MAX_WALLETS);
    let last = &wallets[MAX_WALLETS - 1];
    let update = inbox.update(vec![add(last, &alice)], &[&alice, last]);
    assert_code(inbox.apply(update).await, "identity.too_many_wallets");
}

// ---- revoking ----

#[tokio::test]
async fn recovery_address_revokes_an_installation() {
    let (alice, phone, laptop) = (alice(), phone(), laptop());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(
            vec![add(&phone, &alice), add(&laptop, &alice)],
            &[&alice, &phone, &laptop],
        )
        .await
        .unwrap();
    inbox.act(vec![revoke(&phone)], &[&alice]).await.unwrap();
    assert_eq!(inbox.state.installations(), vec![laptop.public_key()]);
}

#[tokio::test]
async fn revoking_wallet_revokes_installations_it_added() {
    let (alice, bob, phone, laptop, tablet) = (alice(), bob(), phone(), laptop(), tablet());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(
            vec![add(&bob, &alice), add(&phone, &alice)],
            &[&alice, &bob, &phone],
        )
        .await
        .unwrap();
    inbox
        .act(
            vec![add(&laptop, &bob), add(&tablet, &bob)],
            &[&bob, &laptop, &tablet],
        )
        .await
        .unwrap();
    // A wallet bob's laptop added stays: only installations follow their wallet.
    inbox
        .act(vec![add(&carol(), &laptop)], &[&laptop, &carol()])
        .await
        .unwrap();

    inbox.act(vec![revoke(&bob)], &[&alice]).await.unwrap();
    assert!(!inbox.state.has_wallet(&bob.address()));
    assert_eq!(inbox.state.installations(), vec![phone.public_key()]);
    assert!(inbox.state.has_wallet(&carol().address()));
}

#[tokio::test]
async fn only_the_recovery_address_may_revoke() {
    let (alice, bob, phone) = (alice(), bob(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(
            vec![add(&bob, &alice), add(&phone, &alice)],
            &[&alice, &bob, &phone],
        )
        .await
        .unwrap();

    // Bob is a member but not the recovery address.
    let unsigned = inbox.unsigned(vec![revoke(&phone)]);
    let by_bob = [(wallet_member(&alice), bob.signature(&unsigned))];
    let update = unsigned
        .clone()
        .attach(&by_bob, Some(alice.address()))
        .unwrap();
    assert_code(inbox.apply(update).await, "identity.unauthorized");

    // An installation cannot sign for the recovery address.
    let mut update = sign(unsigned.clone(), &[&alice], Some(alice.address()));
    let Action::RevokeAssociation {
        recovery_address_signature,
        ..
    } = &mut update.actions[0]
    else {
        unreachable!()
    };
    *recovery_address_signature = phone.signature(&unsigned);
    assert_code(inbox.apply(update).await, "identity.unauthorized");
    assert!(inbox.state.has_installation(&phone.public_key()));
}

#[tokio::test]
async fn revoking_a_non_member_is_not_member() {
    let alice = alice();
    let mut inbox = Inbox::create(&alice).await;
    let update = inbox.update(vec![revoke(&phone())], &[&alice]);
    assert_code(inbox.apply(update).await, "identity.not_member");
}

#[tokio::test]
async fn revoking_then_using_a_member_in_the_same_update_is_not_member() {
    let (alice, bob, phone) = (alice(), bob(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&bob, &alice)], &[&alice, &bob])
        .await
        .unwrap();
    let update = inbox.update(
        vec![revoke(&bob), add(&phone, &bob)],
        &[&alice, &bob, &phone],
    );
    assert_code(inbox.apply(update).await, "identity.not_member");
}

// ---- recovery address ----

#[tokio::test]
async fn recovery_change_then_revoke_by_the_new_recovery_address() {
    let (alice, bob, carol, phone) = (alice(), bob(), carol(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
    // Carol is not a member; she only holds recovery.
    inbox
        .act(vec![change_recovery(&carol)], &[&alice])
        .await
        .unwrap();
    assert_eq!(inbox.state.recovery_address(), carol.address());

    // The old recovery address no longer may.
    let update = sign(
        inbox.unsigned(vec![revoke(&phone)]),
        &[&alice],
        Some(alice.address()),
    );
    assert_code(inbox.apply(update).await, "identity.unauthorized");

    inbox.act(vec![revoke(&phone)], &[&carol]).await.unwrap();
    assert!(inbox.state.installations().is_empty());

    inbox
        .act(vec![change_recovery(&bob), revoke(&alice)], &[&carol, &bob])
        .await
        .unwrap();
    assert!(inbox.state.wallets().is_empty());
    assert_eq!(inbox.state.recovery_address(), bob.address());
}

#[tokio::test]
async fn only_the_recovery_address_may_change_it() {
    let (alice, bob) = (alice(), bob());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&bob, &alice)], &[&alice, &bob])
        .await
        .unwrap();
    let update = sign(
        inbox.unsigned(vec![change_recovery(&bob)]),
        &[&bob],
        Some(bob.address()),
    );
    assert_code(inbox.apply(update).await, "identity.unauthorized");
    assert_eq!(inbox.state.recovery_address(), alice.address());
}

#[tokio::test]
async fn the_whole_known_answer_update_applies() {
    let state = apply(None, &fixed_update()).await.unwrap();
    // Bob revoked alice, and with her the phone she added; bob (added by the phone) stays.
    assert_eq!(state.wallets(), vec![bob().address()]);
    assert!(state.installations().is_empty());
    assert_eq!(state.recovery_address(), bob().address());
}

// ---- atomicity and folding ----

#[tokio::test]
async fn a_failing_action_rejects_the_whole_update() {
    let (alice, phone, laptop) = (alice(), phone(), laptop());
    let mut inbox = Inbox::create(&alice).await;
    let before = inbox.state.clone();
    let update = inbox.update(
        vec![add(&phone, &alice), add(&laptop, &phone)],
        &[&alice, &phone, &laptop],
    );
    assert_code(inbox.apply(update).await, "identity.unauthorized");
    assert_eq!(inbox.state, before);
    // The same first action alone is fine afterwards.
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
}

#[tokio::test]
async fn folding_the_log_gives_the_same_state_as_applying_it_step_by_step() {
    let (alice, bob, phone) = (alice(), bob(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(vec![add(&phone, &alice)], &[&alice, &phone])
        .await
        .unwrap();
    inbox
        .act(vec![add(&bob, &phone)], &[&phone, &bob])
        .await
        .unwrap();
    inbox.act(vec![revoke(&alice)], &[&alice]).await.unwrap();
    let folded = AssociationState::fold(&inbox.log, &NoChainVerifier)
        .await
        .unwrap();
    assert_eq!(folded, Some(inbox.state.clone()));
    assert_eq!(
        AssociationState::fold([], &NoChainVerifier).await.unwrap(),
        None
    );

    let mut out_of_order = inbox.log.clone();
    out_of_order.swap(0, 1);
    assert_code(
        AssociationState::fold(&out_of_order, &NoChainVerifier).await,
        "identity.inbox_not_found",
    );
}

#[test]
fn apply_update_future_is_send() {
    fn assert_send<T: Send>(_: T) {}
    let update = fixed_update();
    assert_send(AssociationState::apply_update(
        None,
        &update,
        &NoChainVerifier,
    ));
    assert_send(AssociationState::fold([&update], &NoChainVerifier));
}

// ---- required signers and attach ----

#[test]
fn required_signers_are_deduplicated_in_order_of_first_appearance() {
    let unsigned = fixed_unsigned_update();
    assert_eq!(
        unsigned.required_signers(None),
        vec![
            wallet_member(&alice()),
            installation_member(&phone()),
            wallet_member(&bob())
        ]
    );
}

#[tokio::test]
async fn required_signers_take_the_recovery_address_from_the_current_state() {
    let (alice, bob, phone) = (alice(), bob(), phone());
    let mut inbox = Inbox::create(&alice).await;
    inbox
        .act(
            vec![add(&phone, &alice), change_recovery(&bob)],
            &[&alice, &phone],
        )
        .await
        .unwrap();
    let unsigned = inbox.unsigned(vec![
        revoke(&phone),
        change_recovery(&carol()),
        revoke(&alice),
    ]);
    assert_eq!(
        unsigned.required_signers(Some(&inbox.state)),
        vec![wallet_member(&bob), wallet_member(&carol())]
    );
    // Without a state the recovery address of the first two actions is unknown.
    assert_eq!(
        unsigned.required_signers(None),
        vec![wallet_member(&carol())]
    );
}

#[test]
fn attach_names_the_missing_signer() {
    let unsigned = fixed_unsigned_update();
    let err = unsigned
        .attach(
            &[(
                wallet_member(&alice()),
                alice().signature(&fixed_unsigned_update()),
            )],
            None,
        )
        .unwrap_err();
    assert_eq!(err.code().as_str(), "identity.malformed");
    assert!(
        err.to_string()
            .contains(&installation_member(&phone()).to_string()),
        "{err}"
    );
}

#[test]
fn attach_needs_the_recovery_address_for_revocations() {
    let alice = alice();
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![revoke(&phone())],
    };
    let signatures = [(wallet_member(&alice), alice.signature(&unsigned))];
    let err = unsigned.clone().attach(&signatures, None).unwrap_err();
    assert_eq!(err.code().as_str(), "identity.malformed");
    assert!(err.to_string().contains("recovery address"), "{err}");
    unsigned.attach(&signatures, Some(alice.address())).unwrap();
}

#[test]
fn attach_refuses_a_signature_of_the_wrong_kind() {
    let (alice, phone) = (alice(), phone());
    let unsigned = UnsignedIdentityUpdate {
        inbox_id: InboxId::derive(&alice.address(), 0),
        client_timestamp_ns: FIXED_TIMESTAMP_NS,
        actions: vec![add(&phone, &alice)],
    };
    let signatures = [
        (wallet_member(&alice), phone.signature(&unsigned)),
        (installation_member(&phone), phone.signature(&unsigned)),
    ];
    assert_code(unsigned.attach(&signatures, None), "identity.malformed");
}

#[test]
fn attached_update_unsigns_to_what_was_signed() {
    let update = fixed_update();
    assert_eq!(update.unsigned(), fixed_unsigned_update());
    assert_eq!(update.actions.len(), 5);
}
