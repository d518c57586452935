//! PostgreSQL backend, for operators who outgrow one machine. Several node processes (each with
//! its own node key, hence its own originator id) may share one database.

use std::str::FromStr;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Pool, Postgres, QueryBuilder,
};

use super::{sql::impl_sql_store, StoreError};

/// Node storage in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
    /// Appends run on connections of their own, so reads never wait for a writer's slot.
    writer: Pool<Postgres>,
}

impl PostgresStore {
    /// Connects to `url` and migrates the database (or the schema named by the URL's
    /// `options=-c search_path=…`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options and migrates.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let writer = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../../migrations/node/postgres")
            .run(&writer)
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }

    /// Called after each append (PostgreSQL needs nothing then).
    fn appended(&self) {}
}

/// The first statement of a page: for each topic (a lateral subquery bounded by `limit` + 1), the
/// sequence ids after its cursor with each envelope's size (read from the TOAST header, not the
/// bytes), merged by sequence id.
fn candidates_query(
    reads: &[(Vec<u8>, u64)],
    originator_id: u32,
    limit: u32,
) -> Result<QueryBuilder<'_, Postgres>, StoreError> {
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
        ") SELECT e.sequence_id, CAST(octet_length(e.envelope) AS BIGINT) FROM req \
         CROSS JOIN LATERAL (SELECT sequence_id, envelope FROM envelopes \
         WHERE topic = req.topic AND originator_id = ",
    );
    query.push_bind(i64::from(originator_id));
    query.push(" AND sequence_id > req.after ORDER BY sequence_id LIMIT ");
    query.push_bind(i64::from(limit) + 1);
    query.push(") e ORDER BY e.sequence_id LIMIT ");
    query.push_bind(i64::from(limit) + 1);
    Ok(query)
}

impl_sql_store!(PostgresStore, Postgres, "postgres");
