//! The node under abuse, as a process: 10,000 subscription attempts from one address,
//! large-limit Queries over a topic of maximum-size junk, duplicate-heavy lookups, and
//! subscribers that never read. The node must stay up with bounded memory, honest publishes
//! must keep working, and SIGTERM must stop it promptly with the stalled subscribers attached.
//! Figures (peak RSS, honest publish latency quiet and under load) are printed for
//! docs/BENCHMARKS.md; nothing here asserts a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use arx_e2e::{code_of, connect, group_envelope, publish, Person};
use arx_identity::Topic;
use arx_proto::{
    FetchKeyPackagesRequest, GetIdentityUpdatesRequest, GetInboxIdsRequest, QueryRequest,
    SubscribeRequest, TopicCursor,
};
use common::{peak_rss_kib, spawn_node, terminate_within};

/// Just under the 1 MiB envelope limit, once framed.
const JUNK_BYTES: usize = 1024 * 1024 - 4 * 1024;
/// Peak resident memory the node must stay under through all of it.
const MEMORY_BOUND_KIB: u64 = 1024 * 1024;

/// Latency of `n` honest publishes, one after another: (median, 95th percentile).
async fn honest_publishes(url: &str, n: usize) -> (Duration, Duration) {
    let person = Person::new("honest");
    let mut client = connect(url).await;
    let group = b"honest-group-0001".to_vec();
    let mut mls = person.create_group(&group);
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let message = person.encrypt(&mut mls, format!("honest {i}").as_bytes());
        let started = Instant::now();
        publish(&mut client, vec![group_envelope(&group, message)])
            .await
            .unwrap();
        took.push(started.elapsed());
    }
    took.sort();
    (took[n / 2], took[n * 95 / 100])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_from_one_address_leaves_the_node_up_bounded_and_stoppable() {
    let dir = tempfile::tempdir().unwrap();
    // No rate limit: the limits under test must hold by themselves (all callers here share
    // 127.0.0.1, so a rate limit would also slow the honest client).
    let (child, url) = spawn_node(dir.path(), &["--rate-limit", "0"]);
    let pid = child.id();
    let attacker = Person::new("mallory");

    // 24 MiB of junk on one topic.
    let junk_group = b"junk-topic-00001".to_vec();
    let junk_topic = Topic::group(&junk_group).unwrap();
    {
        let mut raw = connect(&url).await;
        let mut mls = attacker.create_group(&junk_group);
        for _ in 0..24 {
            let junk = attacker.encrypt(&mut mls, &vec![1u8; JUNK_BYTES]);
            publish(&mut raw, vec![group_envelope(&junk_group, junk)])
                .await
                .unwrap();
        }
    }
    let quiet = honest_publishes(&url, 100).await;

    // Subscribers that never read, and 10,000 subscription attempts.
    let subscribe_request = SubscribeRequest {
        topics: vec![TopicCursor {
            topic: Some(junk_topic.to_proto()),
            cursor: None,
        }],
    };
    let attempts = tokio::spawn({
        let url = url.clone();
        async move {
            let mut held = Vec::new();
            let mut refused = std::collections::BTreeMap::<String, usize>::new();
            let mut client = connect(&url).await;
            for _ in 0..10_000 {
                match client.subscribe(subscribe_request.clone()).await {
                    Ok(stream) => held.push(stream),
                    Err(status) => *refused.entry(code_of(&status)).or_default() += 1,
                }
            }
            (held, refused)
        }
    });
    // Queries asking for everything at once.
    let queries = tokio::spawn({
        let url = url.clone();
        let junk_topic = junk_topic.clone();
        async move {
            let mut client = connect(&url).await;
            let mut largest = 0;
            for _ in 0..40 {
                let page = client
                    .query(QueryRequest {
                        topics: vec![TopicCursor {
                            topic: Some(junk_topic.to_proto()),
                            cursor: None,
                        }],
                        limit: u32::MAX,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert!(page.has_more);
                let bytes: usize = page.envelopes.iter().map(|e| e.client_envelope.len()).sum();
                largest = largest.max(bytes);
            }
            largest
        }
    });
    // The same key a thousand times.
    let lookups = tokio::spawn({
        let url = url.clone();
        let key = attacker.installation.public_key().as_bytes().to_vec();
        let inbox = attacker.inbox_id.as_bytes().to_vec();
        let address = attacker.wallet.address().to_vec();
        async move {
            let mut client = connect(&url).await;
            let mut codes = Vec::new();
            for _ in 0..20 {
                let status = client
                    .fetch_key_packages(FetchKeyPackagesRequest {
                        installation_keys: vec![key.clone(); 1_000],
                    })
                    .await
                    .unwrap_err();
                codes.push(code_of(&status));
                let status = client
                    .get_identity_updates(GetIdentityUpdatesRequest {
                        requests: vec![
                            arx_proto::get_identity_updates_request::Entry {
                                inbox_id: inbox.clone(),
                                after_sequence_id: 0,
                            };
                            1_000
                        ],
                    })
                    .await
                    .unwrap_err();
                codes.push(code_of(&status));
                let found = client
                    .get_inbox_ids(GetInboxIdsRequest {
                        addresses: vec![address.clone(); 1_000],
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(found.entries.len(), 1_000);
            }
            codes
        }
    });
    let loaded = honest_publishes(&url, 100).await;
    let (held, refused) = attempts.await.unwrap();
    let largest_page = queries.await.unwrap();
    let lookup_codes = lookups.await.unwrap();

    assert_eq!(held.len(), 64, "the per-address subscription limit");
    assert_eq!(
        refused.get("subscribe.too_many"),
        Some(&(10_000 - 64)),
        "{refused:?}"
    );
    assert!(
        largest_page <= 5 * 1024 * 1024,
        "a page is bounded in bytes: {largest_page}"
    );
    assert!(
        lookup_codes.iter().all(|c| c == "request.invalid"),
        "{lookup_codes:?}"
    );

    // Still serving, within its memory bound, with 64 subscribers that never read.
    honest_publishes(&url, 10).await;
    let peak = peak_rss_kib(pid);
    println!(
        "node peak RSS {} MiB; honest publish median/p95: quiet {:?}/{:?}, under load {:?}/{:?}",
        peak / 1024,
        quiet.0,
        quiet.1,
        loaded.0,
        loaded.1
    );
    assert!(peak < MEMORY_BOUND_KIB, "peak RSS {peak} KiB");

    let (status, took) = terminate_within(child, Duration::from_secs(15));
    println!("SIGTERM with 64 stalled subscribers: exited in {took:?}");
    assert!(status.success(), "{status:?}");
    drop(held);
}
