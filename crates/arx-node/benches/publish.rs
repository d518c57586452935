//! Publish throughput: envelopes/s through a loopback node with 1, 10 and 100 concurrent
//! publishers at batch sizes 1 and 100, on SQLite and (with ARX_BENCH_POSTGRES_URL or
//! ARX_TEST_POSTGRES_URL) PostgreSQL, each beside a raw batched insert of same-sized rows into
//! the same database measured in the same run.
//!
//! Run: `cargo bench -p arx-node --bench publish` (ARX_BENCH_SECONDS sets each run's length).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use arx_e2e::{alice, connect, group_envelope, publish};
use arx_node::{
    store::{PostgresStore, SqliteStore, Store},
    Limits, NodeConfig, ServiceConfig,
};

struct Target {
    name: &'static str,
    store: Arc<dyn Store>,
    raw: RawDb,
}

enum RawDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

async fn sqlite_target(dir: &std::path::Path) -> Target {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    // A second pool on the same file with the node's pragmas, for the raw insert.
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    Target {
        name: "SQLite",
        store: Arc::new(store),
        raw: RawDb::Sqlite(pool),
    }
}

async fn postgres_target(url: &str) -> Target {
    let schema = format!("bench_{}", rand::random::<u32>());
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = PostgresStore::connect_with(options.clone()).await.unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    Target {
        name: "PostgreSQL",
        store: Arc::new(store),
        raw: RawDb::Postgres(pool),
    }
}

/// How the raw reference writes its rows (always 100 rows per transaction).
#[derive(Clone, Copy)]
enum RawStyle {
    /// One single-row INSERT per row: the textbook batched insert.
    RowPerStatement,
    /// One multi-row INSERT per 100 rows: the technique the node's store uses.
    MultiRow,
}

/// Rows/s of batched INSERTs into the node's envelopes table, bypassing the node.
async fn raw_insert_rate(
    raw: &RawDb,
    style: RawStyle,
    row_bytes: usize,
    rows: u64,
    originator: i64,
) -> f64 {
    let payload = vec![7u8; row_bytes];
    let topic = vec![1u8; 13];
    let started = Instant::now();
    let mut seq: i64 = 0;
    macro_rules! insert_batch {
        ($pool:expr, $db:ty) => {{
            let mut tx = $pool.begin().await.unwrap();
            match style {
                RawStyle::RowPerStatement => {
                    for _ in 0..100 {
                        seq += 1;
                        sqlx::query(
                            "INSERT INTO envelopes (originator_id, sequence_id, topic, received_at_ns, envelope) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(originator)
                        .bind(seq)
                        .bind(&topic)
                        .bind(seq)
                        .bind(&payload)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    }
                }
                RawStyle::MultiRow => {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO envelopes (originator_id, sequence_id, topic, received_at_ns, envelope) ",
                    );
                    let first = seq;
                    insert.push_values(1..=100i64, |mut row, i| {
                        row.push_bind(originator)
                            .push_bind(first + i)
                            .push_bind(topic.as_slice())
                            .push_bind(first + i)
                            .push_bind(payload.as_slice());
                    });
                    seq += 100;
                    insert.build().execute(&mut *tx).await.unwrap();
                }
            }
            tx.commit().await.unwrap();
        }};
    }
    while (seq as u64) < rows {
        match raw {
            RawDb::Sqlite(pool) => insert_batch!(pool, sqlx::Sqlite),
            RawDb::Postgres(pool) => insert_batch!(pool, sqlx::Postgres),
        }
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

async fn publish_rate(
    url: &str,
    message: &[u8],
    publishers: usize,
    batch: usize,
    run: Duration,
) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..publishers {
        let url = url.to_owned();
        let message = message.to_vec();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = connect(&url).await;
            let envelopes = vec![message; batch];
            while Instant::now() < deadline {
                publish(&mut client, envelopes.clone()).await.unwrap();
                count.fetch_add(batch as u64, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("ARX_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.2 } else { 3.0 });
    let run = Duration::from_secs_f64(seconds);

    let alice = alice();
    let group_id = b"bench-group".to_vec();
    let mut group = alice.create_group(&group_id);
    let message = group_envelope(&group_id, alice.encrypt(&mut group, &[b'x'; 100]));

    let dir = tempfile::tempdir().unwrap();
    let mut targets = vec![sqlite_target(dir.path()).await];
    let pg =
        std::env::var("ARX_BENCH_POSTGRES_URL").or_else(|_| std::env::var("ARX_TEST_POSTGRES_URL"));
    match &pg {
        Ok(url) => targets.push(postgres_target(url).await),
        Err(_) => {
            eprintln!("PostgreSQL skipped: set ARX_BENCH_POSTGRES_URL or ARX_TEST_POSTGRES_URL")
        }
    }

    println!(
        "client envelope: {} bytes (MLS PrivateMessage, 100-byte plaintext)",
        message.len()
    );
    println!("| database | publishers | batch | node envelopes/s | raw A rows/s (INSERT per row) | node/A | raw B rows/s (multi-row INSERT) | node/B |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for target in targets {
        let key_dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: String::new(),
            key_file: key_dir.path().join("node.key"),
            service: ServiceConfig::new(Limits::default()),
            live_buffer: 4096,
            tls: None,
        };
        let key = arx_node::keyfile::load_or_create(&config.key_file).unwrap();
        let node = arx_node::start_with(config, target.store.clone(), key)
            .await
            .unwrap();
        let url = node.url();
        // Stored rows carry the client envelope plus the originator's fields and signature.
        let row_bytes = message.len() + 100;
        let rows = if quick { 2_000 } else { 50_000 };
        let raw_a = raw_insert_rate(
            &target.raw,
            RawStyle::RowPerStatement,
            row_bytes,
            rows,
            999_998,
        )
        .await;
        let raw_b =
            raw_insert_rate(&target.raw, RawStyle::MultiRow, row_bytes, rows, 999_999).await;
        for publishers in [1usize, 10, 100] {
            for batch in [1usize, 100] {
                let rate = publish_rate(&url, &message, publishers, batch, run).await;
                println!(
                    "| {} | {publishers} | {batch} | {rate:.0} | {raw_a:.0} | {:.2} | {raw_b:.0} | {:.2} |",
                    target.name,
                    rate / raw_a,
                    rate / raw_b
                );
            }
        }
        node.shutdown().await.unwrap();
    }
}
