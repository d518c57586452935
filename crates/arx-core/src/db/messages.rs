//! The `messages` table: every message of every conversation, own ones included.

use arx_identity::{InboxId, InstallationKey};
use arx_proto::EncodedContent;
use sqlx::SqliteExecutor;

use super::Transition;
use crate::error::CoreError;

/// Delivery state of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Own, not yet accepted by the node.
    Sending,
    /// Accepted by the node (own), or received.
    Sent,
    /// Own, and the last attempt failed (retryable errors are tried again by the next run).
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, CoreError> {
        match text {
            "sending" => Ok(Self::Sending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            _ => Err(CoreError::corrupt("messages.delivery", text)),
        }
    }
}

/// A message row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MessageRow {
    pub id: i64,
    pub group_id: Vec<u8>,
    pub sender_inbox: InboxId,
    pub sender_installation: InstallationKey,
    pub content: EncodedContent,
    pub sent_at_ns: i64,
    pub delivery: Delivery,
    pub edited_at_ns: Option<i64>,
    pub deleted_at_ns: Option<i64>,
}

/// Where a message sits in its topic: the originator and sequence id of its envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub originator_id: u32,
    pub sequence_id: u64,
}

impl Position {
    fn columns(self) -> (i64, Option<i64>) {
        (
            i64::from(self.originator_id),
            i64::try_from(self.sequence_id).ok(),
        )
    }
}

const COLUMNS: &str = "SELECT id, group_id, sender_inbox, sender_installation, type_id, \
     content, fallback, sent_at_ns, delivery, content_id, edited_at_ns, deleted_at_ns \
     FROM messages";

type Row = (
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    String,
    Vec<u8>,
    String,
    i64,
    String,
    Option<Vec<u8>>,
    Option<i64>,
    Option<i64>,
);

fn row(r: Row) -> Result<MessageRow, CoreError> {
    let (id, group_id, inbox, installation, type_id, content, fallback, sent_at_ns, delivery) =
        (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
    let (content_id, edited_at_ns, deleted_at_ns) = (r.9, r.10, r.11);
    Ok(MessageRow {
        id,
        group_id,
        sender_inbox: InboxId::from_slice(&inbox)?,
        sender_installation: InstallationKey::from_slice(&installation)?,
        content: EncodedContent {
            type_id,
            content,
            fallback,
            id: content_id.unwrap_or_default(),
        },
        sent_at_ns,
        delivery: Delivery::parse(&delivery)?,
        edited_at_ns,
        deleted_at_ns,
    })
}

/// Stores a message of this installation as `sending`. Until its first attempt is prepared its
/// payload hash is `placeholder` (random: the column is unique).
pub(crate) async fn insert_own(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
    sender: (&InboxId, &InstallationKey),
    content: &EncodedContent,
    sent_at_ns: i64,
    placeholder: &[u8; 32],
    hidden: bool,
) -> Result<i64, CoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO messages (group_id, sender_inbox, sender_installation, type_id, content, \
         fallback, sent_at_ns, payload_hash, delivery, content_id, hidden, expires_at_ns) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sending', $9, $10, \
         $7 + (SELECT disappear_after_ns FROM conversations WHERE group_id = $1)) RETURNING id",
    )
    .bind(group_id)
    .bind(sender.0.as_bytes().as_slice())
    .bind(sender.1.as_bytes().as_slice())
    .bind(&content.type_id)
    .bind(&content.content)
    .bind(&content.fallback)
    .bind(sent_at_ns)
    .bind(placeholder.as_slice())
    .bind(content_id_column(content))
    .bind(i64::from(hidden))
    .fetch_one(db)
    .await?)
}

/// A message read from a group topic.
pub(crate) struct Received<'a> {
    pub group_id: &'a [u8],
    pub sender_inbox: &'a InboxId,
    pub sender_installation: &'a [u8],
    pub content: &'a EncodedContent,
    pub received_at_ns: i64,
    pub payload_hash: &'a [u8],
    pub position: Position,
    pub hidden: bool,
}

/// The content id column of a content: its id when well formed.
fn content_id_column(content: &EncodedContent) -> Option<&[u8]> {
    (content.id.len() == crate::content::CONTENT_ID_BYTES).then_some(content.id.as_slice())
}

