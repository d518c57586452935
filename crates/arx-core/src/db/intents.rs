//! The `intents` table: what this installation wants to publish to a group, durable until it is
//! done. States move only forward, each by one function here that refuses to move an intent
//! from any other state:
//!
//! ```text
//! to_publish ──record_attempt──► to_publish (prepared) ──mark_published──► published
//!      ▲                                                                       │
//!      └──────────────── retry (a lost race, an echo in an ended epoch) ◄──────┤
//!                                                                              ▼
//!   complete / complete_unchanged ──► committed        fail ──► failed (from either open state)
//! ```

use sqlx::SqliteExecutor;

use super::Transition;
use crate::error::{CoreCode, CoreError, ErrorCode};

/// What an intent asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntentKind {
    Message,
    AddMembers,
    RemoveMembers,
    Rename,
    SetRole,
    Leave,
    /// Commit the members' requests to leave.
    CommitPending,
    /// Change the profile, policies or disappearing timer (data: an `arx.v1.SettingsChange`).
    UpdateSettings,
}

impl IntentKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::AddMembers => "add_members",
            Self::RemoveMembers => "remove_members",
            Self::Rename => "rename",
            Self::SetRole => "set_role",
            Self::Leave => "leave",
            Self::CommitPending => "commit_pending",
            Self::UpdateSettings => "update_settings",
        }
    }

    fn parse(text: &str) -> Result<Self, CoreError> {
        match text {
            "message" => Ok(Self::Message),
            "add_members" => Ok(Self::AddMembers),
            "remove_members" => Ok(Self::RemoveMembers),
            "rename" => Ok(Self::Rename),
            "set_role" => Ok(Self::SetRole),
            "leave" => Ok(Self::Leave),
            "commit_pending" => Ok(Self::CommitPending),
            "update_settings" => Ok(Self::UpdateSettings),
            _ => Err(CoreError::corrupt("intents.kind", text)),
        }
    }
}

/// Where an intent is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentState {
    ToPublish,
    Published,
    Committed,
    Failed {
        code: crate::error::ErrorCode,
        message: String,
    },
}

/// The intents a group's run acts on (only those two states are open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenState {
    ToPublish,
    Published,
}

/// An open intent as stored.
#[derive(Clone, Debug)]
pub(crate) struct OpenIntent {
    pub id: i64,
    pub kind: IntentKind,
    pub data: Vec<u8>,
    pub state: OpenState,
    /// The prepared attempt's client envelope, if one is prepared.
    pub payload: Option<Vec<u8>>,
    /// The epoch the prepared attempt was built on.
    pub epoch: Option<i64>,
    pub attempts: i64,
}

/// A prepared attempt to record.
pub(crate) struct Attempt<'a> {
    pub payload: &'a [u8],
    pub hash: &'a [u8],
    pub epoch: i64,
    /// A commit's welcome and its targets (installation keys, 32 bytes each).
    pub welcome: Option<(&'a [u8], &'a [u8])>,
}

/// A commit's welcome still to send.
pub(crate) struct PendingWelcome {
    pub intent: i64,
    pub welcome: Vec<u8>,
    pub targets: Vec<u8>,
}

/// Records a new intent (`to_publish`).
pub(crate) async fn insert(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
    kind: IntentKind,
    data: &[u8],
    created_at_ns: i64,
) -> Result<i64, CoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO intents (group_id, kind, data, state, created_at_ns) \
         VALUES ($1, $2, $3, 'to_publish', $4) RETURNING id",
    )
    .bind(group_id)
    .bind(kind.as_str())
    .bind(data)
    .bind(created_at_ns)
    .fetch_one(db)
    .await?)
}

/// Where intent `id` is (`None`: there is no such intent).
pub(crate) async fn state(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Option<IntentState>, CoreError> {
    let row: Option<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT state, error_code, error FROM intents WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(|(state, code, message)| match state.as_str() {
        "to_publish" => Ok(IntentState::ToPublish),
        "published" => Ok(IntentState::Published),
        "committed" => Ok(IntentState::Committed),
        // A code this version does not know (one renamed since it was stored) is reported as
        // a failure without a recorded reason; the message is kept.
        "failed" => Ok(IntentState::Failed {
            code: code
                .as_deref()
                .and_then(ErrorCode::parse)
                .unwrap_or(CoreCode::IntentFailed.into()),
            message: message.unwrap_or_default(),
        }),
        other => Err(CoreError::corrupt("intents.state", other)),
    })
    .transpose()
}

/// The intent of own message `message` (its data is the message id).
pub(crate) async fn of_message(db: impl SqliteExecutor<'_>, data: &[u8]) -> Result<i64, CoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM intents WHERE kind = 'message' AND data = $1")
            .bind(data)
            .fetch_one(db)
            .await?,
    )
}

