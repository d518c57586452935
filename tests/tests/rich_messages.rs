//! Rich messaging on a real node with two real Kubo daemons joined to each other: files cross
//! IPFS sealed, images lose their metadata, and replies, reactions, receipts, edits and
//! deletes reach every member.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, sync::Arc};

use arx_core::{testing::TestClient, Client, ErrorCode, FileSource, ReactionCount, StoredMessage};
use arx_e2e::{kubo::Kubo, TestNode};
use arx_media::{picture::fixtures, MediaCode};
use rand::RngCore;

fn media_code(err: &arx_core::CoreError) -> Option<MediaCode> {
    match err.code() {
        ErrorCode::Media(code) => Some(code),
        _ => None,
    }
}

/// Files the media cache of `client` holds (opened files, not temporaries).
fn cached(client: &Client) -> Vec<String> {
    let dir = client.data_dir().join("media");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether any file under `dir` contains `needle`.
fn any_file_contains(dir: &Path, needle: &[u8]) -> bool {
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    return true;
                }
            }
        }
    }
    false
}

/// Alice and bob in a DM on a real node, each with their own Kubo daemon (joined to the
/// other's).
struct MediaDm {
    node: TestNode,
    kubo: (Kubo, Kubo),
    alice: TestClient,
    bob: TestClient,
    dm: Vec<u8>,
}

async fn media_dm() -> MediaDm {
    let node = TestNode::start().await;
    let (kubo_a, kubo_b) = Kubo::pair().await;
    let tcm = arx_e2e::tcm(&node);
    let (alice, bob) = (tcm.alice().await, tcm.bob().await);
    alice.client.use_media(kubo_a.store(), None, None).unwrap();
    bob.client.use_media(kubo_b.store(), None, None).unwrap();
    let dm = arx_e2e::open_dm(&alice.client, &bob.inbox).await;
    MediaDm {
        node,
        kubo: (kubo_a, kubo_b),
        alice,
        bob,
        dm,
    }
}

