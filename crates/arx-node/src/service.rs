//! The gRPC `Node` service: a thin layer that checks request shape and limits, then calls the
//! publisher or the store.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    num::NonZeroU32,
    pin::Pin,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use arx_identity::{AssociationState, InboxId, InstallationKey, Topic};
use arx_proto::{
    fetch_key_packages_response, get_identity_updates_response, get_inbox_ids_response,
    node_server::Node, Cursor, FetchKeyPackagesRequest, FetchKeyPackagesResponse,
    GetIdentityUpdatesRequest, GetIdentityUpdatesResponse, GetInboxIdsRequest, GetInboxIdsResponse,
    NodeInfoRequest, NodeInfoResponse, NodePeer, OriginatorEnvelope, PublishRequest,
    PublishResponse, QueryRequest, QueryResponse, SubscribeRequest, SubscribeResponse, TopicCursor,
};
use futures::Stream;
use openmls_rust_crypto::RustCrypto;
use prost::Message;
use tokio::sync::{broadcast, watch};
use tonic::{Request, Response, Status};

use crate::{
    error::NodeError,
    publisher::{Delivered, Publisher},
    store::{Store, StoreError, StoredEnvelope},
    subscription::{Subscription, Subscriptions},
    validate::{validate_envelope, Limits},
};

/// Most topics in one Query call.
pub const MAX_QUERY_TOPICS: usize = 1_000;
/// Most topics in one subscription (a client that needs more opens several).
pub const MAX_SUBSCRIBE_TOPICS: usize = 1_000;
/// Most encoded envelope bytes in one Query page or Subscribe message (a page always holds at
/// least one envelope, and one envelope is at most 1 MiB, so every answer stays far below the
/// clients' 16 MiB message limit).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Most encoded bytes of identity logs in one GetIdentityUpdates answer.
pub const MAX_IDENTITY_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Most envelopes in one Query page, and the default.
pub const MAX_QUERY_LIMIT: u32 = 1_000;
pub const DEFAULT_QUERY_LIMIT: u32 = 500;
/// Most addresses, inboxes or installations in one lookup.
pub const MAX_LOOKUPS: usize = 1_000;

/// Per-client request rate limit.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// Settings of the service (from the command line).
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub limits: Limits,
    pub rate_limit: Option<RateLimit>,
    pub keepalive: Duration,
    /// Most subscriptions open at once from one caller (an IPv4 address or an IPv6 /64).
    pub max_subscriptions_per_caller: usize,
    /// Most subscriptions open at once in all.
    pub max_subscriptions: usize,
}

impl ServiceConfig {
    /// The defaults of `arx-node` (no rate limit).
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            rate_limit: None,
            keepalive: Duration::from_secs(30),
            max_subscriptions_per_caller: 64,
            max_subscriptions: 10_000,
        }
    }
}

/// The `Node` gRPC service.
pub struct NodeService {
    store: Arc<dyn Store>,
    publisher: Publisher,
    live: broadcast::Sender<Arc<Delivered>>,
    node_id: u32,
    public_key: [u8; 32],
    config: ServiceConfig,
    crypto: RustCrypto,
    subscriptions: Subscriptions,
    shutdown: watch::Receiver<bool>,
}

