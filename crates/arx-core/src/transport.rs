//! The engine's view of the network: one coarse trait over the node API, and its gRPC
//! implementation.

use std::collections::BTreeMap;

use arx_identity::verify_originator_envelope;
use arx_proto::{
    get_identity_updates_request, node_client::NodeClient, ErrorDetail, FetchKeyPackagesRequest,
    GetIdentityUpdatesRequest, GetInboxIdsRequest, NodeInfoRequest, OriginatorEnvelope,
    PublishRequest, QueryRequest, QueryResponse, SubscribeRequest, SubscribeResponse, TopicCursor,
};
use async_trait::async_trait;
use futures::{stream::BoxStream, StreamExt};
use prost::Message;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::error::{CoreError, RefusedCode};

/// Identity of the node a client talks to, and the originators it trusts through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    pub node_id: u32,
    pub public_key: [u8; 32],
    pub version: String,
    /// Other nodes whose envelopes this client accepts, by node id: those the node vouches for
    /// in its NodeInfo (nodes sharing its database) and those configured on the client.
    pub peers: BTreeMap<u32, [u8; 32]>,
}

impl NodeIdentity {
    /// The key of originator `node_id`, if it is trusted.
    pub fn key_of(&self, node_id: u32) -> Option<&[u8; 32]> {
        if node_id == self.node_id {
            Some(&self.public_key)
        } else {
            self.peers.get(&node_id)
        }
    }

    /// Checks that `env` was signed by its originator, a trusted node.
    pub fn verify(&self, env: &OriginatorEnvelope) -> Result<(), CoreError> {
        let key = self
            .key_of(env.originator_id)
            .ok_or(CoreError::UnknownOriginator(env.originator_id))?;
        Ok(verify_originator_envelope(env, key)?)
    }

    /// Adds trusted node keys (each node's id derives from its key).
    pub fn trust(&mut self, keys: impl IntoIterator<Item = [u8; 32]>) {
        for key in keys {
            let id = arx_identity::node_id_from_public_key(&key);
            if id != self.node_id {
                self.peers.insert(id, key);
            }
        }
    }
}

/// The node API as the engine uses it.
#[async_trait]
pub trait Transport: Send + Sync {
    async fn node_info(&self) -> Result<NodeIdentity, CoreError>;
    async fn publish(&self, envelopes: Vec<Vec<u8>>) -> Result<Vec<OriginatorEnvelope>, CoreError>;
    async fn query(&self, request: QueryRequest) -> Result<QueryResponse, CoreError>;
    async fn inbox_ids(&self, addresses: Vec<[u8; 20]>) -> Result<Vec<Option<Vec<u8>>>, CoreError>;
    /// The identity log of `inbox_id` after `after_sequence_id`.
    async fn identity_updates(
        &self,
        inbox_id: Vec<u8>,
        after_sequence_id: u64,
    ) -> Result<Vec<OriginatorEnvelope>, CoreError>;
    async fn key_packages(
        &self,
        installation_keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<OriginatorEnvelope>>, CoreError>;
    /// Catch-up then live events for `topics` from their cursors.
    async fn subscribe(
        &self,
        topics: Vec<TopicCursor>,
    ) -> Result<BoxStream<'static, Result<SubscribeResponse, CoreError>>, CoreError>;
}

/// [`Transport`] over gRPC to one node.
#[derive(Clone, Debug)]
pub struct GrpcTransport {
    url: String,
    client: NodeClient<Channel>,
    trusted_nodes: Vec<[u8; 32]>,
    expected_key: Option<[u8; 32]>,
}

/// How long connecting to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may wait for its answer (a subscription: for its first message).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 pings on an idle connection, and how long an unanswered one may take before the
/// connection counts as dead (a half-open connection is found within their sum).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a node.
#[derive(Clone, Debug, Default)]
pub struct TransportOptions {
    /// PEM certificates of the certificate authorities trusted for `https://` nodes, in
    /// addition to the public web roots (a self-signed node's own certificate works).
    pub ca_pem: Option<Vec<u8>>,
    /// Allow `http://` (no TLS) to a host that is not this computer.
    pub allow_plaintext: bool,
    /// Public keys of other nodes whose envelopes are accepted too (besides the node's own and
    /// the peers it vouches for).
    pub trusted_nodes: Vec<[u8; 32]>,
    /// The node's public key must be this one (say, the app's own embedded node).
    pub expected_key: Option<[u8; 32]>,
    /// Timeouts and keepalive (the defaults when None).
    pub timeouts: Option<Timeouts>,
}

/// How long the network may take before a call or a connection counts as failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// One call's answer (a subscription: its first message).
    pub call: Duration,
    /// HTTP/2 pings on a connection, and how long one may go unanswered: a half-open
    /// connection is found within their sum.
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: CONNECT_TIMEOUT,
            call: CALL_TIMEOUT,
            keepalive_interval: KEEPALIVE_INTERVAL,
            keepalive_timeout: KEEPALIVE_TIMEOUT,
        }
    }
}

