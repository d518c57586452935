//! SQLite backend: one file, zero set-up, opened as every ARX SQLite database is (`arx-sqlite`:
//! WAL, busy timeout, foreign keys), but with `synchronous=FULL`: a node acknowledges an
//! envelope only after its transaction is on disk, so a power loss never loses an acknowledged
//! envelope nor lets a sequence id be handed out twice. Appends run on a writer connection of
//! their own; reads on a pool of their own.
//!
//! The WAL is checkpointed by a background task shortly after appends (a passive checkpoint
//! never blocks the writer), not by SQLite inside whichever commit filled it: that commit would
//! copy the WAL into the database and sync it on a Publish's path. SQLite's own checkpoint stays
//! as a backstop for a much larger WAL.

use sqlx::{
    sqlite::{SqlitePoolOptions, SqliteSynchronous},
    Pool, QueryBuilder, Sqlite,
};

use super::{sql::impl_sql_store, StoreError};

/// Node storage in one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
    writer: Pool<Sqlite>,
    checkpointer: arx_sqlite::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = arx_sqlite::connect_options(url)?.synchronous(SqliteSynchronous::Full);
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(sqlx::Error::Configuration(
                        format!("cannot create database directory {}: {e}", dir.display()).into(),
                    ))
                })?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../../migrations/node/sqlite")
            .run(&writer)
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let checkpointer = arx_sqlite::Checkpointer::spawn(pool.clone());
        Ok(Self {
            pool,
            writer,
            checkpointer,
        })
    }

    /// Called after each append: a checkpoint follows shortly.
    fn appended(&self) {
        self.checkpointer.wrote();
    }
}

/// The first statement of a page: for each topic (a correlated subquery bounded by `limit` + 1),
/// the sequence ids after its cursor with each envelope's size, merged by sequence id.
fn candidates_query(
    reads: &[(Vec<u8>, u64)],
    originator_id: u32,
    limit: u32,
) -> Result<QueryBuilder<'_, Sqlite>, StoreError> {
    let mut query = QueryBuilder::new("WITH req(topic, after) AS (VALUES ");
    let mut rows = query.separated(", ");
    for (topic, after) in reads {
        rows.push("(");
        rows.push_bind_unseparated(topic.as_slice());
        rows.push_unseparated(", ");
        rows.push_bind_unseparated(super::to_i64(*after, "cursor")?);
        rows.push_unseparated(")");
    }
    query.push(
        ") SELECT e.sequence_id, length(e.envelope) FROM req JOIN envelopes e ON e.rowid IN \
         (SELECT rowid FROM envelopes WHERE topic = req.topic AND originator_id = ",
    );
    query.push_bind(i64::from(originator_id));
    query.push(" AND sequence_id > req.after ORDER BY sequence_id LIMIT ");
    query.push_bind(i64::from(limit) + 1);
    query.push(") ORDER BY e.sequence_id LIMIT ");
    query.push_bind(i64::from(limit) + 1);
    Ok(query)
}

impl_sql_store!(SqliteStore, Sqlite, "sqlite");
