//! An acknowledged envelope is never lost and a sequence id never handed out twice: the node is
//! killed with SIGKILL while publishes are in flight, right after acknowledgements, and started
//! again on the same database. (The database runs with `synchronous=FULL`, so this also holds
//! across a power loss, which a test cannot cause.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use arx_e2e::{connect, group_envelope, publish, query_all, Person};
use arx_identity::Topic;
use arx_proto::OriginatorEnvelope;
use common::{kill_9, spawn_node, terminate};

const WRITERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_right_after_acknowledgements_loses_nothing_and_reuses_no_sequence_id() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = spawn_node(dir.path(), &["--rate-limit", "0"]);
    let acknowledged: Arc<Mutex<Vec<OriginatorEnvelope>>> = Arc::default();
    let topics: Vec<Vec<u8>> = (0..WRITERS)
        .map(|i| format!("durability-{i:04}").into_bytes())
        .collect();

    // Writers publish as fast as they can, each on its own topic; every acknowledgement is kept.
    let mut writers = Vec::new();
    for group in topics.clone() {
        let url = url.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let person = Person::new("writer");
            let mut mls = person.create_group(&group);
            let mut client = connect(&url).await;
            for i in 0.. {
                let message = person.encrypt(&mut mls, format!("message {i}").as_bytes());
                match publish(&mut client, vec![group_envelope(&group, message)]).await {
                    Ok(envs) => acknowledged.lock().unwrap().extend(envs),
                    Err(_) => return,
                }
            }
        }));
    }
    // Killed as soon as 400 acknowledgements are in, with publishes still in flight.
    loop {
        if acknowledged.lock().unwrap().len() >= 400 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    kill_9(child);
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let (child, url) = spawn_node(dir.path(), &["--rate-limit", "0"]);
    let mut client = connect(&url).await;
    let topic_list: Vec<Topic> = topics.iter().map(|g| Topic::group(g).unwrap()).collect();
    let stored = query_all(&mut client, &topic_list).await;
    let by_sequence: BTreeMap<(u32, u64), &OriginatorEnvelope> = stored
        .iter()
        .map(|e| ((e.originator_id, e.sequence_id), e))
        .collect();
    assert_eq!(by_sequence.len(), stored.len(), "no sequence id twice");
    for ack in &acknowledged {
        assert_eq!(
            by_sequence.get(&(ack.originator_id, ack.sequence_id)),
            Some(&ack),
            "acknowledged envelope {} is there, unchanged",
            ack.sequence_id
        );
    }
    // New publishes continue after everything stored, acknowledged or not.
    let highest = stored.iter().map(|e| e.sequence_id).max().unwrap();
    let writer = Person::new("after");
    let group = topics[0].clone();
    let mut mls = writer.create_group(&group);
    let more = publish(
        &mut client,
        vec![group_envelope(
            &group,
            writer.encrypt(&mut mls, b"after restart"),
        )],
    )
    .await
    .unwrap();
    assert!(more[0].sequence_id > highest);
    println!(
        "{} acknowledged before SIGKILL, {} stored after restart",
        acknowledged.len(),
        stored.len()
    );
    drop(client);
    assert!(terminate(child).success());
}
