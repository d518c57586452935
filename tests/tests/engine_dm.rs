//! DMs: one per pair of inboxes, both directions, and simultaneous creation converging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use arx_core::{testing::TestClient, Client, CoreCode, CoreError, ErrorCode};
use arx_e2e::TestNode;
use arx_identity::InboxId;

/// A person of the engine harness on `node`: their engine, inbox and data directory.
async fn someone(node: &TestNode) -> (Client, InboxId, tempfile::TempDir) {
    let TestClient {
        client, inbox, dir, ..
    } = arx_e2e::tcm(node).person("someone").await;
    (client, inbox, dir)
}

/// Opens the DM; the engine waits out a convergence itself, and this retries past that (a
/// loaded machine can take longer to deliver the other side's welcome).
async fn dm(client: &Client, peer: &InboxId) -> Result<Vec<u8>, CoreError> {
    for _ in 0..50 {
        match client.dm(peer).await {
            Err(err) if err.code() == ErrorCode::Core(CoreCode::DmConverging) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
    client.dm(peer).await
}

fn texts(messages: &[arx_core::StoredMessage]) -> Vec<String> {
    messages.iter().map(|m| m.text.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_works_both_ways_and_is_the_same_conversation_from_either_side() {
    let node = TestNode::start().await;
    let (alice, alice_inbox, _a) = someone(&node).await;
    let (bob, bob_inbox, _b) = someone(&node).await;

    let id = dm(&alice, &bob_inbox).await.unwrap();
    assert_eq!(dm(&alice, &bob_inbox).await.unwrap(), id, "one DM per pair");
    alice.conversation(&id).send_text("hi bob").await.unwrap();
    assert_eq!(
        dm(&bob, &alice_inbox).await.unwrap(),
        id,
        "bob finds the same DM"
    );
    let listed = bob.conversations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].dm_peer, Some(alice_inbox));
    bob.conversation(&id).send_text("hi alice").await.unwrap();
    alice.sync().await.unwrap();
    bob.sync().await.unwrap();
    for client in [&alice, &bob] {
        assert_eq!(
            texts(&client.conversation(&id).messages().await.unwrap()),
            vec!["hi bob", "hi alice"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_dm_creation_converges_on_one_conversation_with_all_messages() {
    let node = TestNode::start().await;
    let (alice, alice_inbox, _a) = someone(&node).await;
    let (bob, bob_inbox, _b) = someone(&node).await;

    let (a, b) = tokio::join!(dm(&alice, &bob_inbox), dm(&bob, &alice_inbox));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    alice
        .conversation(&a)
        .send_text("from alice")
        .await
        .unwrap();
    bob.conversation(&b).send_text("from bob").await.unwrap();
    for client in [&alice, &bob] {
        client.sync().await.unwrap();
        assert_eq!(
            client.conversations().await.unwrap().len(),
            1,
            "one visible conversation"
        );
        let mut got = texts(&client.conversation(&a).messages().await.unwrap());
        got.sort();
        assert_eq!(got, vec!["from alice", "from bob"]);
    }
    assert_eq!(
        alice.conversation(&a).epoch().await.unwrap(),
        bob.conversation(&a).epoch().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dms_membership_cannot_change() {
    let node = TestNode::start().await;
    let (alice, _, _a) = someone(&node).await;
    let (_bob, bob_inbox, _b) = someone(&node).await;
    let (_carol, carol_inbox, _c) = someone(&node).await;
    let id = dm(&alice, &bob_inbox).await.unwrap();
    let err = alice
        .conversation(&id)
        .add_members(&[carol_inbox])
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::InvalidInput));
    let err = alice
        .conversation(&id)
        .remove_members(&[bob_inbox])
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::InvalidInput));
    let err = alice
        .dm(&alice.registration().await.unwrap().unwrap().inbox_id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::InvalidInput));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_queued_messages_leaves_in_order_under_the_nodes_rate_limit() {
    use std::num::NonZeroU32;
    let node = TestNode::start_with(arx_e2e::TestNodeOptions {
        rate_limit: Some(arx_node::RateLimit {
            per_second: NonZeroU32::new(100).unwrap(),
            burst: NonZeroU32::new(100).unwrap(),
        }),
        ..arx_e2e::TestNodeOptions::default()
    })
    .await;
    let (alice, _alice_inbox, _a) = someone(&node).await;
    let (bob, bob_inbox, _b) = someone(&node).await;
    let id = dm(&alice, &bob_inbox).await.unwrap();
    // More than the burst allows at once: some publishes are refused with `rate.limited`.
    let n = 250;
    let mut queued = Vec::new();
    for i in 0..n {
        queued.push(
            alice
                .conversation(&id)
                .queue_text(&format!("m{i}"), false)
                .await
                .unwrap(),
        );
    }
    alice.conversation(&id).send_queued().await.unwrap();
    for message_id in queued {
        let m = alice.message(message_id).await.unwrap();
        assert_eq!(m.delivery, arx_core::Delivery::Sent, "{}", m.text);
    }
    bob.sync().await.unwrap();
    let (page, _) = bob
        .conversation(&id)
        .messages_page(None, 1_000)
        .await
        .unwrap();
    let expected: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    assert_eq!(texts(&page), expected, "every message once, in order");
}

/// Two engines on one data directory (say `arx stream` running while `arx send` is used):
/// each sees what the other wrote, so neither reuses a sending ratchet step the other used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_data_directory_take_turns_without_reusing_keys() {
    let node = TestNode::start().await;
    let (alice, _, alice_dir) = someone(&node).await;
    let (bob, bob_inbox, _b) = someone(&node).await;
    let id = dm(&alice, &bob_inbox).await.unwrap();
    let again = arx_e2e::tcm(&node).open(alice_dir.path()).await;

    alice.conversation(&id).send_text("one").await.unwrap();
    again.conversation(&id).send_text("two").await.unwrap();
    alice.conversation(&id).send_text("three").await.unwrap();
    alice.conversation(&id).send_text("four").await.unwrap();
    again.conversation(&id).send_text("five").await.unwrap();
    bob.sync().await.unwrap();
    bob.conversation(&id).send_text("six").await.unwrap();
    again.sync().await.unwrap();
    alice.conversation(&id).send_text("seven").await.unwrap();

    bob.sync().await.unwrap();
    let got = bob.conversation(&id).messages().await.unwrap();
    assert_eq!(
        texts(&got),
        ["one", "two", "three", "four", "five", "six", "seven"],
        "bob decrypts every message, in order"
    );
    alice.sync().await.unwrap();
    assert_eq!(alice.conversation(&id).messages().await.unwrap().len(), 7);
}