/// Whether `host` (of a URL) is this computer.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl GrpcTransport {
    /// Connects lazily to the node at `url` (`http://` on this computer, or `https://`).
    pub fn new(url: &str) -> Result<Self, CoreError> {
        Self::with_options(url, &TransportOptions::default())
    }

    /// [`GrpcTransport::new`] with TLS and plaintext options.
    pub fn with_options(url: &str, options: &TransportOptions) -> Result<Self, CoreError> {
        let invalid =
            |reason: String| CoreError::InvalidInput(format!("node URL {url:?}: {reason}"));
        let uri: tonic::codegen::http::Uri = url.parse().map_err(|e| invalid(format!("{e}")))?;
        let host = uri.host().ok_or_else(|| invalid("no host".into()))?;
        let timeouts = options.timeouts.unwrap_or_default();
        let mut endpoint = Channel::from_shared(url.to_owned())
            .map_err(|e| invalid(e.to_string()))?
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.call)
            .http2_keep_alive_interval(timeouts.keepalive_interval)
            .keep_alive_timeout(timeouts.keepalive_timeout)
            .keep_alive_while_idle(true)
            .tcp_keepalive(Some(timeouts.keepalive_interval));
        match uri.scheme_str() {
            Some("https") => {
                let mut tls = ClientTlsConfig::new()
                    .with_webpki_roots()
                    .domain_name(host.trim_start_matches('[').trim_end_matches(']'));
                if let Some(pem) = &options.ca_pem {
                    tls = tls.ca_certificate(Certificate::from_pem(pem));
                }
                endpoint = endpoint
                    .tls_config(tls)
                    .map_err(|e| invalid(format!("TLS: {e}")))?;
            }
            Some("http") if is_loopback(host) || options.allow_plaintext => {}
            Some("http") => {
                return Err(invalid(
                    "a node on another computer is reached over https:// (plaintext only on \
                     this computer)"
                        .into(),
                ))
            }
            _ => return Err(invalid("use http:// (this computer) or https://".into())),
        }
        Ok(Self {
            url: url.to_owned(),
            client: NodeClient::new(endpoint.connect_lazy())
                .max_decoding_message_size(16 * 1024 * 1024),
            trusted_nodes: options.trusted_nodes.clone(),
            expected_key: options.expected_key,
        })
    }

    fn map(&self, status: tonic::Status) -> CoreError {
        match ErrorDetail::decode(status.details()) {
            Ok(detail) if !detail.code.is_empty() => CoreError::NodeRefused {
                code: RefusedCode::parse(detail.code),
                message: status.message().to_owned(),
                retryable: detail.retryable,
            },
            _ => match status.code() {
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
                    CoreError::NodeUnreachable {
                        url: self.url.clone(),
                        reason: status.message().to_owned(),
                    }
                }
                _ => CoreError::NodeInvalid(status.to_string()),
            },
        }
    }
}

