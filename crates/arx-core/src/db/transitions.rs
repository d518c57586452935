//! Each guarded state change refuses a row in any state it does not start from, and changes
//! nothing then.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use arx_identity::{InboxId, InstallationSigner, Topic};
use arx_proto::EncodedContent;

use crate::error::CoreCode;

use super::{
    conversations::{self, ConversationKind, ConversationState, NewConversation},
    cursors,
    intents::{self, Attempt, IntentKind, IntentState},
    messages, Database, Delivery, Transition,
};

const GROUP: &[u8] = b"group-0123456789";

async fn database() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("arx.db")).await.unwrap();
    let mut tx = db.write_tx().await.unwrap();
    let new = NewConversation {
        group_id: GROUP,
        kind: ConversationKind::Group,
        name: Some("plans"),
        dm_peer: None,
        created_at_ns: 1,
        joined_epoch: 0,
        consent: super::Consent::Allowed,
        invited_by: None,
    };
    conversations::insert(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    (dir, db)
}

async fn intent(db: &Database, kind: IntentKind) -> i64 {
    intents::insert(&db.read, GROUP, kind, b"data", 1)
        .await
        .unwrap()
}

async fn state(db: &Database, id: i64) -> IntentState {
    intents::state(&db.read, id).await.unwrap().unwrap()
}

/// Records an attempt with payload hash `hash` on intent `id`, which must take it.
async fn prepared(db: &Database, id: i64, hash: &[u8; 32]) {
    intents::record_attempt(&db.read, id, &attempt(hash))
        .await
        .unwrap()
        .required("an intent to publish")
        .unwrap();
}

/// A new intent of `kind` whose attempt with hash `hash` the node has.
async fn published(db: &Database, kind: IntentKind, hash: &[u8; 32]) -> i64 {
    let id = intent(db, kind).await;
    prepared(db, id, hash).await;
    intents::mark_published(&db.read, id, hash)
        .await
        .unwrap()
        .required("a prepared intent")
        .unwrap();
    id
}

