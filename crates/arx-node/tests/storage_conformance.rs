//! One conformance suite for every storage backend. SQLite always runs; PostgreSQL runs when
//! `ARX_TEST_POSTGRES_URL` is set (each test in its own schema) and prints why it skipped when not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arx_node::store::{
    AppendBatch, IdentityStateChange, KeyPackageRecord, Store, StoreError, StoredEnvelope,
};

fn env(originator_id: u32, sequence_id: u64, topic: &[u8]) -> StoredEnvelope {
    StoredEnvelope {
        originator_id,
        sequence_id,
        topic: topic.to_vec(),
        received_at_ns: 1_000 + sequence_id as i64,
        envelope: format!("envelope {originator_id}:{sequence_id}").into_bytes(),
    }
}

fn batch(envelopes: Vec<StoredEnvelope>) -> AppendBatch {
    AppendBatch {
        envelopes,
        ..Default::default()
    }
}

fn identity(
    inbox: u8,
    expected: Option<u64>,
    new: u64,
    added: &[u8],
    removed: &[u8],
) -> IdentityStateChange {
    IdentityStateChange {
        inbox_id: [inbox; 32],
        expected_version: expected,
        new_version: new,
        state: format!("state {inbox} v{new}").into_bytes(),
        added_addresses: added.iter().map(|a| [*a; 20]).collect(),
        removed_addresses: removed.iter().map(|a| [*a; 20]).collect(),
    }
}

async fn append_then_query_returns_envelopes_in_sequence_order(store: Arc<dyn Store>) {
    store
        .append(&batch((1..=5).map(|s| env(7, s, b"t1")).collect()))
        .await
        .unwrap();
    store
        .append(&batch((6..=8).map(|s| env(7, s, b"t1")).collect()))
        .await
        .unwrap();
    let got = store.query(b"t1", 7, 0, 100).await.unwrap();
    assert_eq!(got, (1..=8).map(|s| env(7, s, b"t1")).collect::<Vec<_>>());
}

async fn query_respects_topic_originator_cursor_and_limit(store: Arc<dyn Store>) {
    let mut envelopes = Vec::new();
    for s in 1..=10 {
        envelopes.push(env(1, s, if s % 2 == 0 { b"even" } else { b"odd" }));
        envelopes.push(env(2, s, b"even"));
    }
    store.append(&batch(envelopes)).await.unwrap();
    let seqs = |v: Vec<StoredEnvelope>| v.into_iter().map(|e| e.sequence_id).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.query(b"even", 1, 0, 100).await.unwrap()),
        vec![2, 4, 6, 8, 10]
    );
    assert_eq!(
        seqs(store.query(b"even", 1, 4, 100).await.unwrap()),
        vec![6, 8, 10]
    );
    assert_eq!(
        seqs(store.query(b"even", 1, 4, 2).await.unwrap()),
        vec![6, 8]
    );
    assert_eq!(
        seqs(store.query(b"even", 2, 8, 100).await.unwrap()),
        vec![9, 10]
    );
    assert!(store.query(b"none", 1, 0, 100).await.unwrap().is_empty());
    assert!(store.query(b"even", 3, 0, 100).await.unwrap().is_empty());
    assert_eq!(store.originators().await.unwrap(), vec![1, 2]);
}

