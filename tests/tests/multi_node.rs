//! Two node processes on one PostgreSQL database (each with its own key, hence its own
//! originator id): people on either node converse, each client verifying every envelope
//! against its own originator, and an envelope signed by a key outside the trusted set is
//! refused. Runs when `ARX_TEST_POSTGRES_URL` is set (each run in its own schema).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, str::FromStr, sync::Arc};

use arx_core::dm::dm_group_id;
use arx_e2e::{group_envelope, Person};
use arx_identity::{NodeKey, Topic};
use arx_node::{
    store::{AppendBatch, PostgresStore, Store, StoredEnvelope},
    Limits, NodeConfig, RunningNode, ServiceConfig,
};
use prost::Message as _;
use sqlx::postgres::PgConnectOptions;

async fn postgres_schema() -> Option<PgConnectOptions> {
    let Ok(url) = std::env::var("ARX_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ARX_TEST_POSTGRES_URL is not set");
        return None;
    };
    let schema = format!("multi_{:016x}", rand::random::<u64>());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    Some(
        PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", schema.as_str())]),
    )
}

async fn start_node(options: &PgConnectOptions) -> (RunningNode, Arc<PostgresStore>) {
    let store = Arc::new(PostgresStore::connect_with(options.clone()).await.unwrap());
    let config = NodeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: String::new(),
        key_file: std::path::PathBuf::new(),
        service: ServiceConfig::new(Limits::default()),
        live_buffer: 4096,
        tls: None,
    };
    let node = arx_node::start_with(config, store.clone(), NodeKey::generate())
        .await
        .unwrap();
    (node, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_on_two_nodes_sharing_a_database_converse_and_a_stranger_key_is_refused() {
    let Some(options) = postgres_schema().await else {
        return;
    };
    let (first, store) = start_node(&options).await;
    let (second, _) = start_node(&options).await;
    assert_ne!(first.node_id, second.node_id);
    let alice = arx_core::testing::Tcm::grpc(&first.url())
        .unwrap()
        .alice()
        .await;
    let bob = arx_core::testing::Tcm::grpc(&second.url())
        .unwrap()
        .bob()
        .await;

    // A DM across the two nodes, both ways.
    let dm = arx_e2e::open_dm(&alice, &bob.inbox).await;
    bob.sync().await.unwrap();
    alice.send_recv(&bob, &dm, "from node one").await;
    bob.send_recv(&alice, &dm, "from node two").await;

    // An envelope on the DM's topic signed by a node nobody trusts, written straight into the
    // shared database (as a rogue process with database access could).
    let rogue = NodeKey::generate();
    let junk = {
        let stranger = Person::new("rogue");
        let mut group = stranger.create_group(&dm);
        group_envelope(&dm, stranger.encrypt(&mut group, b"trust me"))
    };
    let signed = rogue.sign_envelope(1, 1, junk);
    store
        .append(&AppendBatch {
            envelopes: vec![StoredEnvelope {
                originator_id: signed.originator_id,
                sequence_id: signed.sequence_id,
                topic: Topic::group(&dm).unwrap().to_bytes(),
                received_at_ns: signed.received_at_ns,
                envelope: signed.encode_to_vec(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();

    // Both sync past it with the reason recorded, and keep talking.
    for person in [&alice, &bob] {
        person.sync().await.unwrap();
        let skipped = person.skipped_envelopes(10).await.unwrap();
        assert!(
            skipped
                .iter()
                .any(|s| s.code == "network.unknown_originator"
                    && s.originator_id == rogue.node_id()),
            "{skipped:?}"
        );
    }
    alice.send_recv(&bob, &dm, "still here").await;
    bob.send_recv(&alice, &dm, "me too").await;
    assert_eq!(dm_group_id(&alice.inbox, &bob.inbox), dm);
    for text in ["trust me"] {
        assert!(!bob.texts(&dm).await.contains(&text.to_owned()));
    }
    first.shutdown().await.unwrap();
    second.shutdown().await.unwrap();
}
