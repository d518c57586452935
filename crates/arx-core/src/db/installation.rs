//! The `installation` table: this data directory's installation (one row) and its
//! registration.

use arx_identity::{Address, InboxId, InstallationKey};
use sqlx::SqliteExecutor;

use crate::error::CoreError;

/// Records `key` as this database's installation on first use; returns the key recorded.
pub(crate) async fn claim(
    db: &sqlx::SqlitePool,
    key: &InstallationKey,
) -> Result<Vec<u8>, CoreError> {
    sqlx::query(
        "INSERT INTO installation (id, installation_key) VALUES (1, $1) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(key.as_bytes().as_slice())
    .execute(db)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT installation_key FROM installation WHERE id = 1")
            .fetch_one(db)
            .await?,
    )
}

/// The inbox and wallet registration recorded, if any.
pub(crate) async fn registration(
    db: impl SqliteExecutor<'_>,
) -> Result<Option<(InboxId, Address)>, CoreError> {
    let row: (Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT inbox_id, wallet_address FROM installation WHERE id = 1")
            .fetch_one(db)
            .await?;
    match row {
        (Some(inbox), Some(wallet)) => Ok(Some((
            InboxId::from_slice(&inbox)?,
            Address::try_from(wallet.as_slice())
                .map_err(|_| CoreError::corrupt("installation.wallet_address", "not 20 bytes"))?,
        ))),
        _ => Ok(None),
    }
}

pub(crate) async fn set_registration(
    db: impl SqliteExecutor<'_>,
    inbox: &InboxId,
    wallet: &Address,
    at_ns: i64,
) -> Result<(), CoreError> {
    sqlx::query(
        "UPDATE installation SET inbox_id = $1, wallet_address = $2, registered_at_ns = $3 \
         WHERE id = 1",
    )
    .bind(inbox.as_bytes().as_slice())
    .bind(wallet.as_slice())
    .bind(at_ns)
    .execute(db)
    .await?;
    Ok(())
}