async fn a_page_reads_many_topics_in_sequence_order_bounded_by_count_and_bytes(
    store: Arc<dyn Store>,
) {
    // 3 topics interleaved on originator 1, and one envelope of another originator.
    let mut envelopes = Vec::new();
    for s in 1..=30u64 {
        let topic: &[u8] = match s % 3 {
            0 => b"a",
            1 => b"b",
            _ => b"c",
        };
        envelopes.push(env(1, s, topic));
    }
    envelopes.push(env(2, 1, b"a"));
    store.append(&batch(envelopes)).await.unwrap();
    let reads = |a: u64, b: u64| vec![(b"a".to_vec(), a), (b"b".to_vec(), b)];
    let seqs = |v: &[StoredEnvelope]| v.iter().map(|e| e.sequence_id).collect::<Vec<_>>();

    // Both topics from their cursors, ascending, c and originator 2 left out.
    let (page, more) = store.page(&reads(0, 0), 1, 100, usize::MAX).await.unwrap();
    let expected: Vec<u64> = (1..=30).filter(|s| s % 3 != 2).collect();
    assert_eq!(seqs(&page), expected);
    assert!(!more);
    assert_eq!(page[0], env(1, 1, b"b"));

    // Cursors are per topic.
    let (page, _) = store
        .page(&reads(27, 10), 1, 100, usize::MAX)
        .await
        .unwrap();
    assert_eq!(seqs(&page), vec![13, 16, 19, 22, 25, 28, 30]);

    // By count: the first 4, and more follow. One topic alone past the limit says so too.
    let (page, more) = store.page(&reads(0, 0), 1, 4, usize::MAX).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![1, 3, 4, 6], true));
    let (page, more) = store
        .page(&[(b"a".to_vec(), 0)], 1, 10, usize::MAX)
        .await
        .unwrap();
    assert_eq!((page.len(), more), (10, false));
    let (page, more) = store
        .page(&[(b"a".to_vec(), 0)], 1, 9, usize::MAX)
        .await
        .unwrap();
    assert_eq!((page.len(), more), (9, true));

    // By bytes: the first test envelopes are 12 bytes each; 25 bytes hold two, and a budget
    // below one envelope still returns one.
    let (page, more) = store.page(&reads(0, 0), 1, 100, 25).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![1, 3], true));
    let (page, more) = store.page(&reads(0, 0), 1, 100, 1).await.unwrap();
    assert_eq!((seqs(&page), more), (vec![1], true));

    // Nothing after the cursors, and an unknown originator.
    let (page, more) = store
        .page(&reads(30, 30), 1, 100, usize::MAX)
        .await
        .unwrap();
    assert!(page.is_empty() && !more);
    assert!(store
        .page(&reads(0, 0), 9, 100, usize::MAX)
        .await
        .unwrap()
        .0
        .is_empty());
    assert_eq!(
        seqs(
            &store
                .page(&reads(0, 0), 2, 100, usize::MAX)
                .await
                .unwrap()
                .0
        ),
        vec![1]
    );

    // A thousand topics in one call.
    let many: Vec<(Vec<u8>, u64)> = (0..1_000u32)
        .map(|i| (format!("topic {i}").into_bytes(), 0))
        .chain([(b"c".to_vec(), 0)])
        .collect();
    let (page, more) = store.page(&many, 1, 100, usize::MAX).await.unwrap();
    assert_eq!((page.len(), more), (10, false));
}

