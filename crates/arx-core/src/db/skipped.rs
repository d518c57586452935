//! The `skipped_envelopes` table: envelopes a sync passed over, and why.

use arx_identity::Topic;
use arx_proto::OriginatorEnvelope;
use sqlx::SqliteExecutor;

use crate::error::CoreError;

/// An envelope passed over, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedEnvelope {
    pub topic: String,
    pub originator_id: u32,
    pub sequence_id: u64,
    pub code: String,
    pub reason: String,
    pub skipped_at_ns: i64,
}

/// Records that `env` of `topic` was skipped because of `err` (once per envelope).
pub(crate) async fn record(
    db: impl SqliteExecutor<'_>,
    topic: &Topic,
    env: &OriginatorEnvelope,
    err: &CoreError,
    at_ns: i64,
) -> Result<(), CoreError> {
    sqlx::query(
        "INSERT INTO skipped_envelopes \
         (topic, originator_id, sequence_id, code, reason, skipped_at_ns) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (topic, originator_id, sequence_id) DO NOTHING",
    )
    .bind(topic.to_bytes())
    .bind(i64::from(env.originator_id))
    .bind(i64::try_from(env.sequence_id).unwrap_or(i64::MAX))
    .bind(err.code().as_str())
    .bind(err.to_string())
    .bind(at_ns)
    .execute(db)
    .await?;
    Ok(())
}

/// The newest `limit` skipped envelopes, newest first.
pub(crate) async fn newest(
    db: impl SqliteExecutor<'_>,
    limit: u32,
) -> Result<Vec<SkippedEnvelope>, CoreError> {
    let rows: Vec<(Vec<u8>, i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT topic, originator_id, sequence_id, code, reason, skipped_at_ns \
         FROM skipped_envelopes ORDER BY id DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(topic, o, s, code, reason, at)| SkippedEnvelope {
            topic: Topic::from_bytes(&topic)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| hex::encode(&topic)),
            originator_id: u32::try_from(o).unwrap_or(u32::MAX),
            sequence_id: u64::try_from(s).unwrap_or(0),
            code,
            reason,
            skipped_at_ns: at,
        })
        .collect())
}
