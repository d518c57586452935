//! `arx-node`: run an ARX node.

use std::{net::SocketAddr, num::NonZeroU32, path::PathBuf, process::ExitCode, time::Duration};

use arx_node::{Limits, NodeConfig, RateLimit, ServiceConfig};
use clap::{Parser, ValueEnum};
use tracing_subscriber::EnvFilter;

/// ARX node: the delivery and authentication service for ARX clients.
///
/// Stores and relays MLS-encrypted envelopes (it never sees plaintext), verifies identity logs
/// and key packages, and signs every envelope it accepts. Logs go to stderr; set RUST_LOG (for
/// example RUST_LOG=arx_node=debug) to change what is logged.
#[derive(Debug, Parser)]
#[command(name = "arx-node", version)]
struct Args {
    /// Address and port to serve gRPC on (node API, grpc.health.v1, server reflection).
    #[arg(long, env = "ARX_NODE_LISTEN", default_value = "127.0.0.1:5050")]
    listen: SocketAddr,

    /// Directory for the node key and, by default, the SQLite database.
    #[arg(long, env = "ARX_NODE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,

    /// Database URL: sqlite://PATH (default: sqlite://DATA_DIR/node.db) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "ARX_NODE_DATABASE")]
    database: Option<String>,

    /// Node signing key file (created on first start; default: DATA_DIR/node.key). Its public
    /// key gives the node id, so keep it to keep the node's identity.
    #[arg(long, env = "ARX_NODE_KEY_FILE")]
    key_file: Option<PathBuf>,

    /// Largest client envelope accepted, in bytes.
    #[arg(long, env = "ARX_NODE_MAX_ENVELOPE_BYTES", default_value_t = Limits::default().max_envelope_bytes)]
    max_envelope_bytes: usize,

    /// Most envelopes accepted in one Publish call.
    #[arg(long, env = "ARX_NODE_MAX_BATCH", default_value_t = Limits::default().max_batch)]
    max_batch: usize,

    /// Calls per second allowed from one client IP address (0 turns rate limiting off).
    #[arg(long, env = "ARX_NODE_RATE_LIMIT", default_value_t = 200)]
    rate_limit: u32,

    /// Calls a client may make at once above its rate before being refused.
    #[arg(long, env = "ARX_NODE_RATE_BURST", default_value_t = 400)]
    rate_burst: u32,

    /// Seconds between keepalive messages on an idle subscription.
    #[arg(long, env = "ARX_NODE_KEEPALIVE_SECS", default_value_t = 30)]
    keepalive_secs: u64,

    /// Envelopes buffered for live subscribers; a subscriber further behind is told to resume
    /// from its cursor.
    #[arg(long, env = "ARX_NODE_LIVE_BUFFER", default_value_t = 4096)]
    live_buffer: usize,

    /// Log format on stderr.
    #[arg(long, env = "ARX_NODE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    let database_url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", args.data_dir.join("node.db").display()));
    let rate_limit = NonZeroU32::new(args.rate_limit).map(|per_second| RateLimit {
        per_second,
        burst: NonZeroU32::new(args.rate_burst).unwrap_or(per_second),
    });
    let config = NodeConfig {
        listen: args.listen,
        database_url,
        key_file: args
            .key_file
            .clone()
            .unwrap_or_else(|| args.data_dir.join("node.key")),
        service: ServiceConfig {
            limits: Limits {
                max_envelope_bytes: args.max_envelope_bytes,
                max_batch: args.max_batch,
            },
            rate_limit,
            keepalive: Duration::from_secs(args.keepalive_secs.max(1)),
        },
        live_buffer: args.live_buffer,
    };
    let mut node = match arx_node::start(config).await {
        Ok(node) => node,
        Err(err) => {
            tracing::error!(error = %err, "node failed to start");
            eprintln!("arx-node: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "arx-node {} listening on {} (node id {}, public key {})",
        env!("CARGO_PKG_VERSION"),
        node.addr,
        node.node_id,
        hex::encode(node.public_key)
    );
    tokio::select! {
        served = node.wait() => {
            if let Err(err) = served {
                tracing::error!(error = %err, "server stopped");
                return ExitCode::FAILURE;
            }
            return ExitCode::SUCCESS;
        }
        _ = shutdown_signal() => {}
    }
    match node.shutdown().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "shutdown failed");
            ExitCode::FAILURE
        }
    }
}
