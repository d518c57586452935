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

    /// Cost units per second allowed from one caller (an IPv4 address or an IPv6 /64; 0 turns
    /// rate limiting off). A lookup costs 1, Publish, Query and key/identity fetches 2,
    /// Subscribe 8; the cost is charged before the request is read.
    #[arg(long, env = "ARX_NODE_RATE_LIMIT", default_value_t = 200)]
    rate_limit: u32,

    /// Cost units a caller may spend at once above its rate before being refused.
    #[arg(long, env = "ARX_NODE_RATE_BURST", default_value_t = 400)]
    rate_burst: u32,

    /// Subscriptions open at once from one caller (an IPv4 address or an IPv6 /64).
    #[arg(
        long,
        env = "ARX_NODE_MAX_SUBSCRIPTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    max_subscriptions_per_address: usize,

    /// Subscriptions open at once on the node.
    #[arg(long, env = "ARX_NODE_MAX_SUBSCRIPTIONS", default_value_t = 10_000)]
    max_subscriptions: usize,

    /// Seconds between keepalive messages on an idle subscription.
    #[arg(long, env = "ARX_NODE_KEEPALIVE_SECS", default_value_t = 30)]
    keepalive_secs: u64,

    /// Envelopes buffered for live subscribers; a subscriber further behind is told to resume
    /// from its cursor.
    #[arg(long, env = "ARX_NODE_LIVE_BUFFER", default_value_t = 4096)]
    live_buffer: usize,

    /// TLS certificate chain (PEM) to serve over TLS (clients then use https://). Needs
    /// --tls-key. Without it the node serves plaintext, meant for this computer only.
    #[arg(long, env = "ARX_NODE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "ARX_NODE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

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
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            };
            match (read(cert), read(key)) {
                (Ok(cert_pem), Ok(key_pem)) => Some(arx_node::TlsFiles { cert_pem, key_pem }),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "node failed to start");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    let config = NodeConfig {
        listen: args.listen,
        database_url,
        key_file: args
            .key_file
            .clone()
            .unwrap_or_else(|| args.data_dir.join("node.key")),
        service: ServiceConfig {
            rate_limit,
            keepalive: Duration::from_secs(args.keepalive_secs.max(1)),
            max_subscriptions_per_caller: args.max_subscriptions_per_address.max(1),
            max_subscriptions: args.max_subscriptions.max(1),
            ..ServiceConfig::new(Limits {
                max_envelope_bytes: args.max_envelope_bytes,
                max_batch: args.max_batch,
            })
        },
        live_buffer: args.live_buffer,
        tls,
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
