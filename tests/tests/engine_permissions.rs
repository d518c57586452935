//! Group settings and permissions: the creator is super admin, only admins change members or
//! the name, only super admins change who is an admin, every member refuses a commit its
//! committer was not allowed to make, and members leave by asking the others to remove them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arx_core::{mls::MlsProvider, ConversationState, CoreCode, ErrorCode, Role};
use arx_e2e::{tcm, Someone, TestNode};
use arx_identity::InstallationSigner;
use arx_proto::{client_envelope::Payload, ClientEnvelope, FetchKeyPackagesRequest};
use openmls::prelude::{
    tls_codec::{Deserialize as _, Serialize as _},
    GroupId, MlsGroup, MlsMessageBodyIn, MlsMessageIn, ProtocolVersion,
};
use prost::Message as _;
use sqlx::Connection as _;

async fn name_of(p: &Someone, group: &[u8]) -> Option<String> {
    p.client
        .conversations()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.group_id == group)
        .unwrap()
        .name
}

async fn state_of(p: &Someone, group: &[u8]) -> ConversationState {
    p.client
        .conversations()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.group_id == group)
        .unwrap()
        .state
}

async fn member_count(p: &Someone, group: &[u8]) -> usize {
    let mut inboxes: Vec<_> = p
        .client
        .conversation(group)
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    inboxes.dedup();
    inboxes.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_change_members_and_only_super_admins_choose_admins() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol, dave) = (
        tcm.person("alice").await,
        tcm.person("bob").await,
        tcm.person("carol").await,
        tcm.person("dave").await,
    );
    let group = alice
        .client
        .create_group(Some("Plans"), &[bob.inbox, carol.inbox])
        .await
        .unwrap()
        .group_id;
    for p in [&bob, &carol] {
        p.client.sync().await.unwrap();
        assert_eq!(name_of(p, &group).await.as_deref(), Some("Plans"));
        let settings = p.client.conversation(&group).settings().await.unwrap();
        assert_eq!(settings.role(&alice.inbox), Role::SuperAdmin);
        assert_eq!(settings.role(&bob.inbox), Role::Member);
    }

    // Bob is a member: he may not change the group.
    let refused = [
        bob.client
            .conversation(&group)
            .add_members(&[dave.inbox])
            .await
            .err(),
        bob.client
            .conversation(&group)
            .remove_members(&[carol.inbox])
            .await
            .err(),
        bob.client.conversation(&group).rename("Mine").await.err(),
        bob.client
            .conversation(&group)
            .set_role(&bob.inbox, Role::Admin)
            .await
            .err(),
    ];
    for err in refused {
        assert_eq!(err.unwrap().code(), ErrorCode::Core(CoreCode::NotPermitted));
    }

    // Alice makes Bob an admin: now he adds and renames, but cannot choose admins or remove
    // the super admin.
    alice
        .client
        .conversation(&group)
        .set_role(&bob.inbox, Role::Admin)
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    assert!(bob
        .client
        .conversation(&group)
        .add_members(&[dave.inbox])
        .await
        .unwrap()
        .is_empty());
    bob.client
        .conversation(&group)
        .rename("Plans 2")
        .await
        .unwrap();
    for err in [
        bob.client
            .conversation(&group)
            .set_role(&carol.inbox, Role::Admin)
            .await
            .err(),
        bob.client
            .conversation(&group)
            .remove_members(&[alice.inbox])
            .await
            .err(),
    ] {
        assert_eq!(err.unwrap().code(), ErrorCode::Core(CoreCode::NotPermitted));
    }
    for p in [&alice, &carol, &dave] {
        p.client.sync().await.unwrap();
        assert_eq!(name_of(p, &group).await.as_deref(), Some("Plans 2"));
        assert_eq!(member_count(p, &group).await, 4);
        let settings = p.client.conversation(&group).settings().await.unwrap();
        assert_eq!(settings.role(&bob.inbox), Role::Admin);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_by_a_member_who_is_not_an_admin_is_rejected_by_every_member() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol, dave) = (
        tcm.person("alice").await,
        tcm.person("bob").await,
        tcm.person("carol").await,
        tcm.person("dave").await,
    );
    let group = alice.group_with(&[&bob, &carol]).await;
    let epoch = alice.client.conversation(&group).epoch().await.unwrap();

    // Carol, a member, bypasses her engine's own check: she builds an add commit for Dave
    // straight from her MLS state and publishes it. Every leaf in it is properly associated,
    // so only the permission rule can refuse it.
    let mut raw = node.client().await;
    let kp_env = raw
        .fetch_key_packages(FetchKeyPackagesRequest {
            installation_keys: vec![dave.client.installation_key().as_bytes().to_vec()],
        })
        .await
        .unwrap()
        .into_inner()
        .entries[0]
        .envelope
        .clone()
        .unwrap();
    let Some(Payload::KeyPackage(upload)) =
        ClientEnvelope::decode(kp_env.client_envelope.as_slice())
            .unwrap()
            .payload
    else {
        panic!("not a key package");
    };
    let MlsMessageBodyIn::KeyPackage(kp) = MlsMessageIn::tls_deserialize_exact(upload.mls_message)
        .unwrap()
        .extract()
    else {
        panic!("not a key package");
    };
    let kp = kp
        .validate(
            &openmls_rust_crypto::RustCrypto::default(),
            ProtocolVersion::Mls10,
        )
        .unwrap();
    let seed = arx_identity::secret_file::load(&carol.dir.path().join("installation.key"))
        .unwrap()
        .unwrap();
    let signer = arx_core::mls::mls_signer(&InstallationSigner::from_bytes(&seed));
    let url = format!("sqlite://{}", carol.dir.path().join("arx.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let commit = {
        let provider = MlsProvider::new(&mut conn);
        let mut mls = MlsGroup::load(
            openmls_traits::OpenMlsProvider::storage(&provider),
            &GroupId::from_slice(&group),
        )
        .unwrap()
        .unwrap();
        let (commit, _, _) = mls.add_members(&provider, &signer, &[kp]).unwrap();
        commit.tls_serialize_detached().unwrap()
    };
    arx_e2e::publish(&mut raw, vec![arx_e2e::group_envelope(&group, commit)])
        .await
        .unwrap();

    for p in [&alice, &bob] {
        let summary = p.client.sync().await.unwrap();
        assert_eq!(summary.commits, 0, "the commit is refused");
        assert_eq!(p.client.conversation(&group).epoch().await.unwrap(), epoch);
        assert_eq!(member_count(p, &group).await, 3);
    }
    // The group goes on.
    alice
        .client
        .conversation(&group)
        .send_text("still here")
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    assert_eq!(
        bob.client
            .conversation(&group)
            .messages()
            .await
            .unwrap()
            .last()
            .unwrap()
            .text,
        "still here"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_leaves_is_removed_by_the_admin_and_reads_nothing_after() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol) = (
        tcm.person("alice").await,
        tcm.person("bob").await,
        tcm.person("carol").await,
    );
    let group = alice.group_named(Some("Trip"), &[&bob, &carol]).await;

    carol.client.conversation(&group).leave().await.unwrap();
    assert_eq!(state_of(&carol, &group).await, ConversationState::Leaving);
    assert_eq!(
        carol
            .client
            .conversation(&group)
            .send_text("can I still?")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Core(CoreCode::NotAMember)
    );

    // Alice, the admin, commits Carol's request when she next syncs.
    alice.client.sync().await.unwrap();
    assert_eq!(member_count(&alice, &group).await, 2);
    bob.client.sync().await.unwrap();
    assert_eq!(member_count(&bob, &group).await, 2);
    carol.client.sync().await.unwrap();
    assert_eq!(state_of(&carol, &group).await, ConversationState::Left);

    alice
        .client
        .conversation(&group)
        .send_text("after carol left")
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    assert_eq!(
        bob.client
            .conversation(&group)
            .messages()
            .await
            .unwrap()
            .last()
            .unwrap()
            .text,
        "after carol left"
    );
    let summary = carol.client.sync().await.unwrap();
    assert_eq!(summary.messages, 0);
    assert!(!carol
        .client
        .conversation(&group)
        .messages()
        .await
        .unwrap()
        .iter()
        .any(|m| m.text == "after carol left"));
}
