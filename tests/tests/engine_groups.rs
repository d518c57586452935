//! Group conversations between real engines through a real node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arx_core::{CoreCode, Delivery, ErrorCode, Role};
use arx_e2e::{open_engine as open, tcm, Someone, TestNode};
use arx_identity::InboxId;

fn texts(messages: &[arx_core::StoredMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_three_exchanges_messages_in_order() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol) = (
        tcm.person("alice").await,
        tcm.person("bob").await,
        tcm.person("carol").await,
    );

    let created = alice
        .client
        .create_group(Some("plans"), &[bob.inbox, carol.inbox])
        .await
        .unwrap();
    assert!(created.failed.is_empty(), "{:?}", created.failed);
    let group = created.group_id;
    for person in [&bob, &carol] {
        let summary = person.client.sync().await.unwrap();
        assert_eq!(summary.groups_joined, 1);
        assert_eq!(
            person.client.conversations().await.unwrap()[0].group_id,
            group
        );
    }
    let mut members: Vec<InboxId> = bob
        .client
        .conversation(&group)
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    members.sort();
    let mut expected = vec![alice.inbox, bob.inbox, carol.inbox];
    expected.sort();
    assert_eq!(members, expected);

    alice
        .client
        .conversation(&group)
        .send_text("hello both")
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    bob.client
        .conversation(&group)
        .send_text("hi alice")
        .await
        .unwrap();
    carol.client.sync().await.unwrap();
    carol
        .client
        .conversation(&group)
        .send_text("hey")
        .await
        .unwrap();
    for person in [&alice, &bob, &carol] {
        person.client.sync().await.unwrap();
    }

    let at_alice = alice.client.conversation(&group).messages().await.unwrap();
    assert_eq!(texts(&at_alice), vec!["hello both", "hi alice", "hey"]);
    assert!(at_alice.iter().all(|m| m.delivery == Delivery::Sent));
    assert_eq!(at_alice[1].sender_inbox, bob.inbox);
    assert_eq!(at_alice[2].sender_inbox, carol.inbox);
    for person in [&bob, &carol] {
        assert_eq!(
            texts(&person.client.conversation(&group).messages().await.unwrap()),
            vec!["hello both", "hi alice", "hey"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_client_resumes_from_its_cursors_with_nothing_lost_or_repeated() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob) = (tcm.person("alice").await, tcm.person("bob").await);
    let group = alice
        .client
        .create_group(None, &[bob.inbox])
        .await
        .unwrap()
        .group_id;
    bob.client.sync().await.unwrap();
    for i in 0..5 {
        alice
            .client
            .conversation(&group)
            .send_text(&format!("before {i}"))
            .await
            .unwrap();
    }
    bob.client.sync().await.unwrap();
    let Someone { client, dir, .. } = bob;
    drop(client);

    for i in 0..5 {
        alice
            .client
            .conversation(&group)
            .send_text(&format!("after {i}"))
            .await
            .unwrap();
    }
    let bob = open(&node, dir.path()).await;
    let summary = bob.sync().await.unwrap();
    assert_eq!(summary.messages, 5, "only what arrived while it was away");
    let again = bob.sync().await.unwrap();
    assert_eq!(again.messages, 0);
    let got = bob.conversation(&group).messages().await.unwrap();
    let expected: Vec<String> = (0..5)
        .map(|i| format!("before {i}"))
        .chain((0..5).map(|i| format!("after {i}")))
        .collect();
    assert_eq!(
        texts(&got),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_client_is_told_to_register_first() {
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = open(&node, dir.path()).await;
    let err = client.create_group(None, &[]).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Core(CoreCode::NotRegistered));
}

async fn member_inboxes(person: &Someone, group: &[u8]) -> Vec<InboxId> {
    let mut inboxes: Vec<InboxId> = person
        .client
        .conversation(group)
        .members()
        .await
        .unwrap()
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    inboxes.sort();
    inboxes.dedup();
    inboxes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_member_receives_the_ciphertext_but_cannot_decrypt_anything_after_removal() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol, dave) = (
        tcm.person("alice").await,
        tcm.person("bob").await,
        tcm.person("carol").await,
        tcm.person("dave").await,
    );
    let group = alice.group_with(&[&bob, &carol]).await;

    // A fourth joins.
    let failed = alice
        .client
        .conversation(&group)
        .add_members(&[dave.inbox])
        .await
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(dave.client.sync().await.unwrap().groups_joined, 1);
    alice
        .client
        .conversation(&group)
        .send_text("welcome dave")
        .await
        .unwrap();
    for p in [&bob, &carol, &dave] {
        p.client.sync().await.unwrap();
        assert_eq!(
            texts(&p.client.conversation(&group).messages().await.unwrap()).last(),
            Some(&"welcome dave")
        );
    }

    // The second leaves by removal.
    alice
        .client
        .conversation(&group)
        .remove_members(&[bob.inbox])
        .await
        .unwrap();
    bob.client.sync().await.unwrap();
    let mut expected = vec![alice.inbox, carol.inbox, dave.inbox];
    expected.sort();
    assert_eq!(member_inboxes(&alice, &group).await, expected);

    let mut raw = node.client().await;
    let before = arx_e2e::query_all(&mut raw, &[arx_identity::Topic::group(&group).unwrap()])
        .await
        .len();
    for i in 0..3 {
        alice
            .client
            .conversation(&group)
            .send_text(&format!("secret {i}"))
            .await
            .unwrap();
    }
    let after = arx_e2e::query_all(&mut raw, &[arx_identity::Topic::group(&group).unwrap()])
        .await
        .len();
    assert_eq!(
        after - before,
        3,
        "the ciphertexts are on the node, where bob can read them"
    );

    let summary = bob.client.sync().await.unwrap();
    assert_eq!(
        summary.messages, 0,
        "bob decrypts nothing sent after his removal"
    );
    assert_eq!(
        summary.skipped, 3,
        "bob received all three ciphertexts and failed on each"
    );
    assert!(
        !texts(&bob.client.conversation(&group).messages().await.unwrap())
            .iter()
            .any(|t| t.starts_with("secret"))
    );
    for p in [&carol, &dave] {
        p.client.sync().await.unwrap();
        let got = texts(&p.client.conversation(&group).messages().await.unwrap())
            .into_iter()
            .filter(|t| t.starts_with("secret"))
            .count();
        assert_eq!(got, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_committing_at_once_never_fork_the_group() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let (alice, bob, carol, dave, erin) = (
        tcm.person("alice").await,
        tcm.person("bob").await,
        tcm.person("carol").await,
        tcm.person("dave").await,
        tcm.person("erin").await,
    );
    let group = alice
        .client
        .create_group(None, &[bob.inbox, carol.inbox])
        .await
        .unwrap()
        .group_id;
    // Two admins: alice (the creator, super admin) makes carol an admin.
    alice
        .client
        .conversation(&group)
        .set_role(&carol.inbox, Role::Admin)
        .await
        .unwrap();
    for p in [&bob, &carol] {
        p.client.sync().await.unwrap();
    }
    // Alice adds dave while carol adds erin, from the same epoch.
    let (to_dave, to_erin) = ([dave.inbox], [erin.inbox]);
    let (at_alice, at_carol) = (
        alice.client.conversation(&group),
        carol.client.conversation(&group),
    );
    let (a, c) = tokio::join!(
        at_alice.add_members(&to_dave),
        at_carol.add_members(&to_erin),
    );
    // The loser's intent is rebuilt on the winner's epoch by itself: both adds land.
    a.unwrap();
    c.unwrap();
    for p in [&alice, &bob, &carol, &dave, &erin] {
        p.client.sync().await.unwrap();
    }
    let epoch = alice.client.conversation(&group).epoch().await.unwrap();
    let members = member_inboxes(&alice, &group).await;
    assert_eq!(members.len(), 5);
    for p in [&bob, &carol, &dave, &erin] {
        assert_eq!(
            p.client.conversation(&group).epoch().await.unwrap(),
            epoch,
            "same epoch everywhere"
        );
        assert_eq!(
            member_inboxes(p, &group).await,
            members,
            "same membership everywhere"
        );
    }
    alice
        .client
        .conversation(&group)
        .send_text("all here?")
        .await
        .unwrap();
    for p in [&bob, &carol, &dave, &erin] {
        p.client.sync().await.unwrap();
        assert_eq!(
            texts(&p.client.conversation(&group).messages().await.unwrap()).last(),
            Some(&"all here?")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_by_an_installation_no_longer_associated_is_rejected_by_every_member() {
    use arx_identity::{MemberId, Signature, UnsignedAction, UnsignedIdentityUpdate};

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
        .create_group(None, &[bob.inbox, dave.inbox])
        .await
        .unwrap()
        .group_id;
    alice
        .client
        .conversation(&group)
        .set_role(&bob.inbox, Role::Admin)
        .await
        .unwrap();
    for p in [&bob, &dave] {
        p.client.sync().await.unwrap();
    }
    let epoch = alice.client.conversation(&group).epoch().await.unwrap();

    // Bob's wallet revokes his installation; his engine still holds the group's keys.
    let revoke = UnsignedIdentityUpdate {
        inbox_id: bob.inbox,
        client_timestamp_ns: 1_800_000_000_000_000_000,
        actions: vec![UnsignedAction::RevokeAssociation {
            revoked_member: MemberId::Installation(bob.client.installation_key()),
        }],
    };
    let text = revoke.signature_text();
    let signed = revoke
        .attach(
            &[(
                MemberId::Wallet(bob.wallet.address()),
                Signature::Eip191(bob.wallet.sign_text(&text)),
            )],
            Some(bob.wallet.address()),
        )
        .unwrap();
    let mut raw = node.client().await;
    arx_e2e::publish(&mut raw, vec![arx_e2e::identity_envelope(&signed)])
        .await
        .unwrap();

    // The revoked installation commits anyway (adding carol).
    bob.client
        .conversation(&group)
        .add_members(&[carol.inbox])
        .await
        .unwrap();

    for p in [&alice, &dave] {
        let summary = p.client.sync().await.unwrap();
        assert_eq!(summary.commits, 0, "the commit is refused");
        assert_eq!(summary.skipped, 1);
        assert_eq!(
            p.client.conversation(&group).epoch().await.unwrap(),
            epoch,
            "nobody moved to the rogue epoch"
        );
    }
    assert_eq!(
        carol.client.sync().await.unwrap().groups_joined,
        0,
        "carol refuses the welcome"
    );

    // The group stays usable for everyone else.
    alice
        .client
        .conversation(&group)
        .send_text("still here")
        .await
        .unwrap();
    dave.client.sync().await.unwrap();
    assert_eq!(
        texts(&dave.client.conversation(&group).messages().await.unwrap()).last(),
        Some(&"still here")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_senders_interleaving_250_messages_each_are_seen_once_in_each_senders_order() {
    use rand::seq::SliceRandom;

    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let mut people = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        people.push(tcm.person(name).await);
    }
    let others: Vec<InboxId> = people[1..].iter().map(|p| p.inbox).collect();
    let group = people[0]
        .client
        .create_group(None, &others)
        .await
        .unwrap()
        .group_id;
    for p in &people[1..] {
        p.client.sync().await.unwrap();
    }
    // A random interleaving of 4 × 250 sends.
    let mut order: Vec<usize> = (0..4).flat_map(|s| std::iter::repeat_n(s, 250)).collect();
    order.shuffle(&mut rand::thread_rng());
    let mut next = [0usize; 4];
    for sender in order {
        people[sender]
            .client
            .conversation(&group)
            .send_text(&format!("{sender}:{}", next[sender]))
            .await
            .unwrap();
        next[sender] += 1;
        if rand::random::<u8>() < 16 {
            people[rand::random::<usize>() % 4]
                .client
                .sync()
                .await
                .unwrap();
        }
    }
    for p in &people {
        p.client.sync().await.unwrap();
        let messages = p.client.conversation(&group).messages().await.unwrap();
        assert_eq!(messages.len(), 1000, "every message exactly once");
        let mut seen = [0usize; 4];
        for m in &messages {
            let (sender, n) = m.text.split_once(':').unwrap();
            let (sender, n): (usize, usize) = (sender.parse().unwrap(), n.parse().unwrap());
            assert_eq!(n, seen[sender], "in each sender's order");
            seen[sender] += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_two_members_commit_are_each_delivered_once() {
    let node = TestNode::start().await;
    let tcm = tcm(&node);
    let mut people = Vec::new();
    for i in 0..7 {
        people.push(tcm.person(&format!("person {i}")).await);
    }
    let founders = &people[..5];
    let others: Vec<InboxId> = founders[1..].iter().map(|p| p.inbox).collect();
    let group = founders[0]
        .client
        .create_group(None, &others)
        .await
        .unwrap()
        .group_id;
    founders[0]
        .client
        .conversation(&group)
        .set_role(&founders[2].inbox, Role::Admin)
        .await
        .unwrap();
    for p in &founders[1..] {
        p.client.sync().await.unwrap();
    }

    // Two admins add someone from the same epoch while all five send, each in its own task as
    // the app runs concurrent commands.
    let people = std::sync::Arc::new(people);
    let add = |adder: usize, newcomer: usize| {
        let (people, group) = (people.clone(), group.clone());
        tokio::spawn(async move {
            let member = [people[newcomer].inbox];
            people[adder]
                .client
                .conversation(&group)
                .add_members(&member)
                .await
                .map(|_| ())
        })
    };
    let send = |sender: usize| {
        let (people, group) = (people.clone(), group.clone());
        tokio::spawn(async move {
            people[sender]
                .client
                .conversation(&group)
                .send_text(&format!("during {sender}"))
                .await
                .map(|_| ())
        })
    };
    let tasks = vec![
        add(0, 5),
        add(2, 6),
        send(0),
        send(1),
        send(2),
        send(3),
        send(4),
    ];
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let (founders, _) = people.split_at(5);
    // Two rounds: a message a commit overtook is encrypted again by its sender when the sender
    // reads its own echo, and the others read the new copy on their next sync.
    for _ in 0..2 {
        for p in people.iter() {
            p.client.sync().await.unwrap();
        }
    }
    let epoch = founders[0]
        .client
        .conversation(&group)
        .epoch()
        .await
        .unwrap();
    for p in founders {
        assert_eq!(
            p.client.conversation(&group).epoch().await.unwrap(),
            epoch,
            "no fork"
        );
        assert_eq!(member_inboxes(p, &group).await.len(), 7);
        let mut during: Vec<String> = p
            .client
            .conversation(&group)
            .messages()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .filter(|t| t.starts_with("during"))
            .collect();
        during.sort();
        assert_eq!(
            during,
            (0..5).map(|i| format!("during {i}")).collect::<Vec<_>>(),
            "each once"
        );
    }
}
