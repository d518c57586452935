//! Engine benchmarks, each beside the raw openmls figure measured in the same run:
//! - send→receive through a loopback node (one sender, one receiver), against raw persisted
//!   openmls (openmls_sqlx_storage on SQLite, one transaction per operation, no network);
//! - catch-up of N messages by a receiver, against raw decrypt-and-persist of N messages;
//! - adding one member to a 250-member group, end to end (key package fetch to welcome
//!   published), against raw persisted openmls add-and-merge;
//! - creating a 1,000-member group and joining it from the welcome, against raw openmls.
//!
//! Run: `cargo bench -p arx-e2e --bench engine` (ARX_BENCH_MESSAGES sets N, default 10,000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{str::FromStr, sync::Arc, time::Instant};

use arx_core::{
    mls::{self, MlsProvider},
    Client, GrpcTransport, LocalWalletSigner,
};
use arx_e2e::{Person, TestNode};
use arx_identity::{InboxId, InstallationSigner, LocalWallet};
use openmls::prelude::{
    tls_codec::{Deserialize as _, Serialize as _},
    GroupId, KeyPackage, MlsGroup, MlsGroupCreateConfig, MlsGroupJoinConfig, MlsMessageBodyIn,
    MlsMessageIn, ProcessedMessageContent, ProtocolMessage, StagedWelcome,
};
use openmls_traits::OpenMlsProvider;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

async fn db(path: &std::path::Path) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    MlsProvider::migrate(&mut conn).unwrap();
    drop(conn);
    pool
}

/// Raw openmls: a sender and a receiver, each with its own SQLite database, in one group.
struct Raw {
    sender: (SqlitePool, InstallationSigner),
    receiver: (SqlitePool, InstallationSigner),
    group_id: GroupId,
}

