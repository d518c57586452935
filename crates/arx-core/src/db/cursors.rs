//! The `cursors` table: how far each topic has been read, per originator.

use arx_identity::Topic;
use arx_proto::Cursor;
use sqlx::SqliteExecutor;

use crate::error::CoreError;

/// The stored cursor of `topic` (empty when never read).
pub(crate) async fn get(db: impl SqliteExecutor<'_>, topic: &Topic) -> Result<Cursor, CoreError> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT originator_id, sequence_id FROM cursors WHERE topic = $1")
            .bind(topic.to_bytes())
            .fetch_all(db)
            .await?;
    let mut cursor = Cursor::default();
    for (originator, seq) in rows {
        if let (Ok(o), Ok(s)) = (u32::try_from(originator), u64::try_from(seq)) {
            cursor.sequence_ids.insert(o, s);
        }
    }
    Ok(cursor)
}

/// Moves the cursor of `topic` past `sequence_id` of `originator_id` (never back).
pub(crate) async fn advance(
    db: impl SqliteExecutor<'_>,
    topic: &Topic,
    originator_id: u32,
    sequence_id: u64,
) -> Result<(), CoreError> {
    let sequence_id = i64::try_from(sequence_id)
        .map_err(|_| CoreError::NodeInvalid("a sequence id beyond i64".into()))?;
    sqlx::query(
        "INSERT INTO cursors (topic, originator_id, sequence_id) VALUES ($1, $2, $3) \
         ON CONFLICT (topic, originator_id) DO UPDATE SET sequence_id = \
         MAX(cursors.sequence_id, excluded.sequence_id)",
    )
    .bind(topic.to_bytes())
    .bind(i64::from(originator_id))
    .bind(sequence_id)
    .execute(db)
    .await?;
    Ok(())
}
