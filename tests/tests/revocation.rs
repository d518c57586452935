//! A lost device: revoked with the wallet from another device, it is removed from every group
//! it was in, cannot read what is sent after, and newcomers can still join those groups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arx_core::{ConversationState, CoreCode, ErrorCode, LocalWalletSigner};
use arx_e2e::TestNode;
use arx_identity::LocalWallet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_leaves_every_group_reads_nothing_new_and_joins_still_work() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let lost = tcm.second_device(&alice).await;
    let bob = tcm.bob().await;
    let dave = tcm.person("dave").await;

    // A group and a DM, both with alice's two devices in them.
    let group = alice.group_with(&[&bob]).await;
    lost.sync().await.unwrap();
    let dm = arx_e2e::open_dm(&alice, &bob.inbox).await;
    bob.sync().await.unwrap();
    lost.sync().await.unwrap();
    for id in [&group, &dm] {
        bob.send_recv(&lost, id, "before").await;
    }
    assert_eq!(alice.devices().await.unwrap().len(), 2);

    // Revoked from alice's other device, with her wallet.
    let wallet = LocalWalletSigner(LocalWallet::from_bytes(&alice.wallet.to_bytes()).unwrap());
    let revoked = alice
        .revoke_installation(&wallet, &lost.installation_key())
        .await
        .unwrap();
    assert_eq!(revoked.removed_from, 2, "{revoked:?}");
    assert!(revoked.failed.is_empty());
    let devices = alice.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].this_device);

    // Everyone else follows; the lost device is out of both, and what follows is not for it.
    bob.sync().await.unwrap();
    for id in [&group, &dm] {
        bob.send_recv(&alice, id, "after").await;
    }
    lost.sync().await.unwrap();
    for id in [&group, &dm] {
        let texts = lost.texts(id).await;
        assert!(!texts.contains(&"after".to_owned()), "{texts:?}");
        assert_eq!(
            lost.conversation(id).summary().await.unwrap().state,
            ConversationState::Removed
        );
        let members = bob.conversation(id).members().await.unwrap();
        assert!(members.iter().all(|(_, k)| *k != lost.installation_key()));
    }
    // It cannot speak there any more either.
    assert!(lost
        .conversation(&group)
        .send_text("still here?")
        .await
        .is_err());
    bob.sync().await.unwrap();
    assert!(!bob.texts(&group).await.contains(&"still here?".to_owned()));

    // A newcomer joins the group and everyone is on one epoch.
    alice
        .conversation(&group)
        .add_members(&[dave.inbox])
        .await
        .unwrap();
    dave.sync().await.unwrap();
    bob.sync().await.unwrap();
    bob.send_recv(&dave, &group, "welcome dave").await;
    dave.send_recv(&alice, &group, "thanks").await;
    let epochs = [
        alice.conversation(&group).epoch().await.unwrap(),
        bob.conversation(&group).epoch().await.unwrap(),
        dave.conversation(&group).epoch().await.unwrap(),
    ];
    assert!(epochs.iter().all(|e| *e == epochs[0]), "{epochs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_recovery_wallet_revokes_and_not_the_device_in_use() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let other = tcm.second_device(&alice).await;
    let mallory = tcm.person("mallory").await;

    let own = LocalWalletSigner(LocalWallet::from_bytes(&alice.wallet.to_bytes()).unwrap());
    let err = alice
        .revoke_installation(&own, &alice.installation_key())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::InvalidInput));
    let err = alice
        .revoke_installation(&own, &mallory.installation_key())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::InvalidInput));
    let stranger = LocalWalletSigner(LocalWallet::from_bytes(&mallory.wallet.to_bytes()).unwrap());
    let err = alice
        .revoke_installation(&stranger, &other.installation_key())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::NotPermitted));
    assert_eq!(alice.devices().await.unwrap().len(), 2);
}