#[async_trait]
impl Transport for GrpcTransport {
    async fn node_info(&self) -> Result<NodeIdentity, CoreError> {
        let info = self
            .client
            .clone()
            .node_info(NodeInfoRequest {})
            .await
            .map_err(|s| self.map(s))?;
        let info = info.into_inner();
        let public_key = <[u8; 32]>::try_from(info.public_key.as_slice())
            .map_err(|_| CoreError::NodeInvalid("node public key is not 32 bytes".into()))?;
        if self.expected_key.is_some_and(|k| k != public_key) {
            return Err(CoreError::NodeInvalid(format!(
                "the node at {} is not the expected one (another key)",
                self.url
            )));
        }
        if arx_identity::node_id_from_public_key(&public_key) != info.node_id {
            return Err(CoreError::NodeInvalid(
                "node id does not match its public key".into(),
            ));
        }
        let mut node = NodeIdentity {
            node_id: info.node_id,
            public_key,
            version: info.version,
            peers: BTreeMap::new(),
        };
        let mut peers = Vec::with_capacity(info.peers.len());
        for peer in info.peers {
            let key = <[u8; 32]>::try_from(peer.public_key.as_slice())
                .map_err(|_| CoreError::NodeInvalid("a peer public key is not 32 bytes".into()))?;
            if arx_identity::node_id_from_public_key(&key) != peer.node_id {
                return Err(CoreError::NodeInvalid(
                    "a peer's node id does not match its public key".into(),
                ));
            }
            peers.push(key);
        }
        node.trust(peers);
        node.trust(self.trusted_nodes.iter().copied());
        Ok(node)
    }

    async fn publish(&self, envelopes: Vec<Vec<u8>>) -> Result<Vec<OriginatorEnvelope>, CoreError> {
        let response = self
            .client
            .clone()
            .publish(PublishRequest {
                client_envelopes: envelopes,
            })
            .await
            .map_err(|s| self.map(s))?;
        Ok(response.into_inner().envelopes)
    }

    async fn query(&self, request: QueryRequest) -> Result<QueryResponse, CoreError> {
        let response = self
            .client
            .clone()
            .query(request)
            .await
            .map_err(|s| self.map(s))?;
        Ok(response.into_inner())
    }

    async fn inbox_ids(&self, addresses: Vec<[u8; 20]>) -> Result<Vec<Option<Vec<u8>>>, CoreError> {
        let count = addresses.len();
        let response = self
            .client
            .clone()
            .get_inbox_ids(GetInboxIdsRequest {
                addresses: addresses.into_iter().map(|a| a.to_vec()).collect(),
            })
            .await
            .map_err(|s| self.map(s))?
            .into_inner();
        if response.entries.len() != count {
            return Err(CoreError::NodeInvalid(
                "GetInboxIds answered a different count".into(),
            ));
        }
        Ok(response.entries.into_iter().map(|e| e.inbox_id).collect())
    }

    async fn identity_updates(
        &self,
        inbox_id: Vec<u8>,
        after_sequence_id: u64,
    ) -> Result<Vec<OriginatorEnvelope>, CoreError> {
        let response = self
            .client
            .clone()
            .get_identity_updates(GetIdentityUpdatesRequest {
                requests: vec![get_identity_updates_request::Entry {
                    inbox_id,
                    after_sequence_id,
                }],
            })
            .await
            .map_err(|s| self.map(s))?
            .into_inner();
        Ok(response
            .responses
            .into_iter()
            .next()
            .map(|e| e.envelopes)
            .unwrap_or_default())
    }

    async fn key_packages(
        &self,
        installation_keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<OriginatorEnvelope>>, CoreError> {
        let count = installation_keys.len();
        let response = self
            .client
            .clone()
            .fetch_key_packages(FetchKeyPackagesRequest { installation_keys })
            .await
            .map_err(|s| self.map(s))?
            .into_inner();
        if response.entries.len() != count {
            return Err(CoreError::NodeInvalid(
                "FetchKeyPackages answered a different count".into(),
            ));
        }
        Ok(response.entries.into_iter().map(|e| e.envelope).collect())
    }

    async fn subscribe(
        &self,
        topics: Vec<TopicCursor>,
    ) -> Result<BoxStream<'static, Result<SubscribeResponse, CoreError>>, CoreError> {
        let stream = self
            .client
            .clone()
            .subscribe(SubscribeRequest { topics })
            .await
            .map_err(|s| self.map(s))?
            .into_inner();
        let this = self.clone();
        Ok(stream
            .map(move |item| item.map_err(|s| this.map(s)))
            .boxed())
    }
}