impl NodeService {
    /// The service of the node whose key is `public_key` (its node id derives from it).
    pub fn new(
        store: Arc<dyn Store>,
        publisher: Publisher,
        live: broadcast::Sender<Arc<Delivered>>,
        public_key: [u8; 32],
        config: ServiceConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            publisher,
            live,
            node_id: arx_identity::node_id_from_public_key(&public_key),
            public_key,
            config,
            crypto: RustCrypto::default(),
            subscriptions: Subscriptions::default(),
            shutdown,
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn decode_stored(stored: &StoredEnvelope) -> Result<OriginatorEnvelope, NodeError> {
    OriginatorEnvelope::decode(stored.envelope.as_slice()).map_err(|e| {
        NodeError::Store(StoreError::Corrupt(format!(
            "envelope {}:{}: {e}",
            stored.originator_id, stored.sequence_id
        )))
    })
}

/// A requested topic with the cursor it is read from, per originator.
pub(crate) struct TopicRead {
    pub(crate) topic: Vec<u8>,
    pub(crate) cursor: BTreeMap<u32, u64>,
}

fn parse_topics(topics: Vec<TopicCursor>, max: usize) -> Result<Vec<TopicRead>, NodeError> {
    if topics.is_empty() {
        return Err(NodeError::InvalidRequest("no topics given".into()));
    }
    if topics.len() > max {
        return Err(NodeError::InvalidRequest(format!(
            "{} topics given; at most {max} are accepted",
            topics.len()
        )));
    }
    let mut seen = HashMap::new();
    let mut reads = Vec::with_capacity(topics.len());
    for (index, tc) in topics.into_iter().enumerate() {
        let topic = tc
            .topic
            .ok_or_else(|| NodeError::InvalidRequest(format!("topic {index} is missing")))?;
        let topic =
            Topic::from_proto(&topic).map_err(|source| NodeError::Topic { index, source })?;
        let bytes = topic.to_bytes();
        if seen.insert(bytes.clone(), index).is_some() {
            return Err(NodeError::InvalidRequest(format!(
                "topic {topic} is listed twice"
            )));
        }
        let cursor = tc
            .cursor
            .map(|c| c.sequence_ids.into_iter().collect())
            .unwrap_or_default();
        reads.push(TopicRead {
            topic: bytes,
            cursor,
        });
    }
    Ok(reads)
}

/// Reads up to `limit` envelopes (and about `max_bytes`) of `reads` after their cursors;
/// returns them and whether more are waiting. Advances the cursors in `reads` past what it
/// returns. A fixed number of statements per originator, whatever the number of topics.
pub(crate) async fn read_page(
    store: &dyn Store,
    reads: &mut [TopicRead],
    limit: u32,
    max_bytes: usize,
) -> Result<(Vec<OriginatorEnvelope>, bool), NodeError> {
    let index: HashMap<Vec<u8>, usize> = reads
        .iter()
        .enumerate()
        .map(|(i, r)| (r.topic.clone(), i))
        .collect();
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for originator in store.originators().await? {
        let remaining = limit.saturating_sub(out.len() as u32);
        let budget = max_bytes.saturating_sub(bytes);
        if remaining == 0 || budget == 0 {
            return Ok((out, true));
        }
        let cursors: Vec<(Vec<u8>, u64)> = reads
            .iter()
            .map(|r| {
                let after = r.cursor.get(&originator).copied().unwrap_or(0);
                (r.topic.clone(), after)
            })
            .collect();
        let (rows, more) = store.page(&cursors, originator, remaining, budget).await?;
        for row in &rows {
            bytes += row.envelope.len();
            if let Some(&i) = index.get(&row.topic) {
                reads[i].cursor.insert(originator, row.sequence_id);
            }
            out.push(decode_stored(row)?);
        }
        if more {
            return Ok((out, true));
        }
    }
    Ok((out, false))
}

pub(crate) type SubscribeStream =
    Pin<Box<dyn Stream<Item = Result<SubscribeResponse, Status>> + Send>>;

/// The `Node` service: every unary RPC answers with the method named beside it, a refusal
/// becoming the gRPC status its code maps to (a macro so the trait's methods, all of this one
/// shape, are written once). Subscribe also needs the caller's address. The rate limit was
/// charged before the request was decoded (see `admission`).
macro_rules! rpcs {
    ($($rpc:ident($req:ty) -> $resp:ty => $method:ident;)+) => {
        #[tonic::async_trait]
        impl Node for NodeService {
            type SubscribeStream = SubscribeStream;

            async fn subscribe(
                &self,
                request: Request<SubscribeRequest>,
            ) -> Result<Response<SubscribeStream>, Status> {
                let caller = request.remote_addr().map(|a| a.ip());
                Ok(Response::new(self.subscription(caller, request.into_inner()).await?))
            }

            $(
                async fn $rpc(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    Ok(Response::new(self.$method(request.into_inner()).await?))
                }
            )+
        }
    };
}

rpcs! {
    publish(PublishRequest) -> PublishResponse => publish_envelopes;
    query(QueryRequest) -> QueryResponse => query_page;
    get_inbox_ids(GetInboxIdsRequest) -> GetInboxIdsResponse => inbox_ids;
    get_identity_updates(GetIdentityUpdatesRequest) -> GetIdentityUpdatesResponse => identity_updates;
    fetch_key_packages(FetchKeyPackagesRequest) -> FetchKeyPackagesResponse => key_packages;
    node_info(NodeInfoRequest) -> NodeInfoResponse => info;
}

/// What each RPC does once its caller is admitted (see [`rpcs!`]).
impl NodeService {
    /// Validates a batch of client envelopes; the publisher sequences, signs and stores them
    /// (all or none).
    async fn publish_envelopes(
        &self,
        request: PublishRequest,
    ) -> Result<PublishResponse, NodeError> {
        let envelopes = request.client_envelopes;
        if envelopes.is_empty() {
            return Err(NodeError::EmptyBatch);
        }
        let limits = &self.config.limits;
        if envelopes.len() > limits.max_batch {
            return Err(NodeError::BatchTooLarge {
                count: envelopes.len(),
                max: limits.max_batch,
            });
        }
        let now_secs = u64::try_from(now_ns() / 1_000_000_000).unwrap_or(0);
        let validated = envelopes
            .into_iter()
            .enumerate()
            .map(|(index, bytes)| validate_envelope(index, bytes, limits, &self.crypto, now_secs))
            .collect::<Result<Vec<_>, _>>()?;
        let envelopes = self.publisher.publish(validated, now_ns()).await?;
        Ok(PublishResponse { envelopes })
    }

    /// A page of the requested topics after their cursors.
    async fn query_page(&self, request: QueryRequest) -> Result<QueryResponse, NodeError> {
        let limit = match request.limit {
            0 => DEFAULT_QUERY_LIMIT,
            n => n.min(MAX_QUERY_LIMIT),
        };
        let mut reads = parse_topics(request.topics, MAX_QUERY_TOPICS)?;
        let (envelopes, has_more) =
            read_page(self.store.as_ref(), &mut reads, limit, MAX_PAGE_BYTES).await?;
        Ok(QueryResponse {
            envelopes,
            has_more,
        })
    }

    /// Catch-up from the cursors, then live envelopes, until the caller or the node stops.
    async fn subscription(
        &self,
        caller: Option<IpAddr>,
        request: SubscribeRequest,
    ) -> Result<SubscribeStream, NodeError> {
        let reads = parse_topics(request.topics, MAX_SUBSCRIBE_TOPICS)?;
        let slot = self.subscriptions.open(
            caller,
            self.config.max_subscriptions_per_caller,
            self.config.max_subscriptions,
        )?;
        Ok(Subscription::spawn(
            reads,
            slot,
            self.store.clone(),
            self.live.clone(),
            self.config.keepalive,
            self.shutdown.clone(),
        ))
    }

    /// The inbox of each wallet address.
    async fn inbox_ids(
        &self,
        GetInboxIdsRequest { addresses }: GetInboxIdsRequest,
    ) -> Result<GetInboxIdsResponse, NodeError> {
        let parsed = lookup_keys(&addresses, ("addresses", "address"), |a| {
            <[u8; 20]>::try_from(a.as_slice())
                .map_err(|_| format!("has {} bytes; a wallet address has 20", a.len()))
        })?;
        let inboxes = self
            .store
            .inbox_ids(&parsed)
            .await
            .map_err(NodeError::from)?;
        let entries = addresses
            .into_iter()
            .zip(inboxes)
            .map(|(address, inbox)| get_inbox_ids_response::Entry {
                address,
                inbox_id: inbox.map(|i| i.to_vec()),
            })
            .collect();
        Ok(GetInboxIdsResponse { entries })
    }

    /// Each inbox's identity log after its cursor on this node (from the start on other
    /// originators).
    async fn identity_updates(
        &self,
        request: GetIdentityUpdatesRequest,
    ) -> Result<GetIdentityUpdatesResponse, NodeError> {
        let requests = request.requests;
        let inbox_ids = lookup_keys(&requests, ("inboxes", "inbox id"), |entry| {
            InboxId::from_slice(&entry.inbox_id).map_err(|e| e.to_string())
        })?;
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = inbox_ids.iter().find(|id| !seen.insert(**id)) {
            return Err(NodeError::InvalidRequest(format!(
                "inbox {twice} is asked for twice"
            )));
        }
        let mut bytes = 0usize;
        let mut responses = Vec::with_capacity(requests.len());
        for (entry, inbox_id) in requests.into_iter().zip(inbox_ids) {
            let topic = Topic::identity_log(&inbox_id).to_bytes();
            let mut envelopes = Vec::new();
            for originator in self.store.originators().await.map_err(NodeError::from)? {
                let mut after = if originator == self.node_id {
                    entry.after_sequence_id
                } else {
                    0
                };
                loop {
                    let rows = self
                        .store
                        .query(&topic, originator, after, MAX_QUERY_LIMIT)
                        .await
                        .map_err(NodeError::from)?;
                    for row in &rows {
                        bytes += row.envelope.len();
                        if bytes > MAX_IDENTITY_RESPONSE_BYTES {
                            return Err(NodeError::InvalidRequest(format!(
                                "the identity logs asked for exceed {MAX_IDENTITY_RESPONSE_BYTES} \
                                 bytes; ask for fewer inboxes at once"
                            )));
                        }
                        envelopes.push(decode_stored(row)?);
                        after = row.sequence_id;
                    }
                    if rows.len() < MAX_QUERY_LIMIT as usize {
                        break;
                    }
                }
            }
            responses.push(get_identity_updates_response::Entry {
                inbox_id: entry.inbox_id,
                envelopes,
            });
        }
        Ok(GetIdentityUpdatesResponse { responses })
    }

    /// The newest key package of each installation that is still associated with its inbox.
    async fn key_packages(
        &self,
        FetchKeyPackagesRequest {
            installation_keys: keys,
        }: FetchKeyPackagesRequest,
    ) -> Result<FetchKeyPackagesResponse, NodeError> {
        let parsed = lookup_keys(&keys, ("installation keys", "installation key"), |k| {
            InstallationKey::from_slice(k).map_err(|e| e.to_string())
        })?;
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = parsed.iter().find(|k| !seen.insert(**k)) {
            return Err(NodeError::InvalidRequest(format!(
                "installation {twice} is asked for twice"
            )));
        }
        let raw: Vec<[u8; 32]> = parsed.iter().map(|k| *k.as_bytes()).collect();
        let now = u64::try_from(now_ns() / 1_000_000_000).unwrap_or(0);
        let found = self
            .store
            .key_packages(&raw, now)
            .await
            .map_err(NodeError::from)?;
        let mut entries = Vec::with_capacity(keys.len());
        for ((key, installation), found) in keys.into_iter().zip(&parsed).zip(found) {
            let mut envelope = None;
            if let Some(kp) = found {
                // Only installations still associated with their inbox hand out key packages.
                if let Some(stored) = self
                    .store
                    .identity_state(&kp.inbox_id)
                    .await
                    .map_err(NodeError::from)?
                {
                    let state: AssociationState = serde_json::from_slice(&stored.state)
                        .map_err(|e| NodeError::Store(StoreError::Corrupt(e.to_string())))?;
                    if state.has_installation(installation) {
                        envelope = Some(decode_stored(&kp.envelope)?);
                    }
                }
            }
            entries.push(fetch_key_packages_response::Entry {
                installation_key: key,
                envelope,
            });
        }
        Ok(FetchKeyPackagesResponse { entries })
    }

    /// This node's id, public key and version.
    async fn info(&self, _: NodeInfoRequest) -> Result<NodeInfoResponse, NodeError> {
        let peers = self
            .store
            .nodes()
            .await?
            .into_iter()
            .filter(|(id, _)| *id != self.node_id)
            .map(|(node_id, key)| NodePeer {
                node_id,
                public_key: key.to_vec(),
            })
            .collect();
        Ok(NodeInfoResponse {
            node_id: self.node_id,
            public_key: self.public_key.to_vec(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            peers,
        })
    }
}

/// The keys of a lookup (addresses, inbox ids, installation keys), each parsed, after checking
/// there are at most [`MAX_LOOKUPS`]. A key that does not parse refuses the call, naming its
/// index. `names` is the plural and the singular of what the keys are.
fn lookup_keys<T, K>(
    keys: &[T],
    names: (&str, &str),
    parse: impl Fn(&T) -> Result<K, String>,
) -> Result<Vec<K>, NodeError> {
    let (plural, singular) = names;
    if keys.len() > MAX_LOOKUPS {
        return Err(NodeError::InvalidRequest(format!(
            "{} {plural} given; at most {MAX_LOOKUPS} are accepted",
            keys.len()
        )));
    }
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            parse(key).map_err(|e| NodeError::InvalidRequest(format!("{singular} {i}: {e}")))
        })
        .collect()
}

/// The cursor a client holds after reading `envelopes` (helper for clients and tests).
pub fn advance_cursor(cursor: &mut Cursor, envelopes: &[OriginatorEnvelope]) {
    for env in envelopes {
        let entry = cursor.sequence_ids.entry(env.originator_id).or_insert(0);
        *entry = (*entry).max(env.sequence_id);
    }
}
