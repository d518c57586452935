//! Live streams: conversations and messages arrive without a manual sync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use arx_core::{Client, GrpcTransport, LocalWalletSigner, StreamEvent};
use arx_e2e::TestNode;
use arx_identity::LocalWallet;
use tokio::sync::mpsc;

async fn registered(node: &TestNode) -> (Arc<Client>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let transport = Arc::new(GrpcTransport::new(&node.node.url()).unwrap());
    let client = Client::open(dir.path(), transport).await.unwrap();
    client
        .register(&LocalWalletSigner(LocalWallet::generate()))
        .await
        .unwrap();
    (Arc::new(client), dir)
}

/// The next conversation or message event (connection events are checked, then skipped).
async fn next(events: &mut mpsc::Receiver<StreamEvent>) -> StreamEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(15), events.recv())
            .await
            .expect("an event arrives")
            .expect("stream still running");
        match event {
            StreamEvent::Connection { online, .. } => assert!(online, "the node is up"),
            // System lines ("… added you") are reported like messages; these tests follow
            // what people sent.
            StreamEvent::Message(m) if m.system.is_some() => {}
            other => return other,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_client_joins_and_receives_messages_without_syncing() {
    let node = TestNode::start().await;
    let (alice, _a) = registered(&node).await;
    let (bob, _b) = registered(&node).await;
    let bob_inbox = bob.registration().await.unwrap().unwrap().inbox_id;

    let (tx, mut events) = mpsc::channel(64);
    let streaming = bob.clone();
    let task = tokio::spawn(async move { streaming.stream(tx).await });

    let group = alice
        .create_group(Some("live"), &[bob_inbox])
        .await
        .unwrap()
        .group_id;
    match next(&mut events).await {
        StreamEvent::Joined(c) => assert_eq!(c.group_id, group),
        other => panic!("expected a join, got {other:?}"),
    }
    for i in 0..3 {
        alice
            .conversation(&group)
            .send_text(&format!("live {i}"))
            .await
            .unwrap();
    }
    for i in 0..3 {
        match next(&mut events).await {
            StreamEvent::Message(m) => assert_eq!(m.text, format!("live {i}")),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    // Everything streamed is stored exactly once.
    assert_eq!(bob.conversation(&group).messages().await.unwrap().len(), 3);
    drop(events);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the stream ends when its receiver is dropped")
        .unwrap()
        .unwrap();
}
