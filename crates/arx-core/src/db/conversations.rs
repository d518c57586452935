//! The `conversations` table: one row per MLS group this installation is (or was) in.

use arx_identity::InboxId;
use sqlx::{SqliteConnection, SqliteExecutor};

use super::Transition;
use crate::error::CoreError;

/// A group of any size, or a DM (exactly two inboxes, membership fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversationKind {
    Group,
    Dm,
}

/// Whether this installation is still in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// A member.
    Active,
    /// Asked to leave; a member has not committed it yet.
    Leaving,
    /// Left: the commit removing this installation was applied.
    Left,
    /// Removed by someone else.
    Removed,
}

impl ConversationKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Dm => "dm",
        }
    }

    fn parse(text: &str) -> Result<Self, CoreError> {
        match text {
            "group" => Ok(Self::Group),
            "dm" => Ok(Self::Dm),
            _ => Err(CoreError::corrupt("conversations.kind", text)),
        }
    }
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Leaving => "leaving",
            Self::Left => "left",
            Self::Removed => "removed",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
        match text {
            "active" => Ok(Self::Active),
            "leaving" => Ok(Self::Leaving),
            "left" => Ok(Self::Left),
            "removed" => Ok(Self::Removed),
            _ => Err(CoreError::corrupt("conversations.state", text)),
        }
    }

    /// Whether this installation is out of the conversation for good.
    pub fn is_out(self) -> bool {
        matches!(self, Self::Left | Self::Removed)
    }
}

/// A conversation row to insert.
pub(crate) struct NewConversation<'a> {
    pub group_id: &'a [u8],
    pub kind: ConversationKind,
    pub name: Option<&'a str>,
    pub dm_peer: Option<&'a InboxId>,
    pub created_at_ns: i64,
    pub joined_epoch: i64,
    pub consent: super::Consent,
    pub invited_by: Option<&'a InboxId>,
}

pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    new: &NewConversation<'_>,
) -> Result<(), CoreError> {
    sqlx::query(
        "INSERT INTO conversations (group_id, kind, name, dm_peer, created_at_ns, \
         joined_epoch, last_activity_ns, consent, invited_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)",
    )
    .bind(new.group_id)
    .bind(new.kind.as_str())
    .bind(new.name)
    .bind(new.dm_peer.map(|p| p.as_bytes().to_vec()))
    .bind(new.created_at_ns)
    .bind(new.joined_epoch)
    .bind(new.consent.as_str())
    .bind(new.invited_by.map(|p| p.as_bytes().to_vec()))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn exists(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<bool, CoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM conversations WHERE group_id = $1")
        .bind(group_id)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// The conversation's kind, if there is one.
pub(crate) async fn kind(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Option<ConversationKind>, CoreError> {
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM conversations WHERE group_id = $1")
            .bind(group_id)
            .fetch_optional(db)
            .await?;
    kind.as_deref().map(ConversationKind::parse).transpose()
}

/// The other inbox of a DM; None when `group_id` is not a DM here.
pub(crate) async fn dm_peer(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Option<InboxId>, CoreError> {
    let peer: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT dm_peer FROM conversations WHERE group_id = $1 AND kind = $2")
            .bind(group_id)
            .bind(ConversationKind::Dm.as_str())
            .fetch_optional(db)
            .await?;
    peer.flatten()
        .map(|p| {
            InboxId::from_slice(&p).map_err(|_| CoreError::corrupt("dm_peer", hex::encode(&p)))
        })
        .transpose()
}

/// The conversation's state, if there is one.
pub(crate) async fn state(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Option<ConversationState>, CoreError> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM conversations WHERE group_id = $1")
            .bind(group_id)
            .fetch_optional(db)
            .await?;
    state.as_deref().map(ConversationState::parse).transpose()
}

/// The epoch at which this installation joined (envelopes of earlier epochs are not for it).
pub(crate) async fn joined_epoch(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<i64, CoreError> {
    Ok(
        sqlx::query_scalar("SELECT joined_epoch FROM conversations WHERE group_id = $1")
            .bind(group_id)
            .fetch_one(db)
            .await?,
    )
}

/// The group ids of every conversation.
pub(crate) async fn ids(db: impl SqliteExecutor<'_>) -> Result<Vec<Vec<u8>>, CoreError> {
    Ok(sqlx::query_scalar("SELECT group_id FROM conversations")
        .fetch_all(db)
        .await?)
}

pub(crate) async fn set_last_activity(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
    at_ns: i64,
) -> Result<(), CoreError> {
    sqlx::query("UPDATE conversations SET last_activity_ns = $1 WHERE group_id = $2")
        .bind(at_ns)
        .bind(group_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Records a group's name as its latest commit set it (a DM has none).
pub(crate) async fn set_group_name(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
    name: Option<&str>,
) -> Result<(), CoreError> {
    sqlx::query("UPDATE conversations SET name = $2 WHERE group_id = $1 AND kind = 'group'")
        .bind(group_id)
        .bind(name)
        .execute(db)
        .await?;
    Ok(())
}

/// active → leaving: this installation asked to leave.
pub(crate) async fn mark_leaving(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE conversations SET state = 'leaving' WHERE group_id = $1 AND state = 'active'",
    )
    .bind(group_id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// leaving → left, or active → removed: a commit removed this installation.
pub(crate) async fn mark_out(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE conversations SET state = CASE state WHEN 'leaving' THEN 'left' \
         ELSE 'removed' END WHERE group_id = $1 AND state IN ('active', 'leaving')",
    )
    .bind(group_id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// Marks every message of the conversation read.
pub(crate) async fn mark_read(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<(), CoreError> {
    sqlx::query(
        "UPDATE conversations SET last_read_id = \
         (SELECT COALESCE(MAX(id), 0) FROM messages WHERE group_id = $1) WHERE group_id = $1",
    )
    .bind(group_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets a conversation with everything stored for it (intents, messages, cursor).
pub(crate) async fn delete(
    conn: &mut SqliteConnection,
    group_id: &[u8],
    topic: &[u8],
) -> Result<(), CoreError> {
    for sql in [
        "DELETE FROM intents WHERE group_id = $1",
        "DELETE FROM message_edits WHERE message_id IN \
         (SELECT id FROM messages WHERE group_id = $1)",
        "DELETE FROM message_files WHERE message_id IN \
         (SELECT id FROM messages WHERE group_id = $1)",
        "DELETE FROM reactions WHERE group_id = $1",
        "DELETE FROM read_receipts WHERE group_id = $1",
        "DELETE FROM messages WHERE group_id = $1",
        "DELETE FROM conversations WHERE group_id = $1",
    ] {
        sqlx::query(sql).bind(group_id).execute(&mut *conn).await?;
    }
    sqlx::query("DELETE FROM cursors WHERE topic = $1")
        .bind(topic)
        .execute(conn)
        .await?;
    Ok(())
}

/// A conversation as listed, with its unread count and newest message id.
pub(crate) struct ListedRow {
    pub group_id: Vec<u8>,
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub dm_peer: Option<InboxId>,
    pub last_activity_ns: i64,
    pub state: ConversationState,
    pub unread: i64,
    pub newest_message: Option<i64>,
    pub consent: super::Consent,
}

/// Every conversation (or only `only`), most recently active first; unread counts messages
/// after the read marker not sent by installation `me`.
pub(crate) async fn list(
    db: impl SqliteExecutor<'_>,
    me: &[u8],
    only: Option<&[u8]>,
) -> Result<Vec<ListedRow>, CoreError> {
    type Row = (
        Vec<u8>,
        String,
        Option<String>,
        Option<Vec<u8>>,
        i64,
        String,
        i64,
        Option<i64>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.group_id, c.kind, c.name, c.dm_peer, c.last_activity_ns, c.state, \
         (SELECT COUNT(*) FROM messages m WHERE m.group_id = c.group_id \
          AND m.id > c.last_read_id AND m.sender_installation <> $1 AND m.hidden = 0 \
          AND m.type_id <> 'arx.system/1'), \
         (SELECT MAX(m.id) FROM messages m WHERE m.group_id = c.group_id AND m.hidden = 0), \
         c.consent FROM conversations c WHERE $2 IS NULL OR c.group_id = $2 \
         ORDER BY c.last_activity_ns DESC",
    )
    .bind(me)
    .bind(only)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(
            |(group_id, kind, name, dm_peer, last_activity_ns, state, unread, newest, consent)| {
                Ok(ListedRow {
                    group_id,
                    kind: ConversationKind::parse(&kind)?,
                    name,
                    dm_peer: dm_peer.map(|p| InboxId::from_slice(&p)).transpose()?,
                    last_activity_ns,
                    state: ConversationState::parse(&state)?,
                    unread,
                    newest_message: newest,
                    consent: super::Consent::parse(&consent)?,
                })
            },
        )
        .collect()
}
