//! SQLite backend: one file, zero set-up, opened as every ARX SQLite database is (`arx-sqlite`:
//! WAL, `synchronous=NORMAL`, busy timeout, foreign keys).
//!
//! The WAL is checkpointed by a background task shortly after appends (a passive checkpoint
//! never blocks the writer), not by SQLite inside whichever commit filled it: that commit would
//! copy the WAL into the database and sync it on a Publish's path. SQLite's own checkpoint stays
//! as a backstop for a much larger WAL.

use sqlx::{sqlite::SqlitePoolOptions, Pool, Sqlite};

use super::{sql::impl_sql_store, StoreError};

/// Node storage in one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
    checkpointer: arx_sqlite::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = arx_sqlite::connect_options(url)?;
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
        let checkpointer = arx_sqlite::Checkpointer::spawn(pool.clone());
        Ok(Self { pool, checkpointer })
    }

    /// Called after each append: a checkpoint follows shortly.
    fn appended(&self) {
        self.checkpointer.wrote();
    }
}

impl_sql_store!(SqliteStore, Sqlite, "sqlite");
