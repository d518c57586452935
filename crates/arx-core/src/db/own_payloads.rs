//! The `own_payloads` table: hashes of every envelope this installation published (every
//! attempt), so the echo of a superseded attempt is recognized and skipped.

use sqlx::SqliteExecutor;

use crate::error::CoreError;

pub(crate) async fn insert(db: impl SqliteExecutor<'_>, hash: &[u8]) -> Result<(), CoreError> {
    sqlx::query("INSERT INTO own_payloads (payload_hash) VALUES ($1)")
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

pub(crate) async fn contains(db: impl SqliteExecutor<'_>, hash: &[u8]) -> Result<bool, CoreError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM own_payloads WHERE payload_hash = $1)")
            .bind(hash)
            .fetch_one(db)
            .await?,
    )
}
