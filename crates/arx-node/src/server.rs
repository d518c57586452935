//! Starting and stopping a node: storage, key, publisher, gRPC services (node, health,
//! reflection) on one listener, and graceful shutdown.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use arx_identity::{NoChainVerifier, NodeKey};
use arx_proto::node_server::NodeServer;
use tokio::{
    net::TcpListener,
    sync::{broadcast, watch},
    task::JoinHandle,
};

use crate::{
    admission::{Admission, AdmissionLayer},
    keyfile::{self, KeyFileError},
    publisher::Publisher,
    service::{NodeService, ServiceConfig},
    store::{self, Store, StoreError},
};

/// Largest gRPC request the node decodes (a full batch of maximum-size envelopes is refused by
/// the batch and envelope limits long before this).
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// Most concurrent calls (HTTP/2 streams) on one connection.
const MAX_STREAMS_PER_CONNECTION: u32 = 128;
/// How long a stopping node waits for calls in flight (a subscriber that stopped reading holds
/// its stream open) before it closes every connection.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything needed to run a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    pub key_file: PathBuf,
    pub service: ServiceConfig,
    /// Envelopes buffered for live subscribers before a slow one is told to resume.
    pub live_buffer: usize,
    /// Serve over TLS with this certificate chain and key (PEM); plaintext when None.
    pub tls: Option<TlsFiles>,
}

/// A TLS certificate chain and its private key, PEM-encoded.
#[derive(Clone)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("TlsFiles")
            .field("cert_pem_bytes", &self.cert_pem.len())
            .finish_non_exhaustive()
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("cannot build the reflection service: {0}")]
    Reflection(String),
    #[error("cannot use the TLS certificate and key: {0}")]
    Tls(String),
}

/// A node serving on a socket. Dropping it does not stop it; call [`RunningNode::shutdown`].
#[derive(Debug)]
pub struct RunningNode {
    pub addr: SocketAddr,
    /// Whether it serves over TLS.
    pub tls: bool,
    pub node_id: u32,
    pub public_key: [u8; 32],
    shutdown: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    writer: JoinHandle<()>,
}

impl RunningNode {
    /// `http://ADDR` (or `https://localhost:PORT` over TLS), for clients.
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Stops accepting calls, ends subscriptions, finishes in-flight publishes, and returns when
    /// everything is written.
    pub async fn shutdown(mut self) -> Result<(), tonic::transport::Error> {
        let _ = self.shutdown.send(true);
        let served = match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.server).await {
            Ok(served) => served.unwrap_or(Ok(())),
            Err(_) => {
                tracing::warn!("calls still open after the grace period; closing them");
                self.server.abort();
                Ok(())
            }
        };
        let _ = self.writer.await;
        served
    }

    /// Resolves when the server stops by itself (it only does on a transport error).
    pub async fn wait(&mut self) -> Result<(), tonic::transport::Error> {
        (&mut self.server).await.unwrap_or(Ok(()))
    }
}

/// Opens the database named in `config`, loads or creates the node key, and starts serving.
pub async fn start(config: NodeConfig) -> Result<RunningNode, StartError> {
    let store = store::open(&config.database_url).await?;
    let key = keyfile::load_or_create(&config.key_file)?;
    start_with(config, store, key).await
}

/// Starts serving with an already opened store and key (tests use this).
pub async fn start_with(
    config: NodeConfig,
    store: Arc<dyn Store>,
    key: NodeKey,
) -> Result<RunningNode, StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let node_id = key.node_id();
    let public_key = key.public_key();
    store.register_node(node_id, &public_key).await?;
    let next_sequence_id = store.last_sequence_id(node_id).await? + 1;

    let (live, _) = broadcast::channel(config.live_buffer.max(16));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (publisher, writer) = Publisher::spawn(
        store.clone(),
        key,
        next_sequence_id,
        live.clone(),
        Arc::new(NoChainVerifier),
        shutdown_rx.clone(),
    );
    let service = NodeService::new(
        store.clone(),
        publisher,
        live,
        public_key,
        config.service.clone(),
        shutdown_rx.clone(),
    );

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<NodeServer<NodeService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(arx_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| StartError::Reflection(e.to_string()))?;

    let node = NodeServer::new(service)
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_REQUEST_BYTES);
    let mut stop = shutdown_rx;
    let signal = async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
        health.set_not_serving::<NodeServer<NodeService>>().await;
        tracing::info!("shutting down: no new calls, finishing in-flight ones");
    };
    let admission = config.service.rate_limit.map(Admission::new);
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        let identity = tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|e| StartError::Tls(e.to_string()))?;
    }
    let server = tokio::spawn(
        builder
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .layer(AdmissionLayer::new(admission))
            .add_service(health_service)
            .add_service(reflection)
            .add_service(node)
            .serve_with_incoming_shutdown(
                // Small replies must not wait for delayed ACKs (Nagle): set nodelay per socket.
                tonic::transport::server::TcpIncoming::from(listener)
                    .with_nodelay(Some(true))
                    .with_keepalive(Some(Duration::from_secs(60))),
                signal,
            ),
    );
    tracing::info!(%addr, node_id, backend = store.backend(), next_sequence_id, "node serving");
    Ok(RunningNode {
        addr,
        tls: config.tls.is_some(),
        node_id,
        public_key,
        shutdown: shutdown_tx,
        server,
        writer,
    })
}
