//! Engine scenarios on the in-memory node: intents, races, echoes and apply, in milliseconds.
//! (The same behaviours run against the real node in `tests/`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{
    db::intents::IntentKind,
    error::{CoreCode, CoreError, ErrorCode},
    model::SyncSummary,
    testing::{Tcm, TestClient},
    ConversationState, Delivery, Role,
};

/// Opens the DM of `a` with `b`, waiting out `dm.converging` while the other side's creation
/// wins.
async fn dm(a: &TestClient, b: &TestClient) -> Vec<u8> {
    for _ in 0..40 {
        match a.client.dm(&b.inbox).await {
            Err(CoreError::DmConverging) => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await
            }
            other => return other.unwrap(),
        }
    }
    panic!("the DM never converged");
}

async fn state(p: &TestClient, group: &[u8]) -> ConversationState {
    p.client.conversation(group).summary().await.unwrap().state
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_reaches_every_member_in_order() {
    let tcm = Tcm::memory();
    let (alice, bob, carol) = (tcm.alice().await, tcm.bob().await, tcm.carol().await);
    let group = alice.group_with(&[&bob, &carol]).await;
    alice.send_recv(&bob, &group, "hello").await;
    bob.send_recv(&carol, &group, "hi").await;
    alice.client.sync().await.unwrap();
    assert_eq!(alice.texts(&group).await, ["hello", "hi"]);
    assert_eq!(carol.texts(&group).await, ["hello", "hi"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_own_echo_is_applied_once() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    let id = alice.conversation(&group).send_text("once").await.unwrap();
    let first = alice.client.sync().await.unwrap();
    let second = alice.client.sync().await.unwrap();
    assert_eq!(
        (first.messages, second.messages),
        (0, 0),
        "own echoes are no new messages"
    );
    let mine = alice.conversation(&group).messages().await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].id, mine[0].delivery), (id, Delivery::Sent));
    let intent = crate::db::intents::of_message(&alice.db, &id.to_be_bytes())
        .await
        .unwrap();
    assert_eq!(
        alice.intent_state(intent).await.unwrap(),
        crate::IntentState::Committed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_commit_race_is_rebuilt_on_the_new_epoch() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let (dave, erin) = (tcm.person("dave").await, tcm.person("erin").await);
    let group = alice.group_with(&[&bob]).await;
    alice
        .conversation(&group)
        .set_role(&bob.inbox, Role::Admin)
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    let epoch = bob.conversation(&group).epoch().await.unwrap();

    // Bob's add is built on this epoch and held on its way to the node while alice's add lands.
    bob.link().hold_publishes(true);
    let at_bob = bob.conversation(&group);
    let at_alice = alice.conversation(&group);
    let (to_erin, to_dave) = ([erin.inbox], [dave.inbox]);
    let (bobs, alices) = tokio::join!(at_bob.add_members(&to_erin), async {
        assert!(
            bob.link().publish_held().await,
            "bob's commit reached the node's door"
        );
        let added = at_alice.add_members(&to_dave).await;
        bob.link().hold_publishes(false);
        added
    });
    alices.unwrap();
    bobs.unwrap();
    // Creation, bob's role, alice's add, bob's add on the ended epoch, bob's add rebuilt.
    let topic = arx_identity::Topic::group(&group).unwrap();
    assert_eq!(
        tcm.node().unwrap().count(&topic),
        5,
        "bob's first commit lost the race"
    );
    for p in [&alice, &bob] {
        p.client.sync().await.unwrap();
    }
    for p in [&dave, &erin] {
        p.client.sync().await.unwrap();
    }
    let epochs = [
        alice.conversation(&group).epoch().await.unwrap(),
        bob.conversation(&group).epoch().await.unwrap(),
        dave.conversation(&group).epoch().await.unwrap(),
        erin.conversation(&group).epoch().await.unwrap(),
    ];
    assert_eq!(
        epochs,
        [epoch + 2; 4],
        "one epoch for everyone, two commits on"
    );
    assert_eq!(alice.conversation(&group).members().await.unwrap().len(), 4);
    erin.send_recv(&dave, &group, "we both made it").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_echoed_in_an_ended_epoch_is_encrypted_again_and_read_once() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    alice
        .conversation(&group)
        .set_role(&bob.inbox, Role::Admin)
        .await
        .unwrap();
    bob.client.sync().await.unwrap();

    bob.link().hold_publishes(true);
    let at_bob = bob.conversation(&group);
    let at_alice = alice.conversation(&group);
    let (sent, renamed) = tokio::join!(at_bob.send_text("across the rename"), async {
        assert!(bob.link().publish_held().await);
        let renamed = at_alice.rename("Plans").await;
        bob.link().hold_publishes(false);
        renamed
    });
    renamed.unwrap();
    sent.unwrap();
    bob.client.sync().await.unwrap();
    // Creation, bob's role, the rename, bob's message on the ended epoch, and again.
    let topic = arx_identity::Topic::group(&group).unwrap();
    assert_eq!(
        tcm.node().unwrap().count(&topic),
        5,
        "the first copy was encrypted again"
    );
    alice.client.sync().await.unwrap();
    assert_eq!(alice.texts(&group).await, ["across the rename"]);
    assert_eq!(bob.texts(&group).await, ["across the rename"]);
    let at_bob = bob.conversation(&group).messages().await.unwrap();
    assert_eq!(at_bob[0].delivery, Delivery::Sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dm_created_by_both_sides_at_once_converges_on_one_conversation() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let (a, b) = tokio::join!(dm(&alice, &bob), dm(&bob, &alice));
    assert_eq!(a, b);
    alice.send_recv(&bob, &a, "from alice").await;
    bob.send_recv(&alice, &a, "from bob").await;
    let convs = alice.conversations().await.unwrap();
    assert_eq!(convs.len(), 1, "one DM, not two");
    assert_eq!(convs[0].dm_peer, Some(bob.inbox));
    assert_eq!(dm(&alice, &bob).await, a, "asked again, the same DM");
}

#[tokio::test(flavor = "multi_thread")]
async fn queued_messages_leave_in_order_after_reconnecting() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    alice.link().set_offline(true);
    let at_alice = alice.conversation(&group);
    for text in ["one", "two", "three"] {
        at_alice.queue_text(text, false).await.unwrap();
    }
    let offline = at_alice.send_queued().await.unwrap_err();
    assert!(offline.retryable(), "{offline}");
    let stuck = at_alice.messages().await.unwrap();
    assert!(stuck.iter().all(|m| m.delivery != Delivery::Sent));

    alice.link().set_offline(false);
    at_alice.send_queued().await.unwrap();
    assert!(at_alice
        .messages()
        .await
        .unwrap()
        .iter()
        .all(|m| m.delivery == Delivery::Sent));
    bob.client.sync().await.unwrap();
    assert_eq!(bob.texts(&group).await, ["one", "two", "three"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_member_is_refused_from_sending_and_reads_nothing_after() {
    let tcm = Tcm::memory();
    let (alice, bob, carol) = (tcm.alice().await, tcm.bob().await, tcm.carol().await);
    let group = alice.group_with(&[&bob, &carol]).await;
    alice
        .conversation(&group)
        .remove_members(&[bob.inbox])
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    assert_eq!(state(&bob, &group).await, ConversationState::Removed);
    let refused = bob
        .conversation(&group)
        .send_text("still here?")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Core(CoreCode::NotAMember));
    alice.send_recv(&carol, &group, "after bob").await;
    bob.client.sync().await.unwrap();
    assert!(!bob.texts(&group).await.contains(&"after bob".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_who_is_not_an_admin_may_not_add_or_rename() {
    let tcm = Tcm::memory();
    let (alice, bob, carol) = (tcm.alice().await, tcm.bob().await, tcm.carol().await);
    let group = alice.group_with(&[&bob]).await;
    let at_bob = bob.conversation(&group);
    let add = at_bob.add_members(&[carol.inbox]).await.unwrap_err();
    let rename = at_bob.rename("mine now").await.unwrap_err();
    for refused in [add, rename] {
        assert_eq!(refused.code(), ErrorCode::Core(CoreCode::NotPermitted));
    }
    assert_eq!(alice.conversation(&group).members().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_is_left_once_an_admin_commits_it() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    bob.conversation(&group).leave().await.unwrap();
    assert_eq!(state(&bob, &group).await, ConversationState::Leaving);
    let again = bob.conversation(&group).leave().await.unwrap_err();
    assert_eq!(
        again.code(),
        ErrorCode::Core(CoreCode::NotAMember),
        "leaving is not active"
    );
    alice.client.sync().await.unwrap();
    alice.client.sync().await.unwrap();
    bob.client.sync().await.unwrap();
    assert_eq!(state(&bob, &group).await, ConversationState::Left);
    assert_eq!(alice.conversation(&group).members().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retrying_a_message_that_was_sent_changes_nothing() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    let id = alice.conversation(&group).send_text("sent").await.unwrap();
    alice.retry_message(id).await.unwrap();
    bob.client.sync().await.unwrap();
    assert_eq!(bob.texts(&group).await, ["sent"], "delivered once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_message_is_sent_again_by_retry() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    alice.link().set_offline(true);
    let failed = alice
        .conversation(&group)
        .send_text("later")
        .await
        .unwrap_err();
    assert!(failed.retryable());
    let id = alice.conversation(&group).messages().await.unwrap()[0].id;
    assert_eq!(alice.message(id).await.unwrap().delivery, Delivery::Failed);
    alice.link().set_offline(false);
    alice.retry_message(id).await.unwrap();
    assert_eq!(alice.message(id).await.unwrap().delivery, Delivery::Sent);
    bob.client.sync().await.unwrap();
    assert_eq!(bob.texts(&group).await, ["later"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sync_applies_nothing_and_a_welcome_joins_once() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let created = alice
        .create_group(Some("once"), &[bob.inbox])
        .await
        .unwrap();
    let first = bob.client.sync().await.unwrap();
    assert_eq!(first.groups_joined, 1);
    let second = bob.client.sync().await.unwrap();
    assert_eq!(second, SyncSummary::default());
    let listed = bob.conversation(&created.group_id).summary().await.unwrap();
    assert_eq!(listed.name.as_deref(), Some("once"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_engine_resumes_from_its_cursors() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    alice.send_recv(&bob, &group, "before").await;
    let dir = bob.dir.path().to_owned();
    drop(bob.client);
    alice
        .conversation(&group)
        .send_text("while away")
        .await
        .unwrap();
    let again = tcm.open(&dir).await;
    let summary = again.sync().await.unwrap();
    assert_eq!(summary.messages, 1, "only what came while it was away");
    let texts: Vec<String> = again
        .conversation(&group)
        .messages()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["before", "while away"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_counts_messages_from_others_until_marked_read() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    for text in ["a", "b"] {
        alice.send_recv(&bob, &group, text).await;
    }
    bob.conversation(&group).send_text("mine").await.unwrap();
    assert_eq!(bob.conversation(&group).summary().await.unwrap().unread, 2);
    bob.conversation(&group).mark_read().await.unwrap();
    assert_eq!(bob.conversation(&group).summary().await.unwrap().unread, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_of_messages_go_back_in_time_without_gaps() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    let at_alice = alice.conversation(&group);
    for i in 0..5 {
        at_alice.send_text(&format!("m{i}")).await.unwrap();
    }
    let (newest, more) = at_alice.messages_page(None, 2).await.unwrap();
    assert!(more);
    let (older, _) = at_alice.messages_page(Some(newest[0].id), 3).await.unwrap();
    let texts: Vec<&str> = older
        .iter()
        .chain(&newest)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_device_of_an_inbox_is_added_with_it_and_reads_the_group() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let bob_laptop = tcm.second_device(&bob).await;
    assert_eq!(bob_laptop.inbox, bob.inbox);
    let group = alice.group_with(&[&bob, &bob_laptop]).await;
    assert_eq!(alice.conversation(&group).members().await.unwrap().len(), 3);
    alice.send_recv(&bob_laptop, &group, "both of you").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_installation_is_told_to_register() {
    let tcm = Tcm::memory();
    let dir = tempfile::tempdir().unwrap();
    let client = tcm.open(dir.path()).await;
    let refused = client.sync().await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Core(CoreCode::NotRegistered));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_intent_keeps_its_code() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let group = alice.group_with(&[&bob]).await;
    let mut tx = alice.write_tx().await.unwrap();
    let id = crate::intents::insert_intent(&mut tx, &group, IntentKind::Rename, b"x")
        .await
        .unwrap();
    crate::intents::fail_intent(&mut tx, id, CoreCode::GaveUp.into(), "gave up")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        alice.intent_state(id).await.unwrap(),
        crate::IntentState::Failed {
            code: CoreCode::GaveUp.into(),
            message: "gave up".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_used_key_package_is_rotated_and_deleted_after_its_grace_period() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    assert_eq!(crate::db::key_packages::count(&bob.db).await.unwrap(), 1);
    // Alice's welcome uses bob's key package; joining publishes a fresh one.
    let group = alice.group_with(&[&bob]).await;
    assert_eq!(crate::db::key_packages::count(&bob.db).await.unwrap(), 2);
    // Within the grace period the used one is kept; after it, its private keys are gone.
    assert_eq!(bob.client.delete_old_key_packages().await.unwrap(), 0);
    let later = crate::client::now_ns() + 1;
    assert_eq!(
        bob.client
            .delete_key_packages_superseded_before(later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(crate::db::key_packages::count(&bob.db).await.unwrap(), 1);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM openmls_key_package")
        .fetch_one(&bob.db)
        .await
        .unwrap();
    assert_eq!(
        stored, 1,
        "only the current key package's private keys remain"
    );
    // The current one still works: bob is added to another group.
    let carol = tcm.carol().await;
    let second = carol.group_with(&[&bob]).await;
    carol.send_recv(&bob, &second, "still reachable").await;
    alice.send_recv(&bob, &group, "and here").await;
}

/// A node that answers GetInboxIds with the wrong inbox (everything else is the honest
/// in-memory node).
struct WrongInboxes {
    inner: crate::testing::MemoryTransport,
    answer: arx_identity::InboxId,
}

#[async_trait::async_trait]
impl crate::Transport for WrongInboxes {
    async fn node_info(&self) -> Result<crate::NodeIdentity, CoreError> {
        self.inner.node_info().await
    }
    async fn publish(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<arx_proto::OriginatorEnvelope>, CoreError> {
        self.inner.publish(envelopes).await
    }
    async fn query(
        &self,
        request: arx_proto::QueryRequest,
    ) -> Result<arx_proto::QueryResponse, CoreError> {
        self.inner.query(request).await
    }
    async fn inbox_ids(&self, addresses: Vec<[u8; 20]>) -> Result<Vec<Option<Vec<u8>>>, CoreError> {
        Ok(addresses
            .iter()
            .map(|_| Some(self.answer.as_bytes().to_vec()))
            .collect())
    }
    async fn identity_updates(
        &self,
        inbox_id: Vec<u8>,
        after: u64,
    ) -> Result<Vec<arx_proto::OriginatorEnvelope>, CoreError> {
        self.inner.identity_updates(inbox_id, after).await
    }
    async fn key_packages(
        &self,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<arx_proto::OriginatorEnvelope>>, CoreError> {
        self.inner.key_packages(keys).await
    }
    async fn subscribe(
        &self,
        topics: Vec<arx_proto::TopicCursor>,
    ) -> Result<
        futures::stream::BoxStream<'static, Result<arx_proto::SubscribeResponse, CoreError>>,
        CoreError,
    > {
        self.inner.subscribe(topics).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_names_the_wrong_inbox_for_a_wallet_is_caught() {
    let tcm = Tcm::memory();
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let lying = Tcm::over(std::sync::Arc::new(WrongInboxes {
        inner: tcm.node().unwrap().clone(),
        answer: bob.inbox,
    }));
    // Registering through it is refused...
    let dave = tempfile::tempdir().unwrap();
    let client = lying.open(dave.path()).await;
    let wallet = crate::LocalWalletSigner(arx_identity::LocalWallet::generate());
    let err = client.register(&wallet).await.unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::Core(CoreCode::NodeInvalidAnswer),
        "{err}"
    );
    // ...and so is resolving a wallet to an inbox that does not list it.
    let honest_carol = tcm.carol().await;
    let carol = lying.open(honest_carol.dir.path()).await;
    let alice_address = alice.wallet.address().to_checksum(None);
    let err = carol.resolve_member(&alice_address).await.unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::Core(CoreCode::NodeInvalidAnswer),
        "{err}"
    );
    // Bob's own address does resolve to bob.
    let bob_address = bob.wallet.address().to_checksum(None);
    assert_eq!(carol.resolve_member(&bob_address).await.unwrap(), bob.inbox);
}
