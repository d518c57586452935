//! What actions do to the messages they name, kept in the same transaction as the action's
//! own row: reactions, read receipts, edits (with the earlier versions kept on this device)
//! and deletes for everyone. A message's files are recorded here too, so the media cache
//! knows what is still wanted.

use arx_identity::InboxId;
use arx_proto::EncodedContent;
use prost::Message as _;
use sqlx::SqliteConnection;

use crate::{
    content::{self, Body, ContentId, Decoded},
    error::CoreError,
};

/// Where an action was read or made.
pub(crate) struct Action<'a> {
    pub group_id: &'a [u8],
    pub sender: &'a InboxId,
    /// The row of the action itself (or of the shown message).
    pub message_id: i64,
    pub at_ns: i64,
}

/// The first message of the conversation with content id `target`, with its sender.
pub(crate) async fn find(
    conn: &mut SqliteConnection,
    group_id: &[u8],
    target: &ContentId,
) -> Result<Option<(i64, Vec<u8>)>, CoreError> {
    Ok(sqlx::query_as(
        "SELECT id, sender_inbox FROM messages WHERE group_id = $1 AND content_id = $2 \
         AND hidden = 0 ORDER BY id LIMIT 1",
    )
    .bind(group_id)
    .bind(target.as_slice())
    .fetch_optional(conn)
    .await?)
}

