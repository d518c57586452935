//! The `own_key_packages` table: this installation's key packages, newest current.

use sqlx::SqliteExecutor;

use crate::error::CoreError;

/// Records a new key package; every earlier one is superseded at `now_ns`.
pub(crate) async fn insert_current(
    tx: &mut sqlx::SqliteConnection,
    hash_ref: &[u8],
    now_ns: i64,
) -> Result<(), CoreError> {
    sqlx::query("UPDATE own_key_packages SET superseded_at_ns = $1 WHERE superseded_at_ns IS NULL")
        .bind(now_ns)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO own_key_packages (hash_ref, created_at_ns) VALUES ($1, $2)")
        .bind(hash_ref)
        .bind(now_ns)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Key packages superseded before `before_ns`.
pub(crate) async fn superseded_before(
    db: impl SqliteExecutor<'_>,
    before_ns: i64,
) -> Result<Vec<Vec<u8>>, CoreError> {
    Ok(
        sqlx::query_scalar("SELECT hash_ref FROM own_key_packages WHERE superseded_at_ns < $1")
            .bind(before_ns)
            .fetch_all(db)
            .await?,
    )
}

pub(crate) async fn delete(db: impl SqliteExecutor<'_>, hash_ref: &[u8]) -> Result<(), CoreError> {
    sqlx::query("DELETE FROM own_key_packages WHERE hash_ref = $1")
        .bind(hash_ref)
        .execute(db)
        .await?;
    Ok(())
}

/// How many key packages this installation keeps (current and superseded).
#[cfg(test)]
pub(crate) async fn count(db: impl SqliteExecutor<'_>) -> Result<i64, CoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM own_key_packages")
        .fetch_one(db)
        .await?)
}
