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
    node_server::Node, subscribe_response, Cursor, FetchKeyPackagesRequest,
    FetchKeyPackagesResponse, GetIdentityUpdatesRequest, GetIdentityUpdatesResponse,
    GetInboxIdsRequest, GetInboxIdsResponse, NodeInfoRequest, NodeInfoResponse, OriginatorEnvelope,
    PublishRequest, PublishResponse, QueryRequest, QueryResponse, SubscribeRequest,
    SubscribeResponse, TopicCursor,
};
use futures::Stream;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use openmls_rust_crypto::RustCrypto;
use prost::Message;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::{
    error::NodeError,
    publisher::{Delivered, Publisher},
    store::{Store, StoreError, StoredEnvelope},
    validate::{validate_envelope, Limits},
};

/// Most topics in one Query call.
pub const MAX_QUERY_TOPICS: usize = 1_000;
/// Most topics in one subscription.
pub const MAX_SUBSCRIBE_TOPICS: usize = 10_000;
/// Most envelopes in one Query page, and the default.
pub const MAX_QUERY_LIMIT: u32 = 1_000;
pub const DEFAULT_QUERY_LIMIT: u32 = 500;
/// Most addresses, inboxes or installations in one lookup.
pub const MAX_LOOKUPS: usize = 1_000;
/// Envelopes per catch-up page and per Subscribe message.
const CATCH_UP_PAGE: u32 = 500;

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
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
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
        let limiter = config
            .rate_limit
            .map(|r| RateLimiter::keyed(Quota::per_second(r.per_second).allow_burst(r.burst)));
        Self {
            store,
            publisher,
            live,
            node_id: arx_identity::node_id_from_public_key(&public_key),
            public_key,
            config,
            crypto: RustCrypto::default(),
            limiter,
            shutdown,
        }
    }

    fn admit<T>(&self, request: &Request<T>) -> Result<(), NodeError> {
        let (Some(limiter), Some(peer)) = (&self.limiter, request.remote_addr()) else {
            return Ok(());
        };
        limiter
            .check_key(&peer.ip())
            .map_err(|_| NodeError::RateLimited {
                peer: peer.ip().to_string(),
            })
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
struct TopicRead {
    topic: Vec<u8>,
    cursor: BTreeMap<u32, u64>,
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

/// Reads up to `limit` envelopes of `reads` after their cursors; returns them and whether more
/// are waiting. Advances the cursors in `reads` past what it returns.
async fn read_page(
    store: &dyn Store,
    reads: &mut [TopicRead],
    limit: u32,
) -> Result<(Vec<OriginatorEnvelope>, bool), NodeError> {
    let originators = store.originators().await?;
    let mut out = Vec::new();
    for read in reads.iter_mut() {
        for &originator in &originators {
            let remaining = limit.saturating_sub(out.len() as u32);
            let after = read.cursor.get(&originator).copied().unwrap_or(0);
            let rows = store
                .query(&read.topic, originator, after, remaining + 1)
                .await?;
            let more = rows.len() > remaining as usize;
            for row in rows.iter().take(remaining as usize) {
                out.push(decode_stored(row)?);
                read.cursor.insert(originator, row.sequence_id);
            }
            if more {
                return Ok((out, true));
            }
        }
    }
    Ok((out, false))
}

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<SubscribeResponse, Status>> + Send>>;

/// The `Node` service: every RPC admits its caller (the rate limit), then answers with the
/// method named beside it, a refusal becoming the gRPC status its code maps to. (A macro so
/// the trait's methods, all of this one shape, are written once.)
macro_rules! rpcs {
    ($($rpc:ident($req:ty) -> $resp:ty => $method:ident;)+) => {
        #[tonic::async_trait]
        impl Node for NodeService {
            type SubscribeStream = SubscribeStream;

            $(
                async fn $rpc(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.admit(&request)?;
                    Ok(Response::new(self.$method(request.into_inner()).await?))
                }
            )+
        }
    };
}

rpcs! {
    publish(PublishRequest) -> PublishResponse => publish_envelopes;
    query(QueryRequest) -> QueryResponse => query_page;
    subscribe(SubscribeRequest) -> SubscribeStream => subscription;
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
        let validated = envelopes
            .into_iter()
            .enumerate()
            .map(|(index, bytes)| validate_envelope(index, bytes, limits, &self.crypto))
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
        let (envelopes, has_more) = read_page(self.store.as_ref(), &mut reads, limit).await?;
        Ok(QueryResponse {
            envelopes,
            has_more,
        })
    }

    /// Catch-up from the cursors, then live envelopes, until the caller or the node stops.
    async fn subscription(&self, request: SubscribeRequest) -> Result<SubscribeStream, NodeError> {
        let reads = parse_topics(request.topics, MAX_SUBSCRIBE_TOPICS)?;
        let (tx, rx) = mpsc::channel(16);
        let subscription = Subscription {
            store: self.store.clone(),
            live: self.live.clone(),
            keepalive: self.config.keepalive,
            shutdown: self.shutdown.clone(),
            tx,
        };
        tokio::spawn(subscription.run(reads));
        Ok(Box::pin(ReceiverStream::new(rx)))
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
        Ok(NodeInfoResponse {
            node_id: self.node_id,
            public_key: self.public_key.to_vec(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
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

/// One Subscribe stream: catch-up from the store, a caught-up marker, then live envelopes from
/// memory, deduplicated against what catch-up already sent.
struct Subscription {
    store: Arc<dyn Store>,
    live: broadcast::Sender<Arc<Delivered>>,
    keepalive: Duration,
    shutdown: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<SubscribeResponse, Status>>,
}

enum End {
    /// The client went away.
    Closed,
    /// Tell the client why, then end.
    Error(NodeError),
}

impl Subscription {
    async fn run(mut self, mut reads: Vec<TopicRead>) {
        let ended = self.stream(&mut reads).await;
        if let End::Error(err) = ended {
            tracing::debug!(code = %err.code(), "subscription ended");
            let _ = self.tx.send(Err(err.into())).await;
        }
    }

    async fn send(&self, event: subscribe_response::Event) -> Result<(), End> {
        self.tx
            .send(Ok(SubscribeResponse { event: Some(event) }))
            .await
            .map_err(|_| End::Closed)
    }

    async fn catch_up(&self, reads: &mut [TopicRead]) -> Result<(), End> {
        loop {
            let (envelopes, more) = read_page(self.store.as_ref(), reads, CATCH_UP_PAGE)
                .await
                .map_err(End::Error)?;
            if !envelopes.is_empty() {
                self.send(subscribe_response::Event::Envelopes(
                    subscribe_response::Envelopes { envelopes },
                ))
                .await?;
            }
            if !more {
                return Ok(());
            }
        }
    }

    async fn stream(&mut self, reads: &mut [TopicRead]) -> End {
        // Catch up first, then subscribe to live delivery and catch up again to close the gap
        // between the two; the live loop skips what catch-up already sent.
        if let Err(end) = self.catch_up(reads).await {
            return end;
        }
        let mut live = self.live.subscribe();
        if let Err(end) = self.catch_up(reads).await {
            return end;
        }
        if let Err(end) = self
            .send(subscribe_response::Event::CaughtUp(Default::default()))
            .await
        {
            return end;
        }
        let index: HashMap<Vec<u8>, usize> = reads
            .iter()
            .enumerate()
            .map(|(i, r)| (r.topic.clone(), i))
            .collect();
        let mut keepalive = tokio::time::interval(self.keepalive);
        keepalive.reset();
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(delivered) => {
                        let Some(&i) = index.get(&delivered.topic) else { continue };
                        let env = &delivered.envelope;
                        let seen = reads[i].cursor.get(&env.originator_id).copied().unwrap_or(0);
                        if env.sequence_id <= seen {
                            continue;
                        }
                        reads[i].cursor.insert(env.originator_id, env.sequence_id);
                        let batch = subscribe_response::Envelopes { envelopes: vec![env.clone()] };
                        if let Err(end) = self.send(subscribe_response::Event::Envelopes(batch)).await {
                            return end;
                        }
                        keepalive.reset();
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return End::Error(NodeError::SubscriptionLagged);
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return End::Error(NodeError::ShuttingDown);
                    }
                },
                _ = keepalive.tick() => {
                    if let Err(end) = self.send(subscribe_response::Event::Keepalive(Default::default())).await {
                        return end;
                    }
                }
                _ = self.shutdown.changed() => return End::Error(NodeError::ShuttingDown),
                _ = self.tx.closed() => return End::Closed,
            }
        }
    }
}

/// The cursor a client holds after reading `envelopes` (helper for clients and tests).
pub fn advance_cursor(cursor: &mut Cursor, envelopes: &[OriginatorEnvelope]) {
    for env in envelopes {
        let entry = cursor.sequence_ids.entry(env.originator_id).or_insert(0);
        *entry = (*entry).max(env.sequence_id);
    }
}