/// Applies a stored message's effect. Edits and deletes act only on the sender's own shown
/// messages; anything else that names no message here is kept (reactions) or has no effect.
pub(crate) async fn apply(
    conn: &mut SqliteConnection,
    action: &Action<'_>,
    decoded: &Decoded,
) -> Result<(), CoreError> {
    match decoded {
        Decoded::Shown { body, .. } => {
            if let Body::Files { attachments, .. } = body {
                for (position, a) in attachments.iter().enumerate() {
                    sqlx::query(
                        "INSERT OR IGNORE INTO message_files (message_id, position, digest, cid) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(action.message_id)
                    .bind(position as i64)
                    .bind(a.sealed.digest.as_slice())
                    .bind(&a.sealed.cid)
                    .execute(&mut *conn)
                    .await?;
                }
            }
        }
        Decoded::Reaction {
            target,
            emoji,
            remove,
        } => {
            let sql = if *remove {
                "DELETE FROM reactions WHERE group_id = $1 AND target = $2 \
                 AND reactor_inbox = $3 AND emoji = $4"
            } else {
                "INSERT OR IGNORE INTO reactions (group_id, target, reactor_inbox, emoji, \
                 reacted_at_ns) VALUES ($1, $2, $3, $4, $5)"
            };
            sqlx::query(sql)
                .bind(action.group_id)
                .bind(target.as_slice())
                .bind(action.sender.as_bytes().as_slice())
                .bind(emoji)
                .bind(action.at_ns)
                .execute(&mut *conn)
                .await?;
        }
        Decoded::Receipt { target } => {
            if let Some((id, _)) = find(conn, action.group_id, target).await? {
                sqlx::query(
                    "INSERT INTO read_receipts (group_id, reader_inbox, message_id, read_at_ns) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (group_id, reader_inbox) DO UPDATE \
                     SET message_id = excluded.message_id, read_at_ns = excluded.read_at_ns \
                     WHERE excluded.message_id > read_receipts.message_id",
                )
                .bind(action.group_id)
                .bind(action.sender.as_bytes().as_slice())
                .bind(id)
                .bind(action.at_ns)
                .execute(&mut *conn)
                .await?;
            }
        }
        Decoded::Edit {
            target,
            text,
            markdown,
        } => {
            let Some(id) = own_live_target(conn, action, target).await? else {
                return Ok(());
            };
            let (type_id, bytes, fallback, content_id): (String, Vec<u8>, String, Vec<u8>) =
                sqlx::query_as(
                    "SELECT type_id, content, fallback, content_id FROM messages WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
            let original = EncodedContent {
                type_id,
                content: bytes,
                fallback,
                id: content_id,
            };
            let Some(new) = content::edited(&original, text, *markdown) else {
                return Ok(());
            };
            sqlx::query(
                "INSERT INTO message_edits (message_id, type_id, content, replaced_at_ns) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&original.type_id)
            .bind(original.encode_to_vec())
            .bind(action.at_ns)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE messages SET type_id = $1, content = $2, fallback = $3, \
                 edited_at_ns = $4 WHERE id = $5",
            )
            .bind(&new.type_id)
            .bind(&new.content)
            .bind(&new.fallback)
            .bind(action.at_ns)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        Decoded::Delete { target } => {
            let Some(id) = own_live_target(conn, action, target).await? else {
                return Ok(());
            };
            erase(conn, id, action.at_ns).await?;
            sqlx::query("DELETE FROM reactions WHERE group_id = $1 AND target = $2")
                .bind(action.group_id)
                .bind(target.as_slice())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The sender's own message `target`, when it is shown and not deleted.
async fn own_live_target(
    conn: &mut SqliteConnection,
    action: &Action<'_>,
    target: &ContentId,
) -> Result<Option<i64>, CoreError> {
    let found: Option<(i64, Vec<u8>, Option<i64>)> = sqlx::query_as(
        "SELECT id, sender_inbox, deleted_at_ns FROM messages WHERE group_id = $1 \
         AND content_id = $2 AND hidden = 0 ORDER BY id LIMIT 1",
    )
    .bind(action.group_id)
    .bind(target.as_slice())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.and_then(|(id, sender, deleted)| {
        (sender == action.sender.as_bytes().as_slice() && deleted.is_none()).then_some(id)
    }))
}

/// Removes a message's content, earlier versions and files, leaving the row as "deleted".
pub(crate) async fn erase(
    conn: &mut SqliteConnection,
    id: i64,
    at_ns: i64,
) -> Result<(), CoreError> {
    for sql in [
        "DELETE FROM message_edits WHERE message_id = $1",
        "DELETE FROM message_files WHERE message_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE messages SET content = X'', fallback = '', deleted_at_ns = $1 WHERE id = $2",
    )
    .bind(at_ns)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reactions to a message: (emoji, reactor inbox) in the order they were made.
pub(crate) async fn reactions(
    conn: impl sqlx::SqliteExecutor<'_>,
    group_id: &[u8],
    target: &ContentId,
) -> Result<Vec<(String, Vec<u8>)>, CoreError> {
    Ok(sqlx::query_as(
        "SELECT emoji, reactor_inbox FROM reactions WHERE group_id = $1 AND target = $2 \
         ORDER BY reacted_at_ns, emoji",
    )
    .bind(group_id)
    .bind(target.as_slice())
    .fetch_all(conn)
    .await?)
}

/// Each member's newest read message in the conversation: (reader inbox, message id).
pub(crate) async fn receipts(
    conn: impl sqlx::SqliteExecutor<'_>,
    group_id: &[u8],
) -> Result<Vec<(Vec<u8>, i64)>, CoreError> {
    Ok(
        sqlx::query_as("SELECT reader_inbox, message_id FROM read_receipts WHERE group_id = $1")
            .bind(group_id)
            .fetch_all(conn)
            .await?,
    )
}

/// Earlier versions of an edited message, oldest first: (type id, content, replaced at).
pub(crate) async fn edits(
    conn: impl sqlx::SqliteExecutor<'_>,
    message_id: i64,
) -> Result<Vec<(String, Vec<u8>, i64)>, CoreError> {
    Ok(sqlx::query_as(
        "SELECT type_id, content, replaced_at_ns FROM message_edits WHERE message_id = $1 \
         ORDER BY id",
    )
    .bind(message_id)
    .fetch_all(conn)
    .await?)
}

/// Digests of every file a stored message still names.
pub(crate) async fn wanted_digests(
    conn: impl sqlx::SqliteExecutor<'_>,
) -> Result<Vec<Vec<u8>>, CoreError> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT digest FROM message_files")
            .fetch_all(conn)
            .await?,
    )
}

/// Removes a message for good (its time is up): its row, earlier versions, files, and the
/// reactions to it.
pub(crate) async fn remove(
    conn: &mut SqliteConnection,
    id: i64,
    group_id: &[u8],
    content_id: Option<&[u8]>,
) -> Result<(), CoreError> {
    for sql in [
        "DELETE FROM message_edits WHERE message_id = $1",
        "DELETE FROM message_files WHERE message_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    if let Some(content_id) = content_id {
        sqlx::query("DELETE FROM reactions WHERE group_id = $1 AND target = $2")
            .bind(group_id)
            .bind(content_id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM messages WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
