//! The `inbox_consent` table and the consent column of conversations.

use arx_identity::InboxId;
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::error::CoreError;

/// Whether a conversation is in the list, in Requests, or hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// In Requests: someone this person has not allowed brought them in.
    Unknown,
    /// In the conversation list.
    Allowed,
    /// Hidden everywhere (blocked, or a request deleted).
    Denied,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
        match text {
            "unknown" => Ok(Self::Unknown),
            "allowed" => Ok(Self::Allowed),
            "denied" => Ok(Self::Denied),
            _ => Err(CoreError::corrupt("consent", text)),
        }
    }
}

/// This person's consent for `inbox` (`Unknown` when never set).
pub(crate) async fn of_inbox(
    db: impl SqliteExecutor<'_>,
    inbox: &InboxId,
) -> Result<Consent, CoreError> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM inbox_consent WHERE inbox = $1")
            .bind(inbox.as_bytes().as_slice())
            .fetch_optional(db)
            .await?;
    state.map_or(Ok(Consent::Unknown), |s| Consent::parse(&s))
}

/// Sets the consent for `inbox`, and moves the conversations it brought this person into (and
/// a DM with it) along: allowing takes them out of Requests, denying hides them.
pub(crate) async fn set_inbox(
    conn: &mut SqliteConnection,
    inbox: &InboxId,
    consent: Consent,
    now_ns: i64,
) -> Result<(), CoreError> {
    let inbox = inbox.as_bytes().as_slice();
    match consent {
        Consent::Unknown => {
            sqlx::query("DELETE FROM inbox_consent WHERE inbox = $1")
                .bind(inbox)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        Consent::Allowed | Consent::Denied => {
            sqlx::query(
                "INSERT INTO inbox_consent (inbox, state, updated_at_ns) VALUES ($1, $2, $3) \
                 ON CONFLICT (inbox) DO UPDATE SET state = excluded.state, \
                 updated_at_ns = excluded.updated_at_ns",
            )
            .bind(inbox)
            .bind(consent.as_str())
            .bind(now_ns)
            .execute(&mut *conn)
            .await?;
        }
    }
    let sql = match consent {
        Consent::Allowed => {
            "UPDATE conversations SET consent = 'allowed' \
             WHERE consent = 'unknown' AND (invited_by = $1 OR dm_peer = $1)"
        }
        _ => "UPDATE conversations SET consent = 'denied' WHERE invited_by = $1 OR dm_peer = $1",
    };
    sqlx::query(sql).bind(inbox).execute(conn).await?;
    Ok(())
}

/// Sets a conversation's consent.
pub(crate) async fn set_conversation(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
    consent: Consent,
) -> Result<(), CoreError> {
    sqlx::query("UPDATE conversations SET consent = $1 WHERE group_id = $2")
        .bind(consent.as_str())
        .bind(group_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A conversation's consent and the inbox that invited this person (if any).
pub(crate) async fn of_conversation(
    db: impl SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<(Consent, Option<Vec<u8>>), CoreError> {
    let row: Option<(String, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT consent, invited_by FROM conversations WHERE group_id = $1")
            .bind(group_id)
            .fetch_optional(db)
            .await?;
    let (consent, invited_by) =
        row.ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))?;
    Ok((Consent::parse(&consent)?, invited_by))
}
