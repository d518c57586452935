//! Subscribe: catch-up then live, exactly once across reconnects, and slow subscribers are cut
//! loose instead of stalling the node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use arx_e2e::{alice, code_of, connect, group_envelope, publish, TestNode, TestNodeOptions};
use arx_identity::Topic;
use arx_proto::{
    subscribe_response::Event, Cursor, OriginatorEnvelope, SubscribeRequest, TopicCursor,
};
use futures::StreamExt;

fn request(topic: &Topic, cursor: Cursor) -> SubscribeRequest {
    SubscribeRequest {
        topics: vec![TopicCursor {
            topic: Some(topic.to_proto()),
            cursor: Some(cursor),
        }],
    }
}

fn cursor_after(envelopes: &[OriginatorEnvelope]) -> Cursor {
    let mut cursor = Cursor::default();
    for env in envelopes {
        let e = cursor.sequence_ids.entry(env.originator_id).or_default();
        *e = (*e).max(env.sequence_id);
    }
    cursor
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_killed_mid_stream_receives_every_envelope_exactly_once_after_reconnect() {
    let node = TestNode::start().await;
    let alice = alice();
    let group_id = b"stream-group".to_vec();
    let topic = Topic::group(&group_id).unwrap();
    let mut group = alice.create_group(&group_id);
    let messages: Vec<Vec<u8>> = (0..700)
        .map(|i| {
            group_envelope(
                &group_id,
                alice.encrypt(&mut group, format!("m{i}").as_bytes()),
            )
        })
        .collect();
    let mut publisher = node.client().await;

    // First session: a subscriber on its own connection, recording what it processed.
    let first: Arc<Mutex<Vec<OriginatorEnvelope>>> = Arc::default();
    let url = node.node.url();
    let recorded = first.clone();
    let t = topic.clone();
    let subscriber = tokio::spawn(async move {
        let mut client = connect(&url).await;
        let mut stream = client
            .subscribe(request(&t, Cursor::default()))
            .await
            .unwrap()
            .into_inner();
        while let Some(Ok(msg)) = stream.next().await {
            if let Some(Event::Envelopes(batch)) = msg.event {
                recorded.lock().unwrap().extend(batch.envelopes);
            }
        }
    });
    for chunk in messages[..100].chunks(10) {
        publish(&mut publisher, chunk.to_vec()).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(20), async {
        while first.lock().unwrap().len() < 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("first session receives envelopes");
    subscriber.abort(); // killed mid-stream: its connection goes with it
    let _ = subscriber.await;
    let first = first.lock().unwrap().clone();

    // While it is away, five publishers send 500 more.
    let mut tasks = Vec::new();
    for chunk in messages[100..600].chunks(100) {
        let chunk = chunk.to_vec();
        let url = node.node.url();
        tasks.push(tokio::spawn(async move {
            let mut client = connect(&url).await;
            for batch in chunk.chunks(7) {
                publish(&mut client, batch.to_vec()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // Second session resumes from the cursor of what the first one processed.
    let mut client = node.client().await;
    let mut stream = client
        .subscribe(request(&topic, cursor_after(&first)))
        .await
        .unwrap()
        .into_inner();
    let mut second = Vec::new();
    let mut caught_up = false;
    let mut live_sent = false;
    while second.len() + first.len() < 700 {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("stream keeps delivering")
            .expect("stream open")
            .expect("no error");
        match msg.event {
            Some(Event::Envelopes(batch)) => second.extend(batch.envelopes),
            Some(Event::CaughtUp(_)) => caught_up = true,
            _ => {}
        }
        if caught_up && !live_sent {
            live_sent = true;
            for chunk in messages[600..].chunks(25) {
                publish(&mut publisher, chunk.to_vec()).await.unwrap();
            }
        }
    }
    assert!(caught_up);

    let all: Vec<u64> = first.iter().chain(&second).map(|e| e.sequence_id).collect();
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 700, "nothing delivered twice");
    assert_eq!(distinct.len(), 700, "every envelope delivered");
    for session in [&first, &second] {
        assert!(
            session
                .windows(2)
                .all(|w| w[0].sequence_id < w[1].sequence_id),
            "in order"
        );
    }
    // Exactly the envelopes that were published, in publish order.
    let payloads: Vec<&[u8]> = first
        .iter()
        .chain(&second)
        .map(|e| e.client_envelope.as_slice())
        .collect();
    let expected: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    assert_eq!(payloads.len(), expected.len());
    assert!(payloads.iter().all(|p| expected.contains(p)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_subscriber_is_told_to_resume_and_loses_nothing() {
    let node = TestNode::start_with(TestNodeOptions {
        live_buffer: 16,
        ..Default::default()
    })
    .await;
    let alice = alice();
    let group_id = b"busy-group".to_vec();
    let topic = Topic::group(&group_id).unwrap();
    let mut group = alice.create_group(&group_id);
    let message = group_envelope(
        &group_id,
        alice.encrypt(&mut group, b"same bytes, new envelope"),
    );

    let mut client = node.client().await;
    let mut stream = client
        .subscribe(request(&topic, Cursor::default()))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first.event, Some(Event::CaughtUp(_))));

    // The subscriber stops reading while 20,000 envelopes are published; the node must not wait.
    let mut publisher = node.client().await;
    let started = std::time::Instant::now();
    for _ in 0..200 {
        publish(&mut publisher, vec![message.clone(); 100])
            .await
            .unwrap();
    }
    let publish_time = started.elapsed();

    let mut received = Vec::new();
    let status = loop {
        match stream.next().await {
            Some(Ok(msg)) => {
                if let Some(Event::Envelopes(batch)) = msg.event {
                    received.extend(batch.envelopes);
                }
            }
            Some(Err(status)) => break status,
            None => panic!("stream ended without telling the subscriber why"),
        }
    };
    assert_eq!(code_of(&status), "subscribe.lagged");
    assert!(arx_e2e::error_detail(&status).unwrap().retryable);
    assert!(
        received.len() < 20_000,
        "the subscriber was cut loose before the end"
    );

    // Resuming from its cursor delivers the rest, each once.
    let mut stream = client
        .subscribe(request(&topic, cursor_after(&received)))
        .await
        .unwrap()
        .into_inner();
    loop {
        let msg = stream.next().await.unwrap().unwrap();
        match msg.event {
            Some(Event::Envelopes(batch)) => received.extend(batch.envelopes),
            Some(Event::CaughtUp(_)) => break,
            _ => {}
        }
    }
    let distinct: BTreeSet<u64> = received.iter().map(|e| e.sequence_id).collect();
    assert_eq!(received.len(), 20_000);
    assert_eq!(distinct.len(), 20_000);
    eprintln!("20,000 envelopes published past a stalled subscriber in {publish_time:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_subscription_receives_keepalives() {
    let node = TestNode::start_with(TestNodeOptions {
        keepalive: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let topic = Topic::group(b"quiet").unwrap();
    let mut client = node.client().await;
    let mut stream = client
        .subscribe(request(&topic, Cursor::default()))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first.event, Some(Event::CaughtUp(_))));
    let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a keepalive arrives")
        .unwrap()
        .unwrap();
    assert!(matches!(next.event, Some(Event::Keepalive(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_subscriptions_with_a_retryable_code() {
    let node = TestNode::start().await;
    let topic = Topic::group(b"closing").unwrap();
    let mut client = node.client().await;
    let mut stream = client
        .subscribe(request(&topic, Cursor::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        stream.next().await.unwrap().unwrap().event,
        Some(Event::CaughtUp(_))
    ));
    let TestNode { node, dir: _dir } = node;
    tokio::time::timeout(Duration::from_secs(10), node.shutdown())
        .await
        .expect("shutdown does not hang on open subscriptions")
        .unwrap();
    match stream.next().await {
        Some(Err(status)) => assert_eq!(code_of(&status), "node.shutting_down"),
        other => panic!("expected a shutting-down status, got {other:?}"),
    }
}
