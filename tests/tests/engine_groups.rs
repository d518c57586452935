//! Group conversations between real engines through a real node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arx_core::{Client, Delivery, GrpcTransport, LocalWalletSigner};
use arx_e2e::TestNode;
use arx_identity::{InboxId, LocalWallet};

struct Someone {
    client: Client,
    inbox: InboxId,
    dir: tempfile::TempDir,
}

async fn someone(node: &TestNode) -> Someone {
    let dir = tempfile::tempdir().unwrap();
    let client = open(node, dir.path()).await;
    let inbox = client
        .register(&LocalWalletSigner(LocalWallet::generate()))
        .await
        .unwrap()
        .inbox_id;
    Someone { client, inbox, dir }
}

async fn open(node: &TestNode, dir: &std::path::Path) -> Client {
    Client::open(dir, Arc::new(GrpcTransport::new(&node.node.url()).unwrap()))
        .await
        .unwrap()
}

fn texts(messages: &[arx_core::StoredMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_three_exchanges_messages_in_order() {
    let node = TestNode::start().await;
    let (alice, bob, carol) = (
        someone(&node).await,
        someone(&node).await,
        someone(&node).await,
    );

    let created = alice
        .client
        .create_group(Some("plans"), &[bob.inbox, carol.inbox])
        .await
        .unwrap();
    assert!(created.failed.is_empty(), "{:?}", created.failed);
    let group = created.group_id;
    for person in [&bob, &carol] {
        let summary = person.client.sync().await.unwrap();
        assert_eq!(summary.groups_joined, 1);
        assert_eq!(
            person.client.conversations().await.unwrap()[0].group_id,
            group
        );
    }
    let mut members: Vec<InboxId> = bob
        .client
        .members(&group)
        .await
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    members.sort();
    let mut expected = vec![alice.inbox, bob.inbox, carol.inbox];
    expected.sort();
    assert_eq!(members, expected);

    alice.client.send_text(&group, "hello both").await.unwrap();
    bob.client.sync().await.unwrap();
    bob.client.send_text(&group, "hi alice").await.unwrap();
    carol.client.sync().await.unwrap();
    carol.client.send_text(&group, "hey").await.unwrap();
    for person in [&alice, &bob, &carol] {
        person.client.sync().await.unwrap();
    }

    let at_alice = alice.client.messages(&group).await.unwrap();
    assert_eq!(texts(&at_alice), vec!["hello both", "hi alice", "hey"]);
    assert!(at_alice.iter().all(|m| m.delivery == Delivery::Sent));
    assert_eq!(at_alice[1].sender_inbox, bob.inbox);
    assert_eq!(at_alice[2].sender_inbox, carol.inbox);
    for person in [&bob, &carol] {
        assert_eq!(
            texts(&person.client.messages(&group).await.unwrap()),
            vec!["hello both", "hi alice", "hey"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_client_resumes_from_its_cursors_with_nothing_lost_or_repeated() {
    let node = TestNode::start().await;
    let (alice, bob) = (someone(&node).await, someone(&node).await);
    let group = alice
        .client
        .create_group(None, &[bob.inbox])
        .await
        .unwrap()
        .group_id;
    bob.client.sync().await.unwrap();
    for i in 0..5 {
        alice
            .client
            .send_text(&group, &format!("before {i}"))
            .await
            .unwrap();
    }
    bob.client.sync().await.unwrap();
    let Someone {
        client,
        dir,
        inbox: _,
    } = bob;
    drop(client);

    for i in 0..5 {
        alice
            .client
            .send_text(&group, &format!("after {i}"))
            .await
            .unwrap();
    }
    let bob = open(&node, dir.path()).await;
    let summary = bob.sync().await.unwrap();
    assert_eq!(summary.messages, 5, "only what arrived while it was away");
    let again = bob.sync().await.unwrap();
    assert_eq!(again.messages, 0);
    let got = bob.messages(&group).await.unwrap();
    let expected: Vec<String> = (0..5)
        .map(|i| format!("before {i}"))
        .chain((0..5).map(|i| format!("after {i}")))
        .collect();
    assert_eq!(
        texts(&got),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_client_is_told_to_register_first() {
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = open(&node, dir.path()).await;
    let err = client.create_group(None, &[]).await.unwrap_err();
    assert_eq!(err.code(), "core.not_registered");
}
