//! SQLite backend: one file, zero set-up. WAL, `synchronous=NORMAL`, busy timeout, foreign keys.
//!
//! The WAL is checkpointed by a background task shortly after appends (a passive checkpoint
//! never blocks the writer), not by SQLite inside whichever commit filled it: that commit would
//! copy the WAL into the database and sync it on a Publish's path. SQLite's own checkpoint stays
//! as a backstop for a much larger WAL.

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Pool, Sqlite,
};

use super::{sql::impl_sql_store, StoreError};

/// Node storage in one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
    appends: Arc<tokio::sync::Notify>,
    /// Stops the checkpoint task when the last clone of the store is dropped.
    _checkpointer: Arc<AbortOnDrop>,
}

/// Pages the WAL may reach before a commit checkpoints it itself (about 32 MiB).
const AUTOCHECKPOINT_PAGES: &str = "8000";
/// After an append, how long the checkpointer lets further appends gather before it runs.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(sqlx::Error::Configuration(
                        format!("cannot create database directory {}: {e}", dir.display()).into(),
                    ))
                })?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/node/sqlite")
            .run(&pool)
            .await?;
        let appends = Arc::new(tokio::sync::Notify::new());
        let checkpointer = tokio::spawn(checkpoint_after_appends(pool.clone(), appends.clone()));
        Ok(Self {
            pool,
            appends,
            _checkpointer: Arc::new(AbortOnDrop(checkpointer)),
        })
    }

    /// Called after each append: a checkpoint follows shortly.
    fn appended(&self) {
        self.appends.notify_one();
    }
}

async fn checkpoint_after_appends(pool: Pool<Sqlite>, appends: Arc<tokio::sync::Notify>) {
    loop {
        appends.notified().await;
        tokio::time::sleep(CHECKPOINT_DELAY).await;
        if pool.is_closed() {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            // Harmless: the next one (or SQLite's own) copies the same pages.
            tracing::debug!(error = %err, "background checkpoint did not run");
        }
    }
}

impl_sql_store!(SqliteStore, Sqlite, "sqlite");