/// Whether own message `data` has an open intent.
pub(crate) async fn message_is_open(
    db: impl SqliteExecutor<'_>,
    data: &[u8],
) -> Result<bool, CoreError> {
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM intents WHERE kind = 'message' AND data = $1 \
         AND state IN ('to_publish', 'published')",
    )
    .bind(data)
    .fetch_optional(db)
    .await?;
    Ok(open.is_some())
}

/// The first intent of the group to act on: one to publish, or a change still waiting for its
/// echo. (The condition is exactly that of index `intents_next`, so published messages waiting
/// for their echo are not read.)
pub(crate) async fn next(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Option<OpenIntent>, CoreError> {
    type Row = (
        i64,
        String,
        Vec<u8>,
        String,
        Option<Vec<u8>>,
        Option<i64>,
        i64,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, kind, data, state, payload, epoch, attempts FROM intents \
         WHERE group_id = $1 AND (state = 'to_publish' \
         OR (state = 'published' AND kind <> 'message')) ORDER BY id LIMIT 1",
    )
    .bind(group_id)
    .fetch_optional(db)
    .await?;
    row.map(|(id, kind, data, state, payload, epoch, attempts)| {
        Ok(OpenIntent {
            id,
            kind: IntentKind::parse(&kind)?,
            data,
            state: match state.as_str() {
                "to_publish" => OpenState::ToPublish,
                "published" => OpenState::Published,
                other => return Err(CoreError::corrupt("intents.state", other)),
            },
            payload,
            epoch,
            attempts,
        })
    })
    .transpose()
}

/// Whether the group's topic may be read: it was joined from a welcome, or a creation commit of
/// ours was prepared (or done). False only for a group just created here whose creation commit
/// is not prepared yet.
pub(crate) async fn group_is_readable(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<bool, CoreError> {
    let may: Option<bool> = sqlx::query_scalar(
        "SELECT c.joined_epoch > 0 OR EXISTS (SELECT 1 FROM intents i \
         WHERE i.group_id = c.group_id AND i.kind <> 'message' \
         AND (i.payload IS NOT NULL OR i.state IN ('published', 'committed'))) \
         FROM conversations c WHERE c.group_id = $1",
    )
    .bind(group_id)
    .fetch_optional(db)
    .await?;
    Ok(may.unwrap_or(false))
}

/// The open intent whose current attempt has payload hash `hash`: (id, kind, data, epoch).
pub(crate) async fn open_by_hash(
    db: impl SqliteExecutor<'_>,
    hash: &[u8],
) -> Result<Option<(i64, IntentKind, Vec<u8>, Option<i64>)>, CoreError> {
    let row: Option<(i64, String, Vec<u8>, Option<i64>)> = sqlx::query_as(
        "SELECT id, kind, data, epoch FROM intents \
         WHERE payload_hash = $1 AND state IN ('to_publish', 'published')",
    )
    .bind(hash)
    .fetch_optional(db)
    .await?;
    row.map(|(id, kind, data, epoch)| Ok((id, IntentKind::parse(&kind)?, data, epoch)))
        .transpose()
}

/// The group's change (not a message, not a leave) whose attempt is prepared or published:
/// the commit a commit by someone else beats.
pub(crate) async fn prepared_change(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Option<i64>, CoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM intents WHERE group_id = $1 AND kind NOT IN ('message', 'leave') \
         AND state IN ('to_publish', 'published') AND payload IS NOT NULL",
    )
    .bind(group_id)
    .fetch_optional(db)
    .await?)
}

/// Whether a `commit_pending` intent of the group waits to be published.
pub(crate) async fn commit_pending_queued(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<bool, CoreError> {
    let queued: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM intents WHERE group_id = $1 AND kind = 'commit_pending' \
         AND state = 'to_publish'",
    )
    .bind(group_id)
    .fetch_optional(db)
    .await?;
    Ok(queued.is_some())
}

/// The group's open intents, oldest first.
pub(crate) async fn open_ids(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Vec<i64>, CoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM intents WHERE group_id = $1 AND state IN ('to_publish', 'published') \
         ORDER BY id",
    )
    .bind(group_id)
    .fetch_all(db)
    .await?)
}

/// The group's leave request the node has (waiting for a member to commit it).
pub(crate) async fn published_leave(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Option<i64>, CoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM intents WHERE group_id = $1 AND kind = 'leave' AND state = 'published'",
    )
    .bind(group_id)
    .fetch_optional(db)
    .await?)
}

