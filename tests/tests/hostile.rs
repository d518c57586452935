//! The hostile suite: a real node, real engines, and an attacker using the raw node API (most of
//! the time with no account at all). Every honest sync must succeed, members must end on one
//! epoch and read each other's later messages, `dm()` must never return a non-DM, and honest
//! publishes must be unaffected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use arx_core::{dm::dm_group_id, testing::TestClient, ConversationKind};
use arx_e2e::{code_of, group_envelope, publish, Person, TestNode};
use arx_identity::Topic;
use arx_proto::{client_envelope::Payload, FetchKeyPackagesRequest, Welcome as WelcomeMessage};
use openmls::prelude::{
    tls_codec::{Deserialize as _, Serialize as _},
    KeyPackageIn, LeafNodeParameters, MlsMessageBodyIn, MlsMessageIn, ProtocolVersion,
};
use openmls_traits::OpenMlsProvider as _;

/// Just under the node's 1 MiB envelope limit, once framed.
const JUNK_BYTES: usize = 1024 * 1024 - 4 * 1024;

/// Opens the DM, waiting out `dm.converging`.
async fn dm(client: &TestClient, peer: &TestClient) -> Vec<u8> {
    arx_e2e::open_dm(client, &peer.inbox).await
}

/// An MLS Welcome that decodes but holds nothing anyone can open: no group secrets and
/// `size` bytes of noise as its encrypted group info.
fn junk_welcome(size: usize) -> Vec<u8> {
    let mut bytes = vec![0x00, 0x01, 0x00, 0x03]; // MLS 1.0, wire format: welcome
    bytes.extend(1u16.to_be_bytes()); // ciphersuite 1
    bytes.push(0x00); // no encrypted group secrets
    bytes.extend((0x8000_0000u32 | size as u32).to_be_bytes()); // 4-byte MLS varint length
    bytes.extend((0..size).map(|_| rand::random::<u8>()));
    assert!(matches!(
        MlsMessageIn::tls_deserialize_exact(bytes.as_slice())
            .unwrap()
            .extract(),
        MlsMessageBodyIn::Welcome(_)
    ));
    bytes
}

fn welcome_envelope(to: &arx_identity::InstallationKey, mls_message: Vec<u8>) -> Vec<u8> {
    arx_e2e::envelope(
        Topic::welcomes(to),
        Payload::Welcome(WelcomeMessage {
            mls_message,
            shared_welcome: Vec::new(),
        }),
    )
}

/// A creation claim (see `arx_core::dm`) signed by `person`'s installation.
fn creation_claim(person: &Person, group_id: &[u8]) -> Vec<u8> {
    let mut signed = b"arx/v1/creation".to_vec();
    signed.extend_from_slice(group_id);
    let mut claim = person.installation.public_key().as_bytes().to_vec();
    claim.extend_from_slice(&person.installation.sign(&signed));
    claim
}

