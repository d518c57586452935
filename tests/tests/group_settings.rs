//! Group profiles, policies and system lines; requests and consent; disappearing messages.
//! A real node, real engines, and for files two real Kubo daemons.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use arx_core::{
    mls::MlsProvider, Consent, CoreCode, ErrorCode, FileSource, GroupMetadata, Policies, Policy,
    Role,
};
use arx_e2e::{kubo::Kubo, tcm, Someone, TestNode};
use arx_identity::InstallationSigner;
use openmls::prelude::{tls_codec::Serialize as _, GroupId, MlsGroup};
use sqlx::Connection as _;

async fn lines(p: &Someone, group: &[u8]) -> Vec<String> {
    let (page, _) = p
        .client
        .conversation(group)
        .message_overviews(None, 100)
        .await
        .unwrap();
    page.into_iter()
        .filter(|m| m.message.system.is_some())
        .map(|m| m.message.text)
        .collect()
}

/// The conversations in `p`'s list, and in their Requests.
async fn listed(p: &Someone) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let ids = |list: Vec<arx_core::Overview>| {
        list.into_iter()
            .map(|o| o.conversation.group_id)
            .collect::<Vec<_>>()
    };
    (
        ids(p.client.overviews().await.unwrap()),
        ids(p.client.request_overviews().await.unwrap()),
    )
}

async fn description(p: &Someone, group: &[u8]) -> Option<String> {
    p.client
        .conversation(group)
        .settings()
        .await
        .unwrap()
        .description
}