/// to_publish → to_publish with a prepared attempt: its client envelope, hash, epoch and a
/// commit's welcome (one more attempt counted).
pub(crate) async fn record_attempt(
    db: impl SqliteExecutor<'_>,
    id: i64,
    attempt: &Attempt<'_>,
) -> Result<Transition, CoreError> {
    let (welcome, targets) = attempt.welcome.unzip();
    let done = sqlx::query(
        "UPDATE intents SET payload = $2, payload_hash = $3, epoch = $4, welcome = $5, \
         welcome_targets = $6, attempts = attempts + 1 WHERE id = $1 AND state = 'to_publish'",
    )
    .bind(id)
    .bind(attempt.payload)
    .bind(attempt.hash)
    .bind(attempt.epoch)
    .bind(welcome)
    .bind(targets)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// to_publish → published: the node has the attempt whose hash is `hash` (refused when another
/// attempt replaced it meanwhile).
pub(crate) async fn mark_published(
    db: impl SqliteExecutor<'_>,
    id: i64,
    hash: &[u8],
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE intents SET state = 'published' \
         WHERE id = $1 AND state = 'to_publish' AND payload_hash = $2",
    )
    .bind(id)
    .bind(hash)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// open → committed: done; the payload is not needed any more (its hash stays, so the echo's
/// duplicates are recognized).
pub(crate) async fn complete(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE intents SET state = 'committed', payload = NULL \
         WHERE id = $1 AND state IN ('to_publish', 'published')",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// to_publish → committed without an attempt: nothing was left to do (every installation to add
/// is in, every one to remove is out, the settings already say so).
pub(crate) async fn complete_unchanged(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE intents SET state = 'committed' WHERE id = $1 AND state = 'to_publish'",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// open → committed for the group's leave requests: a commit removed this installation.
pub(crate) async fn complete_leaves(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<(), CoreError> {
    sqlx::query(
        "UPDATE intents SET state = 'committed' WHERE group_id = $1 AND kind = 'leave' \
         AND state IN ('to_publish', 'published')",
    )
    .bind(group_id)
    .execute(db)
    .await?;
    Ok(())
}

/// open → failed with a stable code and a message. Returns the intent's kind and data when it
/// moved (a message's row is then marked failed by the caller).
pub(crate) async fn fail(
    db: impl SqliteExecutor<'_>,
    id: i64,
    code: ErrorCode,
    message: &str,
) -> Result<Option<(IntentKind, Vec<u8>)>, CoreError> {
    let row: Option<(String, Vec<u8>)> = sqlx::query_as(
        "UPDATE intents SET state = 'failed', error_code = $2, error = $3 \
         WHERE id = $1 AND state IN ('to_publish', 'published') RETURNING kind, data",
    )
    .bind(id)
    .bind(code.as_str())
    .bind(message)
    .fetch_optional(db)
    .await?;
    row.map(|(kind, data)| Ok((IntentKind::parse(&kind)?, data)))
        .transpose()
}

/// open → to_publish without an attempt: rebuilt on the current epoch by the next run.
pub(crate) async fn retry(db: impl SqliteExecutor<'_>, id: i64) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE intents SET state = 'to_publish', payload = NULL, payload_hash = NULL, \
         epoch = NULL, welcome = NULL, welcome_targets = NULL \
         WHERE id = $1 AND state IN ('to_publish', 'published')",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// The welcomes of the group's merged own commits that have not left yet, oldest first.
pub(crate) async fn welcomes_to_send(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Vec<PendingWelcome>, CoreError> {
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT id, welcome, welcome_targets FROM intents WHERE group_id = $1 \
         AND state = 'committed' AND welcome IS NOT NULL AND welcome_sent = 0 ORDER BY id",
    )
    .bind(group_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(intent, welcome, targets)| PendingWelcome {
            intent,
            welcome,
            targets,
        })
        .collect())
}

/// The welcome of committed intent `id` left (it is not kept).
pub(crate) async fn mark_welcome_sent(
    db: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Transition, CoreError> {
    let done = sqlx::query(
        "UPDATE intents SET welcome_sent = 1, welcome = NULL \
         WHERE id = $1 AND state = 'committed' AND welcome_sent = 0",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(Transition::of(done.rows_affected()))
}

/// What storing a new own message needs to know, in one statement (it runs per message): this
/// installation's inbox, the conversation's state, and whether anything of the group must go
/// before the message (an intent to publish, a change waiting for its echo, or a welcome still to
/// send: the conditions of indexes `intents_next` and `intents_welcomes`).
pub(crate) async fn send_context(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<
    (
        Option<arx_identity::InboxId>,
        Option<super::ConversationState>,
        bool,
    ),
    CoreError,
> {
    let (inbox, state, busy): (Option<Vec<u8>>, Option<String>, bool) = sqlx::query_as(
        "SELECT (SELECT inbox_id FROM installation WHERE id = 1), \
         (SELECT state FROM conversations WHERE group_id = $1), \
         EXISTS (SELECT 1 FROM intents WHERE group_id = $1 AND (state = 'to_publish' \
         OR (state = 'published' AND kind <> 'message'))) \
         OR EXISTS (SELECT 1 FROM intents WHERE group_id = $1 AND state = 'committed' \
         AND welcome IS NOT NULL AND welcome_sent = 0)",
    )
    .bind(group_id)
    .fetch_one(db)
    .await?;
    Ok((
        inbox
            .map(|i| arx_identity::InboxId::from_slice(&i))
            .transpose()?,
        state
            .as_deref()
            .map(super::conversations::ConversationState::parse)
            .transpose()?,
        busy,
    ))
}