async fn last_message(client: &Client, group: &[u8]) -> StoredMessage {
    client.sync().await.unwrap();
    client
        .conversation(group)
        .messages()
        .await
        .unwrap()
        .pop()
        .expect("a message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_cross_ipfs_sealed_byte_identical_and_tampering_is_refused() {
    let MediaDm {
        node: _node,
        kubo: (kubo_a, kubo_b),
        alice,
        bob,
        dm,
    } = media_dm().await;
    let (alice, bob) = (&alice.client, &bob.client);

    // 10 MB of random bytes, sent from a file on disk.
    let files = tempfile::tempdir().unwrap();
    let mut plain = vec![0u8; 10_000_000];
    rand::thread_rng().fill_bytes(&mut plain);
    let path = files.path().join("archive.bin");
    std::fs::write(&path, &plain).unwrap();
    let sent = alice
        .conversation(&dm)
        .send_files(vec![FileSource::Path(path)], "the archive", false, None)
        .await
        .unwrap();
    assert!(sent.failure.is_none(), "{:?}", sent.failure);
    let attachment = sent.message.attachments[0].clone();
    assert_eq!(attachment.name, "archive.bin");
    assert_eq!(attachment.size, 10_000_000);
    // Only ciphertext reached IPFS: no stretch of the file is in alice's block store.
    for at in [0, 5_000_000, 9_999_000] {
        assert!(!any_file_contains(
            &kubo_a.blocks_dir(),
            &plain[at..at + 64]
        ));
    }

    // Bob receives the message and its description; he has none of the bytes yet.
    let received = last_message(bob, &dm).await;
    assert_eq!(received.text, "the archive");
    assert_eq!(received.attachments.len(), 1);
    assert!(!kubo_b.has_locally(&attachment.sealed.cid));

    // A forged message: alice's key and digest, but a CID whose bytes have one byte flipped.
    let sealed =
        arx_media::store::cat_bounded(kubo_a.store().as_ref(), &attachment.sealed.cid, 11_000_000)
            .await
            .unwrap();
    let mut flipped = sealed.clone();
    flipped[4_000_000] ^= 0x01;
    let forged_cid = kubo_a
        .store()
        .add(Box::new(std::io::Cursor::new(flipped)))
        .await
        .unwrap();
    let mut forged = attachment.clone();
    forged.sealed.cid = forged_cid;
    alice
        .conversation(&dm)
        .forward_files(&[forged], "forged", false)
        .await
        .unwrap();
    let forged_message = last_message(bob, &dm).await;
    let refused = bob
        .open_attachment(forged_message.id, 0, None)
        .await
        .unwrap_err();
    assert_eq!(
        media_code(&refused),
        Some(MediaCode::DigestMismatch),
        "{refused}"
    );
    assert!(
        cached(bob).is_empty(),
        "nothing was kept: {:?}",
        cached(bob)
    );

    // The real one crosses IPFS through bob's own daemon, byte-identical.
    let seen = Arc::new(std::sync::Mutex::new(0u64));
    let seen_by = seen.clone();
    let progress: arx_media::Progress = Arc::new(move |done, _| *seen_by.lock().unwrap() = done);
    let opened = bob
        .open_attachment(received.id, 0, Some(progress))
        .await
        .unwrap();
    assert!(std::fs::read(&opened).unwrap() == plain, "byte-identical");
    assert_eq!(
        *seen.lock().unwrap(),
        arx_media::seal::sealed_len(10_000_000)
    );
    assert!(
        kubo_b.has_locally(&attachment.sealed.cid),
        "fetched through bob's daemon"
    );
    let saved = files.path().join("saved.bin");
    bob.save_attachment(received.id, 0, &saved, None)
        .await
        .unwrap();
    assert!(std::fs::read(&saved).unwrap() == plain);

    // A file over the limit is refused before anything is uploaded.
    let big = files.path().join("big.iso");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(arx_media::MAX_FILE_BYTES + 1).unwrap();
    let before = alice.conversation(&dm).messages().await.unwrap().len();
    let refused = alice
        .conversation(&dm)
        .send_files(vec![FileSource::Path(big)], "", false, None)
        .await
        .unwrap_err();
    assert_eq!(media_code(&refused), Some(MediaCode::TooLarge), "{refused}");
    assert!(refused.to_string().contains("big.iso"));
    assert_eq!(
        alice.conversation(&dm).messages().await.unwrap().len(),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_arrives_with_a_thumbnail_and_without_its_gps_tags() {
    let MediaDm {
        node: _node,
        kubo: _kubo,
        alice,
        bob,
        dm,
    } = media_dm().await;
    let (alice, bob) = (&alice.client, &bob.client);

    let photo = fixtures::jpeg_with_gps(1200, 800);
    assert!(fixtures::has_metadata(&photo));
    alice
        .conversation(&dm)
        .send_files(
            vec![FileSource::Bytes {
                name: "IMG_0042.jpeg".into(),
                bytes: photo,
            }],
            "",
            false,
            None,
        )
        .await
        .unwrap();
    let received = last_message(bob, &dm).await;
    let image = &received.attachments[0];
    assert_eq!(image.mime_type, "image/jpeg");
    assert_eq!((image.width, image.height), (Some(1200), Some(800)));
    assert_eq!(image.name, "IMG_0042.jpg");
    let thumbnail = image.thumbnail.as_ref().expect("a thumbnail");
    assert!(!fixtures::has_metadata(thumbnail), "the thumbnail is clean");
    let opened = bob.open_attachment(received.id, 0, None).await.unwrap();
    let stored = std::fs::read(opened).unwrap();
    assert!(
        !fixtures::has_metadata(&stored),
        "the stored image is clean"
    );
    assert!(arx_media::picture::preview_is_acceptable(&stored));
}

fn counts(reactions: &[ReactionCount]) -> Vec<(String, usize)> {
    reactions
        .iter()
        .map(|r| (r.emoji.clone(), r.count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reactions_receipts_edits_and_deletes_reach_every_member() {
    let node = TestNode::start().await;
    let (kubo_a, kubo_b) = Kubo::pair().await;
    let tcm = arx_e2e::tcm(&node);
    let alice = tcm.alice().await;
    let bob = tcm.bob().await;
    let carol = tcm.carol().await;
    alice.client.use_media(kubo_a.store(), None, None).unwrap();
    bob.client.use_media(kubo_b.store(), None, None).unwrap();
    let group = alice.group_with(&[&bob, &carol]).await;
    let everyone = [&alice, &bob, &carol];
    for p in everyone {
        p.client.sync().await.unwrap();
    }

    let lunch = alice
        .client
        .conversation(&group)
        .send_text("lunch?")
        .await
        .unwrap();
    // Each member's local id of alice's message.
    let mut lunch_ids = Vec::new();
    for p in everyone {
        lunch_ids.push(last_message(&p.client, &group).await.id);
    }
    assert_eq!(lunch_ids[0], lunch);

    // Bob replies; carol and bob react; bob takes one of his reactions back.
    let reply = bob
        .client
        .conversation(&group)
        .reply(lunch_ids[1], "yes!", false)
        .await
        .unwrap();
    assert!(reply.failure.is_none());
    carol.client.sync().await.unwrap();
    carol
        .client
        .conversation(&group)
        .react(lunch_ids[2], "👍", false)
        .await
        .unwrap();
    bob.client
        .conversation(&group)
        .react(lunch_ids[1], "👍", false)
        .await
        .unwrap();
    bob.client
        .conversation(&group)
        .react(lunch_ids[1], "🎉", false)
        .await
        .unwrap();
    bob.client
        .conversation(&group)
        .react(lunch_ids[1], "🎉", true)
        .await
        .unwrap();
    for (p, lunch_id) in everyone.iter().zip(&lunch_ids) {
        p.client.sync().await.unwrap();
        let conversation = p.client.conversation(&group);
        let reactions = conversation.reactions(*lunch_id).await.unwrap();
        assert_eq!(counts(&reactions), vec![("👍".to_owned(), 2)]);
        // Reactions are not messages in the list: lunch and the reply only.
        let shown = conversation.messages().await.unwrap();
        assert_eq!(
            shown.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            vec!["lunch?", "yes!"]
        );
        let quoted = conversation
            .replied_message(shown[1].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(quoted.id, *lunch_id);
    }
    assert!(
        bob.client
            .conversation(&group)
            .reactions(lunch_ids[1])
            .await
            .unwrap()[0]
            .mine
    );
    assert!(
        !alice
            .client
            .conversation(&group)
            .reactions(lunch)
            .await
            .unwrap()[0]
            .mine
    );

    // Receipts: one per view with something new, none for a view with nothing new.
    let topic = arx_identity::Topic::group(&group).unwrap();
    for p in [&bob, &carol] {
        let conversation = p.client.conversation(&group);
        conversation.mark_read().await.unwrap();
        conversation.send_queued().await.unwrap();
    }
    let envelopes = arx_e2e::query_all(&mut node.client().await, std::slice::from_ref(&topic))
        .await
        .len();
    for p in [&bob, &carol] {
        let conversation = p.client.conversation(&group);
        conversation.mark_read().await.unwrap();
        conversation.send_queued().await.unwrap();
    }
    assert_eq!(
        arx_e2e::query_all(&mut node.client().await, std::slice::from_ref(&topic))
            .await
            .len(),
        envelopes,
        "a second view with nothing new sends no receipt"
    );
    alice.client.sync().await.unwrap();
    let readers = alice
        .client
        .conversation(&group)
        .read_receipts()
        .await
        .unwrap();
    let mut inboxes: Vec<_> = readers.iter().map(|(i, _)| *i).collect();
    inboxes.sort();
    let mut expected = [bob.inbox, carol.inbox];
    expected.sort();
    assert_eq!(inboxes, expected);
    // Bob read up to his own reply's target at least; carol up to bob's reply.
    assert!(readers.iter().all(|(_, id)| *id >= lunch));

    // Alice edits; bob may not edit her message.
    let refused = bob
        .client
        .conversation(&group)
        .edit(lunch_ids[1], "free food", false)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), arx_core::CoreCode::NotPermitted.into());
    alice
        .client
        .conversation(&group)
        .edit(lunch, "lunch at 1?", false)
        .await
        .unwrap();
    for (p, lunch_id) in everyone.iter().zip(&lunch_ids) {
        p.client.sync().await.unwrap();
        let m = p.client.message(*lunch_id).await.unwrap();
        assert_eq!(m.text, "lunch at 1?");
        assert!(m.edited_at_ns.is_some());
        let history = p
            .client
            .conversation(&group)
            .earlier_versions(*lunch_id)
            .await
            .unwrap();
        assert_eq!(
            history.iter().map(|v| v.text.as_str()).collect::<Vec<_>>(),
            vec!["lunch?"]
        );
    }

    // Alice sends a photo, bob opens it, alice deletes it for everyone: its content, history
    // and bob's opened file are gone; "deleted" is left.
    let photo = alice
        .client
        .conversation(&group)
        .send_files(
            vec![FileSource::Bytes {
                name: "menu.png".into(),
                bytes: fixtures::jpeg_with_gps(64, 64),
            }],
            "menu",
            false,
            None,
        )
        .await
        .unwrap()
        .message;
    let bobs_photo = last_message(&bob.client, &group).await;
    bob.client
        .open_attachment(bobs_photo.id, 0, None)
        .await
        .unwrap();
    assert_eq!(cached(&bob.client).len(), 1);
    alice
        .client
        .conversation(&group)
        .delete_for_everyone(photo.id)
        .await
        .unwrap();
    for p in everyone {
        p.client.sync().await.unwrap();
        let shown = p.client.conversation(&group).messages().await.unwrap();
        let last = shown.last().unwrap();
        assert!(last.deleted, "deleted for {:?}", p.inbox);
        assert_eq!(last.text, "This message was deleted");
        assert!(last.attachments.is_empty());
    }
    assert!(cached(&bob.client).is_empty(), "bob's opened file is gone");
    assert!(
        cached(&alice.client).is_empty(),
        "alice's cached photo is gone"
    );
}