/// Both sides read each other's later messages in one DM.
async fn converse(a: &TestClient, b: &TestClient, dm_id: &[u8]) {
    a.send_recv(b, dm_id, &format!("{} to {}", a.name, b.name))
        .await;
    b.send_recv(a, dm_id, &format!("{} to {}", b.name, a.name))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_at_max_size_on_a_dm_topic_and_a_welcome_topic_stops_no_one() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob = tcm.bob().await;
    let mut raw = node.client().await;

    // No account: an MLS group of its own under the DM's id, and 20 messages of ~1 MiB there
    // (the DM id derives from public inbox ids), then 20 junk welcomes of ~1 MiB to bob.
    let attacker = Person::new("mallory");
    let dm_id = dm_group_id(&alice.inbox, &bob.inbox);
    let mut group = attacker.create_group(&dm_id);
    for _ in 0..20 {
        let junk = attacker.encrypt(&mut group, &vec![7u8; JUNK_BYTES]);
        publish(&mut raw, vec![group_envelope(&dm_id, junk)])
            .await
            .unwrap();
        let welcome = welcome_envelope(&bob.installation_key(), junk_welcome(JUNK_BYTES));
        publish(&mut raw, vec![welcome]).await.unwrap();
    }

    // And "commits" at epoch 0 on the DM topic, one of them with a creation claim signed by the
    // attacker's own installation (not one of the DM's two inboxes).
    for claim in [None, Some(creation_claim(&attacker, &dm_id))] {
        if let Some(claim) = claim {
            group.set_aad(claim);
        }
        let commit = attacker.unmerged_commit(&mut group);
        publish(&mut raw, vec![group_envelope(&dm_id, commit)])
            .await
            .unwrap();
    }

    // Every sync succeeds, and the DM works both ways.
    alice.sync().await.unwrap();
    let summary = bob.sync().await.unwrap();
    assert_eq!(
        summary.skipped, 20,
        "each junk welcome is skipped: {summary:?}"
    );
    let skipped = bob.skipped_envelopes(100).await.unwrap();
    assert_eq!(skipped.len(), 20, "{skipped:?}");
    assert!(
        skipped.iter().all(|s| s.code == "mls.welcome_rejected"),
        "{skipped:?}"
    );

    let id = dm(&alice, &bob).await;
    assert_eq!(id, dm_id);
    converse(&alice, &bob, &id).await;
    assert_eq!(dm(&bob, &alice).await, id);
    let listed = bob.conversations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, ConversationKind::Dm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_commits_streamed_during_an_add_split_no_group() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob = tcm.bob().await;
    let carol = tcm.carol().await;
    let group_id = alice.group_with(&[&bob]).await;

    // The attacker's own group under the same id, at the same epoch (1): its commits carry a
    // clear header that says "commit" at the right epoch, and nothing else is right.
    let attacker = Person::new("mallory");
    let mut fake = attacker.create_group(&group_id);
    fake.self_update(
        &attacker.provider,
        &attacker.mls_signer,
        LeafNodeParameters::default(),
    )
    .unwrap();
    fake.merge_pending_commit(&attacker.provider).unwrap();
    let mut commits = Vec::new();
    for _ in 0..40 {
        commits.push(attacker.unmerged_commit(&mut fake));
    }
    let url = node.node.url();
    let flood = tokio::spawn({
        let group_id = group_id.clone();
        async move {
            let mut raw = arx_e2e::connect(&url).await;
            for commit in commits {
                publish(&mut raw, vec![group_envelope(&group_id, commit)])
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    // Alice adds carol while junk commits keep arriving (and a few more to be sure).
    alice
        .conversation(&group_id)
        .add_members(&[carol.inbox])
        .await
        .unwrap();
    flood.await.unwrap();
    for person in [&alice, &bob, &carol] {
        person.sync().await.unwrap();
    }
    let epochs: Vec<u64> = {
        let mut out = Vec::new();
        for person in [&alice, &bob, &carol] {
            out.push(person.conversation(&group_id).epoch().await.unwrap());
        }
        out
    };
    assert!(
        epochs.windows(2).all(|w| w[0] == w[1]),
        "one epoch: {epochs:?}"
    );
    alice.send_recv(&carol, &group_id, "welcome carol").await;
    carol.send_recv(&bob, &group_id, "hi all").await;
    bob.send_recv(&alice, &group_id, "hi carol").await;
    let skipped = alice.skipped_envelopes(100).await.unwrap();
    assert!(
        !skipped.is_empty(),
        "the junk commits are recorded as skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_reuses_a_dms_id_is_never_taken_for_the_dm() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob = tcm.bob().await;
    let mut raw = node.client().await;

    // This attacker has an account, and welcomes alice and bob into its group under their DM's
    // id (their key packages are public).
    let attacker = Person::new("mallory");
    publish(
        &mut raw,
        vec![
            attacker.registration_envelope(),
            attacker.key_package_envelope(),
        ],
    )
    .await
    .unwrap();
    let dm_id = dm_group_id(&alice.inbox, &bob.inbox);
    let mut group = attacker.create_group(&dm_id);
    let found = raw
        .fetch_key_packages(FetchKeyPackagesRequest {
            installation_keys: vec![
                alice.installation_key().as_bytes().to_vec(),
                bob.installation_key().as_bytes().to_vec(),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let key_packages: Vec<_> = found
        .entries
        .iter()
        .map(|e| {
            let env = e.envelope.as_ref().unwrap();
            let client = <arx_proto::ClientEnvelope as prost::Message>::decode(
                env.client_envelope.as_slice(),
            )
            .unwrap();
            let Some(Payload::KeyPackage(kp)) = client.payload else {
                panic!("not a key package")
            };
            let MlsMessageBodyIn::KeyPackage(kp) =
                MlsMessageIn::tls_deserialize_exact(kp.mls_message.as_slice())
                    .unwrap()
                    .extract()
            else {
                panic!("not a key package")
            };
            let kp: KeyPackageIn = kp;
            kp.validate(attacker.provider.crypto(), ProtocolVersion::Mls10)
                .unwrap()
        })
        .collect();
    let (commit, welcome, _) = group
        .add_members(&attacker.provider, &attacker.mls_signer, &key_packages)
        .unwrap();
    let welcome = welcome.tls_serialize_detached().unwrap();
    publish(
        &mut raw,
        vec![
            group_envelope(&dm_id, commit.tls_serialize_detached().unwrap()),
            welcome_envelope(&alice.installation_key(), welcome.clone()),
            welcome_envelope(&bob.installation_key(), welcome),
        ],
    )
    .await
    .unwrap();

    // Neither joins it; the real DM is made under that id and works.
    for person in [&alice, &bob] {
        person.sync().await.unwrap();
        assert!(person.conversations().await.unwrap().is_empty());
        let skipped = person.skipped_envelopes(10).await.unwrap();
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].code, "mls.welcome_rejected");
    }
    let id = dm(&alice, &bob).await;
    assert_eq!(id, dm_id);
    assert_eq!(dm(&bob, &alice).await, id);
    converse(&alice, &bob, &id).await;
    for person in [&alice, &bob] {
        let listed = person.conversations().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].kind, ConversationKind::Dm);
        assert_eq!(person.conversation(&id).members().await.unwrap().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_key_package_lifetime_among_honest_publishes_is_refused_alone() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob = tcm.bob().await;
    let group_id = alice.group_with(&[&bob]).await;
    let mut raw = node.client().await;

    let attacker = Person::new("mallory");
    publish(&mut raw, vec![attacker.registration_envelope()])
        .await
        .unwrap();
    let absurd =
        attacker.key_package_envelope_with_lifetime(openmls::prelude::Lifetime::init(0, u64::MAX));
    // Honest sends and the absurd key package, at once, many times: the node writes publishes
    // in groups, and one bad envelope must not fail anyone else's.
    let url = node.node.url();
    let attack = tokio::spawn(async move {
        let mut raw = arx_e2e::connect(&url).await;
        let mut codes = Vec::new();
        for _ in 0..30 {
            let status = publish(&mut raw, vec![absurd.clone()]).await.unwrap_err();
            codes.push(code_of(&status));
        }
        codes
    });
    for i in 0..30 {
        alice
            .conversation(&group_id)
            .send_text(&format!("honest {i}"))
            .await
            .unwrap();
    }
    let codes = attack.await.unwrap();
    assert!(
        codes.iter().all(|c| c == "key_package.invalid"),
        "{codes:?}"
    );
    bob.sync().await.unwrap();
    let texts = bob.texts(&group_id).await;
    assert_eq!(texts.len(), 30);
    assert_eq!(texts[29], "honest 29");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_expensive_identity_batch_is_refused_and_honest_publishes_go_on() {
    let node = TestNode::start().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob = tcm.bob().await;
    let group_id = alice.group_with(&[&bob]).await;

    // 255 inbox creations, each with a wallet signature to recover, then one that repeats the
    // first: the batch is refused whole, after all that work, every time it is sent again.
    let people: Vec<Person> = (0..255).map(|_| Person::new("sybil")).collect();
    let mut batch: Vec<Vec<u8>> = people.iter().map(Person::registration_envelope).collect();
    batch.push(people[0].registration_envelope());
    let url = node.node.url();
    let replays = tokio::spawn(async move {
        let mut raw = arx_e2e::connect(&url).await;
        let mut codes = Vec::new();
        for _ in 0..10 {
            let status = publish(&mut raw, batch.clone()).await.unwrap_err();
            codes.push(code_of(&status));
        }
        codes
    });
    for i in 0..20 {
        alice
            .conversation(&group_id)
            .send_text(&format!("honest {i}"))
            .await
            .unwrap();
    }
    let codes = replays.await.unwrap();
    assert!(
        codes.iter().all(|c| c.starts_with("identity.")),
        "{codes:?}"
    );
    bob.sync().await.unwrap();
    assert_eq!(bob.texts(&group_id).await.len(), 20);
    // Nothing of the refused batches was kept.
    let mut raw = node.client().await;
    let logs = arx_e2e::query_all(&mut raw, &[Topic::identity_log(&people[1].inbox_id)]).await;
    assert!(logs.is_empty());
}