fn attempt(hash: &[u8; 32]) -> Attempt<'_> {
    Attempt {
        payload: b"payload",
        hash,
        epoch: 3,
        welcome: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_is_recorded_only_on_an_intent_to_publish() {
    let (_dir, db) = database().await;
    let id = intent(&db, IntentKind::Rename).await;
    let first = [1u8; 32];
    assert!(intents::record_attempt(&db.read, id, &attempt(&first))
        .await
        .unwrap()
        .made());
    assert_eq!(
        intents::mark_published(&db.read, id, &first).await.unwrap(),
        Transition::Made
    );
    let second = [2u8; 32];
    assert_eq!(
        intents::record_attempt(&db.read, id, &attempt(&second))
            .await
            .unwrap(),
        Transition::Refused,
        "a published intent gets no new attempt without a retry"
    );
    let open = intents::open_by_hash(&db.read, &first).await.unwrap();
    assert_eq!(
        open.map(|o| o.0),
        Some(id),
        "the published attempt is unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn published_is_refused_for_another_attempts_hash_and_from_any_later_state() {
    let (_dir, db) = database().await;
    let id = intent(&db, IntentKind::Message).await;
    let hash = [7u8; 32];
    prepared(&db, id, &hash).await;
    assert_eq!(
        intents::mark_published(&db.read, id, &[8u8; 32])
            .await
            .unwrap(),
        Transition::Refused,
        "an attempt replaced meanwhile is not the one the node acknowledged"
    );
    assert_eq!(state(&db, id).await, IntentState::ToPublish);
    assert!(intents::mark_published(&db.read, id, &hash)
        .await
        .unwrap()
        .made());
    assert_eq!(
        intents::mark_published(&db.read, id, &hash).await.unwrap(),
        Transition::Refused
    );
    assert!(intents::complete(&db.read, id).await.unwrap().made());
    assert_eq!(
        intents::mark_published(&db.read, id, &hash).await.unwrap(),
        Transition::Refused
    );
    assert_eq!(state(&db, id).await, IntentState::Committed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_intent_is_never_completed_retried_or_failed_again() {
    let (_dir, db) = database().await;
    let done = intent(&db, IntentKind::AddMembers).await;
    assert!(intents::complete(&db.read, done).await.unwrap().made());
    assert_eq!(
        intents::complete(&db.read, done).await.unwrap(),
        Transition::Refused
    );
    assert_eq!(
        intents::retry(&db.read, done).await.unwrap(),
        Transition::Refused
    );
    assert_eq!(
        intents::fail(&db.read, done, CoreCode::GaveUp.into(), "no")
            .await
            .unwrap(),
        None
    );
    assert_eq!(state(&db, done).await, IntentState::Committed);

    let failed = intent(&db, IntentKind::Message).await;
    let moved = intents::fail(&db.read, failed, CoreCode::GaveUp.into(), "gave up")
        .await
        .unwrap();
    assert_eq!(moved, Some((IntentKind::Message, b"data".to_vec())));
    assert_eq!(
        intents::complete(&db.read, failed).await.unwrap(),
        Transition::Refused
    );
    assert_eq!(
        intents::retry(&db.read, failed).await.unwrap(),
        Transition::Refused
    );
    assert_eq!(
        state(&db, failed).await,
        IntentState::Failed {
            code: CoreCode::GaveUp.into(),
            message: "gave up".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completing_with_nothing_to_do_is_only_for_an_intent_not_yet_published() {
    let (_dir, db) = database().await;
    let hash = [3u8; 32];
    let id = published(&db, IntentKind::RemoveMembers, &hash).await;
    assert_eq!(
        intents::complete_unchanged(&db.read, id).await.unwrap(),
        Transition::Refused,
        "the node has this commit: only its echo completes it"
    );
    assert_eq!(state(&db, id).await, IntentState::Published);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_forgets_the_attempt_so_its_echo_no_longer_matches() {
    let (_dir, db) = database().await;
    let hash = [4u8; 32];
    let id = published(&db, IntentKind::Rename, &hash).await;
    assert!(intents::retry(&db.read, id).await.unwrap().made());
    assert_eq!(state(&db, id).await, IntentState::ToPublish);
    assert!(intents::open_by_hash(&db.read, &hash)
        .await
        .unwrap()
        .is_none());
    let next = intents::next(&db.read, GROUP).await.unwrap().unwrap();
    assert_eq!((next.id, next.payload, next.attempts), (id, None, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_welcome_is_sent_once_and_only_after_its_commit() {
    let (_dir, db) = database().await;
    let id = intent(&db, IntentKind::AddMembers).await;
    let hash = [5u8; 32];
    let with_welcome = Attempt {
        welcome: Some((b"welcome", &[9u8; 32])),
        ..attempt(&hash)
    };
    intents::record_attempt(&db.read, id, &with_welcome)
        .await
        .unwrap()
        .required("x")
        .unwrap();
    assert_eq!(
        intents::mark_welcome_sent(&db.read, id).await.unwrap(),
        Transition::Refused,
        "the commit has not won yet"
    );
    assert!(intents::welcomes_to_send(&db.read, GROUP)
        .await
        .unwrap()
        .is_empty());
    intents::complete(&db.read, id)
        .await
        .unwrap()
        .required("x")
        .unwrap();
    let pending = intents::welcomes_to_send(&db.read, GROUP).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].welcome, b"welcome");
    assert!(intents::mark_welcome_sent(&db.read, id)
        .await
        .unwrap()
        .made());
    assert_eq!(
        intents::mark_welcome_sent(&db.read, id).await.unwrap(),
        Transition::Refused
    );
    assert!(intents::welcomes_to_send(&db.read, GROUP)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_starts_only_from_active_and_removal_ends_it_as_left() {
    let (_dir, db) = database().await;
    let current = || conversations::state(&db.read, GROUP);
    assert!(conversations::mark_leaving(&db.read, GROUP)
        .await
        .unwrap()
        .made());
    assert_eq!(
        conversations::mark_leaving(&db.read, GROUP).await.unwrap(),
        Transition::Refused
    );
    assert!(conversations::mark_out(&db.read, GROUP)
        .await
        .unwrap()
        .made());
    assert_eq!(current().await.unwrap(), Some(ConversationState::Left));
    assert_eq!(
        conversations::mark_out(&db.read, GROUP).await.unwrap(),
        Transition::Refused,
        "out is final"
    );
    assert_eq!(
        conversations::mark_leaving(&db.read, GROUP).await.unwrap(),
        Transition::Refused
    );
    assert_eq!(current().await.unwrap(), Some(ConversationState::Left));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_removed_by_someone_else_is_removed_not_left() {
    let (_dir, db) = database().await;
    assert!(conversations::mark_out(&db.read, GROUP)
        .await
        .unwrap()
        .made());
    assert_eq!(
        conversations::state(&db.read, GROUP).await.unwrap(),
        Some(ConversationState::Removed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_failed_message_goes_back_to_sending() {
    let (_dir, db) = database().await;
    let inbox = InboxId::from_slice(&[1u8; 32]).unwrap();
    let installation = InstallationSigner::generate().public_key();
    let content = EncodedContent {
        type_id: "arx.text/1".into(),
        content: Vec::new(),
        fallback: "hi".into(),
        id: vec![7; 16],
    };
    let id = messages::insert_own(
        &db.read,
        GROUP,
        (&inbox, &installation),
        &content,
        5,
        &[6u8; 32],
        false,
    )
    .await
    .unwrap();
    let delivery = || async { messages::get(&db.read, id).await.unwrap().unwrap().delivery };
    assert_eq!(delivery().await, Delivery::Sending);
    assert_eq!(
        messages::mark_sending(&db.read, id).await.unwrap(),
        Transition::Refused
    );
    messages::mark_failed(&db.read, id).await.unwrap();
    assert!(messages::mark_sending(&db.read, id).await.unwrap().made());
    assert_eq!(delivery().await, Delivery::Sending);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_with_an_intent_ahead_makes_a_new_message_wait() {
    let (_dir, db) = database().await;
    let (_, state, busy) = intents::send_context(&db.read, GROUP).await.unwrap();
    assert_eq!((state, busy), (Some(ConversationState::Active), false));
    let id = intent(&db, IntentKind::Rename).await;
    assert!(intents::send_context(&db.read, GROUP).await.unwrap().2);
    intents::complete(&db.read, id)
        .await
        .unwrap()
        .required("x")
        .unwrap();
    assert!(!intents::send_context(&db.read, GROUP).await.unwrap().2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_never_moves_back() {
    let (_dir, db) = database().await;
    let topic = Topic::group(GROUP).unwrap();
    cursors::advance(&db.read, &topic, 1, 10).await.unwrap();
    cursors::advance(&db.read, &topic, 1, 4).await.unwrap();
    cursors::advance(&db.read, &topic, 2, 3).await.unwrap();
    let cursor = cursors::get(&db.read, &topic).await.unwrap();
    assert_eq!(cursor.sequence_ids.get(&1), Some(&10));
    assert_eq!(cursor.sequence_ids.get(&2), Some(&3));
}