/// Publishes a commit changing the group's description, built straight from `p`'s MLS state
/// (bypassing its engine's own permission check).
async fn forged_description(node: &TestNode, p: &Someone, group: &[u8], text: &str) {
    let seed = arx_identity::secret_file::load(&p.dir.path().join("installation.key"))
        .unwrap()
        .unwrap();
    let signer = arx_core::mls::mls_signer(&InstallationSigner::from_bytes(&seed));
    let url = format!("sqlite://{}", p.dir.path().join("arx.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let commit = {
        let provider = MlsProvider::new(&mut conn);
        let mut mls = MlsGroup::load(
            openmls_traits::OpenMlsProvider::storage(&provider),
            &GroupId::from_slice(group),
        )
        .unwrap()
        .unwrap();
        let mut settings = GroupMetadata::of_group(&mls).unwrap();
        settings.description = Some(text.into());
        let (commit, _, _) = mls
            .update_group_context_extensions(&provider, settings.to_extensions().unwrap(), &signer)
            .unwrap();
        commit.tls_serialize_detached().unwrap()
    };
    let mut raw = node.client().await;
    arx_e2e::publish(&mut raw, vec![arx_e2e::group_envelope(group, commit)])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_the_policy_does_not_allow_is_refused_by_every_member() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol) = (tcm.alice().await, tcm.bob().await, tcm.carol().await);
    let group = alice.group_with(&[&bob, &carol]).await;
    let everyone = [&alice, &bob, &carol];

    alice
        .client
        .conversation(&group)
        .set_description("Saturday hike")
        .await
        .unwrap();
    alice
        .client
        .conversation(&group)
        .set_role(&bob.inbox, Role::Admin)
        .await
        .unwrap();
    for p in everyone {
        p.client.sync().await.unwrap();
        assert_eq!(
            description(p, &group).await.as_deref(),
            Some("Saturday hike")
        );
    }

    // Carol, a member, may not edit the profile: her engine refuses, and so does every member
    // when she publishes the commit anyway.
    let refused = carol
        .client
        .conversation(&group)
        .set_description("free crypto")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Core(CoreCode::NotPermitted));
    let epoch = alice.client.conversation(&group).epoch().await.unwrap();
    forged_description(&node, &carol, &group, "free crypto").await;
    for p in [&alice, &bob] {
        let summary = p.client.sync().await.unwrap();
        assert_eq!(summary.commits, 0, "the commit is refused");
        assert_eq!(p.client.conversation(&group).epoch().await.unwrap(), epoch);
        assert_eq!(
            description(p, &group).await.as_deref(),
            Some("Saturday hike")
        );
    }

    // Only a super admin changes the policies; then anyone may edit the profile.
    let refused = bob
        .client
        .conversation(&group)
        .set_policies(Policies {
            update_profile: Policy::Everyone,
            ..Policies::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Core(CoreCode::NotPermitted));
    alice
        .client
        .conversation(&group)
        .set_policies(Policies {
            update_profile: Policy::Everyone,
            ..Policies::default()
        })
        .await
        .unwrap();
    carol.client.sync().await.unwrap();
    carol
        .client
        .conversation(&group)
        .set_description("Sunday hike")
        .await
        .unwrap();
    for p in everyone {
        p.client.sync().await.unwrap();
        assert_eq!(description(p, &group).await.as_deref(), Some("Sunday hike"));
        let seen = lines(p, &group).await;
        assert!(
            seen.iter().any(|l| l.ends_with("changed the description")),
            "{seen:?}"
        );
        assert!(seen.iter().any(|l| l.contains("an admin")), "{seen:?}");
        assert!(
            seen.iter()
                .any(|l| l.ends_with("changed who may edit the profile: everyone")),
            "{seen:?}"
        );
        assert!(seen.iter().any(|l| l.contains(" added ")), "{seen:?}");
    }
    let mine = lines(&alice, &group).await;
    assert!(
        mine.iter().any(|l| l == "You changed the description"),
        "{mine:?}"
    );
    assert!(mine.iter().any(|l| l.starts_with("You added ")), "{mine:?}");
    let theirs = lines(&carol, &group).await;
    assert!(theirs[0].ends_with(" added you"), "{theirs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_dm_lands_in_requests_and_a_blocked_inbox_stays_out() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    let (stranger, spammer) = (tcm.person("stranger").await, tcm.person("spammer").await);

    // A stranger's DM waits in Requests; accepting it moves it to the list.
    let dm = arx_e2e::open_dm(&stranger.client, &alice.inbox).await;
    stranger
        .client
        .conversation(&dm)
        .send_text("hello?")
        .await
        .unwrap();
    alice.client.sync().await.unwrap();
    assert_eq!(listed(&alice).await, (vec![], vec![dm.clone()]));
    alice.client.conversation(&dm).accept().await.unwrap();
    assert_eq!(listed(&alice).await, (vec![dm.clone()], vec![]));
    assert_eq!(
        alice.client.consent_of(&stranger.inbox).await.unwrap(),
        Consent::Allowed
    );

    // Answering a request accepts it: bob replies to alice's first DM.
    let to_bob = arx_e2e::open_dm(&alice.client, &bob.inbox).await;
    alice
        .client
        .conversation(&to_bob)
        .send_text("hi bob")
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    assert_eq!(listed(&bob).await.1, vec![to_bob.clone()]);
    bob.client
        .conversation(&to_bob)
        .send_text("hi!")
        .await
        .unwrap();
    assert_eq!(listed(&bob).await, (vec![to_bob.clone()], vec![]));

    // A spammer's group invitation is blocked: it and everything later from them stays out.
    let spam = spammer
        .client
        .create_group(Some("WIN"), &[alice.inbox])
        .await
        .unwrap()
        .group_id;
    alice.client.sync().await.unwrap();
    assert_eq!(listed(&alice).await.1, vec![spam.clone()]);
    alice.client.conversation(&spam).block().await.unwrap();
    assert_eq!(
        alice.client.consent_of(&spammer.inbox).await.unwrap(),
        Consent::Denied
    );
    spammer
        .client
        .conversation(&spam)
        .send_text("click here")
        .await
        .unwrap();
    let spam_dm = arx_e2e::open_dm(&spammer.client, &alice.inbox).await;
    spammer
        .client
        .conversation(&spam_dm)
        .send_text("hey")
        .await
        .unwrap();
    let again = spammer
        .client
        .create_group(Some("WIN AGAIN"), &[alice.inbox])
        .await
        .unwrap()
        .group_id;
    alice.client.sync().await.unwrap();
    let (list, requests) = listed(&alice).await;
    for hidden in [&spam, &spam_dm, &again] {
        assert!(!list.contains(hidden) && !requests.contains(hidden));
    }
    let all = alice.client.conversations().await.unwrap();
    assert!(all
        .iter()
        .filter(|c| [&spam, &spam_dm, &again].contains(&&c.group_id))
        .all(|c| c.consent == Consent::Denied));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disappearing_message_is_gone_from_every_members_database_and_cache() {
    let node = TestNode::start().await;
    let (kubo_a, kubo_b) = Kubo::pair().await;
    let tcm = tcm(&node);
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    alice.client.use_media(kubo_a.store(), None, None).unwrap();
    bob.client.use_media(kubo_b.store(), None, None).unwrap();
    let dm = arx_e2e::open_dm(&alice.client, &bob.inbox).await;
    alice
        .client
        .conversation(&dm)
        .send_text("before")
        .await
        .unwrap();
    bob.client.sync().await.unwrap();

    // Either person of a DM sets the timer; both apply it.
    bob.client
        .conversation(&dm)
        .set_disappearing(Some(Duration::from_secs(10)))
        .await
        .unwrap();
    alice.client.sync().await.unwrap();
    alice
        .client
        .conversation(&dm)
        .send_text("this goes away")
        .await
        .unwrap();
    alice
        .client
        .conversation(&dm)
        .send_files(
            vec![FileSource::Bytes {
                name: "secret.png".into(),
                bytes: arx_media::picture::fixtures::jpeg_with_gps(32, 32),
            }],
            "",
            false,
            None,
        )
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    let photo = bob
        .client
        .conversation(&dm)
        .messages()
        .await
        .unwrap()
        .into_iter()
        .find(|m| !m.attachments.is_empty())
        .unwrap();
    bob.client.open_attachment(photo.id, 0, None).await.unwrap();
    for p in [&alice, &bob] {
        let lines = lines(p, &dm).await;
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("set messages to disappear after 10 seconds")),
            "{lines:?}"
        );
    }

    // Wait for the timer (the engine says when), then each device's upkeep removes them.
    let until = alice.client.next_expiry_ns().await.unwrap().unwrap();
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        if now > until + 2_000_000_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for p in [&alice, &bob] {
        p.client.sync().await.unwrap();
        let texts: Vec<String> = p
            .client
            .conversation(&dm)
            .messages()
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.system.is_none())
            .map(|m| m.text)
            .collect();
        assert_eq!(
            texts,
            vec!["before"],
            "only the message sent before the timer stays"
        );
        let url = format!("sqlite://{}", p.dir.path().join("arx.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let (left,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM messages WHERE fallback LIKE '%goes away%' \
             OR type_id = 'arx.attachments/1'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(left, 0, "nothing of them is in the database");
        let cached = std::fs::read_dir(p.client.data_dir().join("media"))
            .unwrap()
            .count();
        assert_eq!(cached, 0, "nothing of them is in the cache");
    }
}
