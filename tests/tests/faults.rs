//! Faults between engine and node: an identity lookup that fails once while a commit or a
//! welcome is being checked, and a connection left half-open. Nothing may be skipped for it,
//! and no local write may wait on the network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use arx_core::{testing::Tcm, GrpcTransport, Timeouts, TransportOptions};
use arx_e2e::{FaultProxy, FlakyIdentity, TestNode};

fn flaky(node: &TestNode) -> Arc<FlakyIdentity> {
    Arc::new(FlakyIdentity::new(
        GrpcTransport::new(&node.node.url()).unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_lookup_failing_once_during_a_commit_or_a_welcome_skips_nothing() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob_link = flaky(&node);
    let bob = Tcm::over(bob_link.clone()).bob().await;
    let carol_link = flaky(&node);
    let carol = Tcm::over(carol_link.clone()).carol().await;
    let group = alice.group_with(&[&bob]).await;

    // The next identity lookup of bob and of carol fails: bob's is the check of the commit
    // adding carol, carol's the check of her welcome.
    bob_link.fail_next(1);
    carol_link.fail_next(1);
    alice
        .conversation(&group)
        .add_members(&[carol.inbox])
        .await
        .unwrap();
    for (person, link) in [(&bob, &bob_link), (&carol, &carol_link)] {
        let err = person.sync().await.unwrap_err();
        assert!(err.retryable(), "{err}");
        assert_eq!(link.failed.load(Ordering::SeqCst), 1);
        // The next sync picks up where it stopped.
        person.sync().await.unwrap();
        assert!(person.skipped_envelopes(10).await.unwrap().is_empty());
    }
    let epochs = [
        alice.conversation(&group).epoch().await.unwrap(),
        bob.conversation(&group).epoch().await.unwrap(),
        carol.conversation(&group).epoch().await.unwrap(),
    ];
    assert!(epochs.iter().all(|e| *e == epochs[0]), "{epochs:?}");
    carol.send_recv(&bob, &group, "made it").await;
    bob.send_recv(&carol, &group, "so did I").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_holds_no_local_write_and_skips_nothing() {
    let node = TestNode::start().await;
    let proxy = FaultProxy::start(node.node.addr).await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let carol = tcm.carol().await;
    let options = TransportOptions {
        // Short, so the test is quick, but with seconds of room for the local writes below
        // on a loaded machine.
        timeouts: Some(Timeouts {
            connect: Duration::from_secs(3),
            call: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(3),
            keepalive_timeout: Duration::from_secs(3),
        }),
        ..TransportOptions::default()
    };
    let bob_transport = Arc::new(GrpcTransport::with_options(&proxy.url(), &options).unwrap());
    let bob = Tcm::over(bob_transport).bob().await;
    let group = alice.group_with(&[&bob]).await;
    let other = alice.group_with(&[&bob]).await;

    // Bob's connection goes half-open; meanwhile alice writes and adds carol.
    proxy.stall();
    alice
        .conversation(&group)
        .send_text("while you were away")
        .await
        .unwrap();
    alice
        .conversation(&group)
        .add_members(&[carol.inbox])
        .await
        .unwrap();
    // A sync that waits on the dead connection, and local writes meanwhile.
    let sync = async {
        let result = bob.sync().await;
        (result, Instant::now())
    };
    let local = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        bob.conversation(&other).mark_read().await.unwrap();
        let queued = bob
            .conversation(&other)
            .queue_text("written offline", false)
            .await
            .unwrap();
        (queued, Instant::now())
    };
    let ((result, gave_up_at), (queued, written_at)) = tokio::join!(sync, local);
    assert!(
        result.is_err(),
        "the stalled sync fails (and is retried), it does not hang"
    );
    assert!(
        written_at < gave_up_at,
        "the local writes finished while the sync was still waiting on the network"
    );

    // A new connection works: everything arrives, nothing was skipped, the queued message goes.
    let summary = bob.sync().await.unwrap();
    assert_eq!(summary.skipped, 0, "{summary:?}");
    assert!(proxy.connections() >= 2, "a new connection was made");
    assert!(bob
        .texts(&group)
        .await
        .contains(&"while you were away".to_owned()));
    bob.conversation(&other).send_queued().await.unwrap();
    alice.sync().await.unwrap();
    assert!(alice
        .texts(&other)
        .await
        .contains(&"written offline".to_owned()));
    assert!(queued > 0);
    carol.sync().await.unwrap();
    bob.send_recv(&carol, &group, "hello carol").await;
    assert_eq!(
        bob.conversation(&group).epoch().await.unwrap(),
        alice.conversation(&group).epoch().await.unwrap()
    );
}
