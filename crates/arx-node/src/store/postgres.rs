//! PostgreSQL backend, for operators who outgrow one machine. Several node processes (each with
//! its own node key, hence its own originator id) may share one database.

use std::str::FromStr;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Pool, Postgres,
};

use super::{sql::impl_sql_store, StoreError};

/// Node storage in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    /// Connects to `url` and migrates the database (or the schema named by the URL's
    /// `options=-c search_path=…`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options and migrates.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/node/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }

    /// Called after each append (PostgreSQL needs nothing then).
    fn appended(&self) {}
}

impl_sql_store!(PostgresStore, Postgres, "postgres");