async fn nodes_register_once_per_id_and_key(store: Arc<dyn Store>) {
    assert!(store.nodes().await.unwrap().is_empty());
    store.register_node(7, &[7; 32]).await.unwrap();
    store.register_node(7, &[7; 32]).await.unwrap();
    store.register_node(3, &[3; 32]).await.unwrap();
    assert_eq!(
        store.nodes().await.unwrap(),
        vec![(3, [3; 32]), (7, [7; 32])]
    );
    let err = store.register_node(7, &[8; 32]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn last_sequence_id_is_per_originator(store: Arc<dyn Store>) {
    assert_eq!(store.last_sequence_id(1).await.unwrap(), 0);
    store
        .append(&batch(vec![
            env(1, 41, b"a"),
            env(1, 42, b"b"),
            env(2, 5, b"a"),
        ]))
        .await
        .unwrap();
    assert_eq!(store.last_sequence_id(1).await.unwrap(), 42);
    assert_eq!(store.last_sequence_id(2).await.unwrap(), 5);
    assert_eq!(store.last_sequence_id(3).await.unwrap(), 0);
}

async fn append_is_all_or_nothing(store: Arc<dyn Store>) {
    store.append(&batch(vec![env(1, 1, b"t")])).await.unwrap();
    let mut failing = batch(vec![env(1, 2, b"t"), env(1, 1, b"t")]);
    failing.identity.push(identity(9, None, 1, &[9], &[]));
    let err = store.append(&failing).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.query(b"t", 1, 0, 10).await.unwrap().len(), 1);
    assert!(store.identity_state(&[9; 32]).await.unwrap().is_none());
    assert_eq!(store.inbox_ids(&[[9; 20]]).await.unwrap(), vec![None]);
}

async fn identity_versions_are_compare_and_set(store: Arc<dyn Store>) {
    let mut first = batch(vec![env(1, 1, b"id")]);
    first.identity.push(identity(1, None, 1, &[10], &[]));
    store.append(&first).await.unwrap();
    let stored = store.identity_state(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.state.as_slice()),
        (1, b"state 1 v1".as_slice())
    );

    // Creating it again, or updating from a stale version, conflicts and writes nothing.
    let mut again = batch(vec![env(1, 2, b"id")]);
    again.identity.push(identity(1, None, 1, &[], &[]));
    assert!(matches!(
        store.append(&again).await,
        Err(StoreError::Conflict(_))
    ));
    let mut stale = batch(vec![env(1, 2, b"id")]);
    stale.identity.push(identity(1, Some(0), 2, &[], &[]));
    assert!(matches!(
        store.append(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.last_sequence_id(1).await.unwrap(), 1);

    let mut next = batch(vec![env(1, 2, b"id")]);
    next.identity.push(identity(1, Some(1), 2, &[11], &[10]));
    store.append(&next).await.unwrap();
    assert_eq!(
        store
            .identity_state(&[1; 32])
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        store
            .inbox_ids(&[[10; 20], [11; 20], [12; 20]])
            .await
            .unwrap(),
        vec![None, Some([1; 32]), None]
    );
}

async fn an_address_belongs_to_one_inbox_and_can_move_in_one_batch(store: Arc<dyn Store>) {
    let mut first = AppendBatch::default();
    first.identity.push(identity(1, None, 1, &[50], &[]));
    store.append(&first).await.unwrap();

    let mut claim = AppendBatch::default();
    claim.identity.push(identity(2, None, 1, &[50], &[]));
    assert!(matches!(
        store.append(&claim).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.identity_state(&[2; 32]).await.unwrap().is_none());

    // Released by inbox 1 and claimed by inbox 2 in the same batch, in either order.
    let mut moved = AppendBatch::default();
    moved.identity.push(identity(2, None, 1, &[50], &[]));
    moved.identity.push(identity(1, Some(1), 2, &[], &[50]));
    store.append(&moved).await.unwrap();
    assert_eq!(
        store.inbox_ids(&[[50; 20]]).await.unwrap(),
        vec![Some([2; 32])]
    );
}

async fn key_packages_keep_the_newest_and_skip_expired(store: Arc<dyn Store>) {
    let kp = |seq: u64, not_after: u64| KeyPackageRecord {
        installation_key: [3; 32],
        inbox_id: [4; 32],
        originator_id: 1,
        sequence_id: seq,
        not_after,
    };
    let mut b = batch(vec![env(1, 1, b"kp"), env(1, 2, b"kp")]);
    b.key_packages.push(kp(1, 2_000));
    store.append(&b).await.unwrap();
    let mut b = AppendBatch::default();
    b.key_packages.push(kp(2, 3_000));
    store.append(&b).await.unwrap();

    let found = store
        .key_packages(&[[3; 32], [5; 32]], 1_000)
        .await
        .unwrap();
    let first = found[0].as_ref().unwrap();
    assert_eq!((first.inbox_id, first.envelope.sequence_id), ([4; 32], 2));
    assert_eq!(first.envelope, env(1, 2, b"kp"));
    assert!(found[1].is_none());
    assert!(
        store.key_packages(&[[3; 32]], 3_000).await.unwrap()[0].is_none(),
        "expired"
    );
}

async fn a_key_package_must_reference_a_stored_envelope(store: Arc<dyn Store>) {
    let mut b = AppendBatch::default();
    b.key_packages.push(KeyPackageRecord {
        installation_key: [3; 32],
        inbox_id: [4; 32],
        originator_id: 1,
        sequence_id: 99,
        not_after: 5,
    });
    assert!(store.append(&b).await.is_err());
}

macro_rules! conformance_suite {
    ($backend:ident, $open:path) => {
        mod $backend {
            use super::*;
            conformance_suite!(@tests $open;
                append_then_query_returns_envelopes_in_sequence_order,
                query_respects_topic_originator_cursor_and_limit,
                last_sequence_id_is_per_originator,
                append_is_all_or_nothing,
                identity_versions_are_compare_and_set,
                an_address_belongs_to_one_inbox_and_can_move_in_one_batch,
                key_packages_keep_the_newest_and_skip_expired,
                a_key_package_must_reference_a_stored_envelope,
                a_page_reads_many_topics_in_sequence_order_bounded_by_count_and_bytes,
                nodes_register_once_per_id_and_key,
            );
        }
    };
    (@tests $open:path; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let Some((store, _guard)) = $open(stringify!($test)).await else { return };
                super::$test(store).await;
            }
        )*
    };
}

async fn open_sqlite(_name: &str) -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let store = arx_node::store::SqliteStore::open(&url).await.unwrap();
    Some((Arc::new(store), dir))
}

async fn open_postgres(name: &str) -> Option<(Arc<dyn Store>, ())> {
    use std::str::FromStr;

    use sqlx::postgres::PgConnectOptions;
    let Ok(url) = std::env::var("ARX_TEST_POSTGRES_URL") else {
        eprintln!("skipped {name} on PostgreSQL: ARX_TEST_POSTGRES_URL is not set");
        return None;
    };
    // PostgreSQL truncates identifiers at 63 bytes: keep the random part within them.
    let short: String = name.chars().take(40).collect();
    let schema = format!("conf_{:016x}_{short}", rand::random::<u64>());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .expect("ARX_TEST_POSTGRES_URL must be reachable");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = arx_node::store::PostgresStore::connect_with(options)
        .await
        .unwrap();
    Some((Arc::new(store), ()))
}

conformance_suite!(sqlite, open_sqlite);
conformance_suite!(postgres, open_postgres);