async fn raw_pair(dir: &std::path::Path) -> Raw {
    let (sender_db, receiver_db) = (db(&dir.join("s.db")).await, db(&dir.join("r.db")).await);
    let (s_key, r_key) = (
        InstallationSigner::generate(),
        InstallationSigner::generate(),
    );
    let inbox = InboxId::derive(&LocalWallet::generate().address(), 0);
    let group_id = GroupId::from_slice(b"raw-bench-group");

    let mut tx = receiver_db.begin().await.unwrap();
    let kp = {
        let provider = MlsProvider::new(&mut tx);
        KeyPackage::builder()
            .build(
                mls::CIPHERSUITE,
                &provider,
                &mls::mls_signer(&r_key),
                mls::credential(&inbox, &r_key),
            )
            .unwrap()
            .key_package()
            .clone()
    };
    tx.commit().await.unwrap();

    let mut tx = sender_db.begin().await.unwrap();
    let welcome = {
        let provider = MlsProvider::new(&mut tx);
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(mls::CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .build();
        let signer = mls::mls_signer(&s_key);
        let mut group = MlsGroup::new_with_group_id(
            &provider,
            &signer,
            &config,
            group_id.clone(),
            mls::credential(&inbox, &s_key),
        )
        .unwrap();
        let (_, welcome, _) = group.add_members(&provider, &signer, &[kp]).unwrap();
        group.merge_pending_commit(&provider).unwrap();
        welcome.tls_serialize_detached().unwrap()
    };
    tx.commit().await.unwrap();

    let mut tx = receiver_db.begin().await.unwrap();
    {
        let provider = MlsProvider::new(&mut tx);
        let MlsMessageBodyIn::Welcome(welcome) =
            MlsMessageIn::tls_deserialize_exact(welcome.as_slice())
                .unwrap()
                .extract()
        else {
            panic!("not a welcome")
        };
        let join = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .build();
        StagedWelcome::new_from_welcome(&provider, &join, welcome, None)
            .unwrap()
            .into_group(&provider)
            .unwrap();
    }
    tx.commit().await.unwrap();
    Raw {
        sender: (sender_db, s_key),
        receiver: (receiver_db, r_key),
        group_id,
    }
}

async fn raw_encrypt(raw: &Raw, payload: &[u8]) -> Vec<u8> {
    let mut tx = raw.sender.0.begin().await.unwrap();
    let bytes = {
        let provider = MlsProvider::new(&mut tx);
        let mut group = MlsGroup::load(provider.storage(), &raw.group_id)
            .unwrap()
            .unwrap();
        group
            .create_message(&provider, &mls::mls_signer(&raw.sender.1), payload)
            .unwrap()
            .tls_serialize_detached()
            .unwrap()
    };
    tx.commit().await.unwrap();
    bytes
}

async fn raw_decrypt(raw: &Raw, bytes: &[u8]) {
    let mut tx = raw.receiver.0.begin().await.unwrap();
    {
        let provider = MlsProvider::new(&mut tx);
        let mut group = MlsGroup::load(provider.storage(), &raw.group_id)
            .unwrap()
            .unwrap();
        let message =
            ProtocolMessage::try_from(MlsMessageIn::tls_deserialize_exact(bytes).unwrap()).unwrap();
        let processed = group.process_message(&provider, message).unwrap();
        assert!(matches!(
            processed.into_content(),
            ProcessedMessageContent::ApplicationMessage(_)
        ));
    }
    tx.commit().await.unwrap();
    let _ = &raw.receiver.1;
}

async fn engine_client(node: &TestNode, dir: &std::path::Path) -> Client {
    let client = Client::open(dir, Arc::new(GrpcTransport::new(&node.node.url()).unwrap()))
        .await
        .unwrap();
    client
        .register(&LocalWalletSigner(LocalWallet::generate()))
        .await
        .unwrap();
    client
}

/// Raw openmls key packages of `n` fresh installations, private keys kept in `db`.
async fn raw_key_packages(db: &SqlitePool, n: usize) -> Vec<KeyPackage> {
    let inbox = InboxId::derive(&LocalWallet::generate().address(), 0);
    let mut tx = db.begin().await.unwrap();
    let kps = {
        let provider = MlsProvider::new(&mut tx);
        (0..n)
            .map(|_| {
                let key = InstallationSigner::generate();
                KeyPackage::builder()
                    .build(
                        mls::CIPHERSUITE,
                        &provider,
                        &mls::mls_signer(&key),
                        mls::credential(&inbox, &key),
                    )
                    .unwrap()
                    .key_package()
                    .clone()
            })
            .collect()
    };
    tx.commit().await.unwrap();
    kps
}

/// Raw openmls, persisted: a creator adds `kps` to a new group in one commit and merges it.
/// Returns the welcome and the creator's key.
async fn raw_create(
    db: &SqlitePool,
    group_id: &GroupId,
    kps: &[KeyPackage],
) -> (Vec<u8>, InstallationSigner) {
    let key = InstallationSigner::generate();
    let inbox = InboxId::derive(&LocalWallet::generate().address(), 0);
    let mut tx = db.begin().await.unwrap();
    let welcome = {
        let provider = MlsProvider::new(&mut tx);
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(mls::CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .build();
        let signer = mls::mls_signer(&key);
        let mut group = MlsGroup::new_with_group_id(
            &provider,
            &signer,
            &config,
            group_id.clone(),
            mls::credential(&inbox, &key),
        )
        .unwrap();
        let (_, welcome, _) = group.add_members(&provider, &signer, kps).unwrap();
        group.merge_pending_commit(&provider).unwrap();
        welcome.tls_serialize_detached().unwrap()
    };
    tx.commit().await.unwrap();
    (welcome, key)
}

/// Raw openmls, persisted: the creator adds one more member and merges.
async fn raw_add_one(
    db: &SqlitePool,
    group_id: &GroupId,
    key: &InstallationSigner,
    kp: KeyPackage,
) {
    let mut tx = db.begin().await.unwrap();
    {
        let provider = MlsProvider::new(&mut tx);
        let mut group = MlsGroup::load(provider.storage(), group_id)
            .unwrap()
            .unwrap();
        let signer = mls::mls_signer(key);
        let (commit, welcome, _) = group.add_members(&provider, &signer, &[kp]).unwrap();
        group.merge_pending_commit(&provider).unwrap();
        commit.tls_serialize_detached().unwrap();
        welcome.tls_serialize_detached().unwrap();
    }
    tx.commit().await.unwrap();
}

/// Raw openmls, persisted: joins from a welcome whose key package's keys are in `db`.
async fn raw_join(db: &SqlitePool, welcome: &[u8]) {
    let mut tx = db.begin().await.unwrap();
    {
        let provider = MlsProvider::new(&mut tx);
        let MlsMessageBodyIn::Welcome(welcome) = MlsMessageIn::tls_deserialize_exact(welcome)
            .unwrap()
            .extract()
        else {
            panic!("not a welcome")
        };
        let join = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .build();
        StagedWelcome::new_from_welcome(&provider, &join, welcome, None)
            .unwrap()
            .into_group(&provider)
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// `n` people registered with a key package each (raw clients published in batches).
async fn registered_people(node: &TestNode, n: usize) -> Vec<InboxId> {
    let mut raw = node.client().await;
    let mut inboxes = Vec::with_capacity(n);
    let people: Vec<Person> = (0..n).map(|_| Person::new("member")).collect();
    for chunk in people.chunks(50) {
        let batch = chunk
            .iter()
            .flat_map(|p| [p.registration_envelope(), p.key_package_envelope()])
            .collect();
        arx_e2e::publish(&mut raw, batch).await.unwrap();
        inboxes.extend(chunk.iter().map(|p| p.inbox_id));
    }
    inboxes
}

/// Membership figures: (engine add-one-to-250 s, raw s, engine create-1000 s, raw s,
/// engine join s, raw join s).
async fn membership(node: &TestNode, big: usize) -> [f64; 6] {
    let dir = tempfile::tempdir().unwrap();
    // Raw openmls.
    let raw_db = db(&dir.path().join("raw-creator.db")).await;
    let kp_db = db(&dir.path().join("raw-members.db")).await;
    let kps = raw_key_packages(&kp_db, big).await;
    let small = GroupId::from_slice(b"raw-250");
    let (_, key) = raw_create(&raw_db, &small, &kps[..249]).await;
    let started = Instant::now();
    raw_add_one(&raw_db, &small, &key, kps[249].clone()).await;
    let raw_add = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (welcome, _) = raw_create(&raw_db, &GroupId::from_slice(b"raw-big"), &kps[..big - 1]).await;
    let raw_big = started.elapsed().as_secs_f64();
    let started = Instant::now();
    raw_join(&kp_db, &welcome).await;
    let raw_joined = started.elapsed().as_secs_f64();

    // The engine through the loopback node.
    let people = registered_people(node, big).await;
    let (a_dir, j_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = engine_client(node, a_dir.path()).await;
    let joiner = engine_client(node, j_dir.path()).await;
    let joiner_inbox = joiner.registration().await.unwrap().unwrap().inbox_id;
    let group = alice.create_group(None, &people[..249]).await.unwrap();
    assert!(group.failed.is_empty());
    let started = Instant::now();
    let failed = alice
        .conversation(&group.group_id)
        .add_members(&[joiner_inbox])
        .await
        .unwrap();
    let engine_add = started.elapsed().as_secs_f64();
    assert!(failed.is_empty());

    let late_dir = tempfile::tempdir().unwrap();
    let late = engine_client(node, late_dir.path()).await;
    let late_inbox = late.registration().await.unwrap().unwrap().inbox_id;
    let mut members = people[..big - 3].to_vec();
    members.push(joiner_inbox);
    members.push(late_inbox);
    let started = Instant::now();
    let created = alice.create_group(None, &members).await.unwrap();
    let engine_big = started.elapsed().as_secs_f64();
    assert!(created.failed.is_empty());
    let started = Instant::now();
    let summary = late.sync().await.unwrap();
    let engine_joined = started.elapsed().as_secs_f64();
    assert_eq!(summary.groups_joined, 1);
    [
        engine_add,
        raw_add,
        engine_big,
        raw_big,
        engine_joined,
        raw_joined,
    ]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("ARX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 10_000 } else { 50 });
    let round = n.min(2_000);
    let payload = vec![b'x'; 100];
    let dir = tempfile::tempdir().unwrap();

    // Raw openmls, persisted: send and receive one message at a time.
    let raw = raw_pair(dir.path()).await;
    let started = Instant::now();
    for _ in 0..round {
        let bytes = raw_encrypt(&raw, &payload).await;
        raw_decrypt(&raw, &bytes).await;
    }
    let raw_round_rate = round as f64 / started.elapsed().as_secs_f64();
    // Raw decrypt-and-persist of n messages (encrypted first, not timed).
    let mut ciphertexts = Vec::with_capacity(n);
    for _ in 0..n {
        ciphertexts.push(raw_encrypt(&raw, &payload).await);
    }
    let started = Instant::now();
    for bytes in &ciphertexts {
        raw_decrypt(&raw, bytes).await;
    }
    let raw_catch_up = started.elapsed().as_secs_f64();

    // The engine through a loopback node.
    let node = TestNode::start().await;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = engine_client(&node, a_dir.path()).await;
    let bob = engine_client(&node, b_dir.path()).await;
    let bob_inbox = bob.registration().await.unwrap().unwrap().inbox_id;
    let group = alice
        .create_group(None, &[bob_inbox])
        .await
        .unwrap()
        .group_id;
    bob.sync().await.unwrap();
    let text = String::from_utf8(payload.clone()).unwrap();

    // Alice sends `round` messages as fast as she can while bob receives them on his live
    // stream; the clock stops when bob has the last one.
    let bob = Arc::new(bob);
    let (tx, mut events) = tokio::sync::mpsc::channel(4096);
    let streaming = bob.clone();
    let stream = tokio::spawn(async move { streaming.stream(tx).await });
    let started = Instant::now();
    let receiving = tokio::spawn(async move {
        let mut received = 0;
        while received < round {
            if let Some(arx_core::StreamEvent::Message(_)) = events.recv().await {
                received += 1;
            }
        }
        Instant::now()
    });
    for _ in 0..round {
        alice.conversation(&group).send_text(&text).await.unwrap();
    }
    let finished = receiving.await.unwrap();
    stream.abort();
    let engine_round_rate = round as f64 / (finished - started).as_secs_f64();

    for _ in 0..n {
        alice.conversation(&group).send_text(&text).await.unwrap();
    }
    let started = Instant::now();
    let got = bob.sync().await.unwrap();
    let engine_catch_up = started.elapsed().as_secs_f64();
    assert_eq!(got.messages, n);

    println!("| measure | engine (loopback node) | raw openmls (same run) | engine / raw |");
    println!("|---|---:|---:|---:|");
    println!(
        "| send→receive, one sender, one streaming receiver, {round} messages (messages/s) | {engine_round_rate:.0} | {raw_round_rate:.0} | {:.2} |",
        engine_round_rate / raw_round_rate
    );
    println!(
        "| catch-up of {n} messages (s; rate ratio) | {engine_catch_up:.2} | {raw_catch_up:.2} | {:.2} |",
        raw_catch_up / engine_catch_up
    );
    let big: usize = if bench { 1_000 } else { 260 };
    let [engine_add, raw_add, engine_big, raw_big, engine_joined, raw_joined] =
        membership(&node, big).await;
    println!(
        "| add one member to a 250-member group, key package fetch to welcome published (ms) | {:.1} | {:.1} | {:.2} |",
        engine_add * 1e3,
        raw_add * 1e3,
        raw_add / engine_add
    );
    println!(
        "| create a {big}-member group (s) | {engine_big:.2} | {raw_big:.2} | {:.2} |",
        raw_big / engine_big
    );
    println!(
        "| join the {big}-member group from its welcome (s) | {engine_joined:.2} | {raw_joined:.2} | {:.2} |",
        raw_joined / engine_joined
    );
    node.node.shutdown().await.unwrap();
}
