#![doc = include_str!("../README.md")]

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    SqlitePool,
};

/// Pages the WAL may reach before a commit checkpoints it itself (about 32 MiB).
const AUTOCHECKPOINT_PAGES: &str = "8000";
/// After a write, how long the checkpointer lets further writes gather before it runs.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(250);

/// Options for the database at `url` (`sqlite://PATH`), created if missing.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
        .foreign_keys(true))
}

/// Runs a passive WAL checkpoint on its pool shortly after writes (a passive checkpoint never
/// blocks a writer). Clones share one task, which stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Checkpointer {
    writes: Arc<tokio::sync::Notify>,
    _task: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// Starts the task (on the current tokio runtime) over `pool`.
    pub fn spawn(pool: SqlitePool) -> Self {
        let writes = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(checkpoint_after_writes(pool, writes.clone()));
        Self {
            writes,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// Called after (or at the start of) each write: a checkpoint follows shortly.
    pub fn wrote(&self) {
        self.writes.notify_one();
    }
}

async fn checkpoint_after_writes(pool: SqlitePool, writes: Arc<tokio::sync::Notify>) {
    loop {
        writes.notified().await;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn writes_are_checkpointed_into_the_database_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let pool = SqlitePool::connect_with(connect_options(&url).unwrap())
            .await
            .unwrap();
        let checkpointer = Checkpointer::spawn(pool.clone());
        sqlx::query("CREATE TABLE t (x INTEGER) STRICT")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&pool)
            .await
            .unwrap();
        let path = dir.path().join("t.db");
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let before = size();
        checkpointer.wrote();
        // The table's page reaches the database file only through a checkpoint (SQLite's own
        // runs past 8,000 pages). Wait for it, not for a time.
        for _ in 0..400 {
            if size() > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            size() > before,
            "the background checkpoint wrote the WAL's pages"
        );
    }
}