/// Stores a message read from a group topic (`sent`); returns its id.
pub(crate) async fn insert_received(
    db: impl SqliteExecutor<'_>,
    m: &Received<'_>,
) -> Result<i64, CoreError> {
    let (originator, sequence) = m.position.columns();
    Ok(sqlx::query_scalar(
        "INSERT INTO messages (group_id, sender_inbox, sender_installation, type_id, content, \
         fallback, sent_at_ns, payload_hash, originator_id, sequence_id, delivery, content_id, \
         hidden, expires_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent', $11, \
         $12, $7 + (SELECT disappear_after_ns FROM conversations WHERE group_id = $1)) \
         RETURNING id",
    )
    .bind(m.group_id)
    .bind(m.sender_inbox.as_bytes().as_slice())
    .bind(m.sender_installation)
    .bind(&m.content.type_id)
    .bind(&m.content.content)
    .bind(&m.content.fallback)
    .bind(m.received_at_ns)
    .bind(m.payload_hash)
    .bind(originator)
    .bind(sequence)
    .bind(content_id_column(m.content))
    .bind(i64::from(m.hidden))
    .fetch_one(db)
    .await?)
}

/// The hash of the current attempt carrying own message `id`.
pub(crate) async fn set_payload_hash(
    db: impl SqliteExecutor<'_>,
    id: i64,
    hash: &[u8],
) -> Result<(), CoreError> {
    sqlx::query("UPDATE messages SET payload_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// → sent: the node has own message `id` (at `position` when known).
pub(crate) async fn mark_sent(
    db: impl SqliteExecutor<'_>,
    id: i64,
    position: Option<Position>,
) -> Result<(), CoreError> {
    let (originator, sequence) = position.map(Position::columns).unzip();
    sqlx::query(
        "UPDATE messages SET delivery = 'sent', originator_id = $1, sequence_id = $2 \
         WHERE id = $3",
    )
    .bind(originator)
    .bind(sequence.flatten())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// → failed: the last attempt of own message `id` failed.
pub(crate) async fn mark_failed(db: impl SqliteExecutor<'_>, id: i64) -> Result<(), CoreError> {
    sqlx::query("UPDATE messages SET delivery = 'failed' WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// failed → sending: own message `id` is tried again.
pub(crate) async fn mark_sending(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE messages SET delivery = 'sending' WHERE id = $1 AND delivery = 'failed'",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

pub(crate) async fn get(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Option<MessageRow>, CoreError> {
    let found: Option<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    found.map(row).transpose()
}

/// Up to `limit` messages of a conversation before message `before`, newest first.
pub(crate) async fn newest_before(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
    before: i64,
    limit: i64,
) -> Result<Vec<MessageRow>, CoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{COLUMNS} WHERE group_id = $1 AND id < $2 AND hidden = 0 ORDER BY id DESC LIMIT $3"
    ))
    .bind(group_id)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(row).collect()
}

/// Every message people sent in a conversation (no system lines), in the order stored.
pub(crate) async fn of_conversation(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Vec<MessageRow>, CoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{COLUMNS} WHERE group_id = $1 AND hidden = 0 AND type_id <> 'arx.system/1' ORDER BY id"
    ))
    .bind(group_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(row).collect()
}

/// Messages of every conversation stored after message id `after`.
pub(crate) async fn after(
    db: impl SqliteExecutor<'_>,
    after: i64,
) -> Result<Vec<MessageRow>, CoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{COLUMNS} WHERE id > $1 ORDER BY id"))
        .bind(after)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(row).collect()
}

/// Id of the newest stored message (0 when none).
pub(crate) async fn last_id(db: impl SqliteExecutor<'_>) -> Result<i64, CoreError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM messages")
        .fetch_one(db)
        .await?;
    Ok(id.unwrap_or(0))
}

/// Messages whose time is up at `now_ns` (never one still being sent): (id, group).
pub(crate) async fn expired(
    db: impl SqliteExecutor<'_>,
    now_ns: i64,
) -> Result<Vec<(i64, Vec<u8>, Option<Vec<u8>>)>, CoreError> {
    Ok(sqlx::query_as(
        "SELECT id, group_id, content_id FROM messages WHERE expires_at_ns IS NOT NULL \
         AND expires_at_ns <= $1 AND delivery <> 'sending'",
    )
    .bind(now_ns)
    .fetch_all(db)
    .await?)
}

/// When the next message disappears, if any does.
pub(crate) async fn next_expiry(db: impl SqliteExecutor<'_>) -> Result<Option<i64>, CoreError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(expires_at_ns) FROM messages WHERE expires_at_ns IS NOT NULL",
    )
    .fetch_one(db)
    .await?)
}
