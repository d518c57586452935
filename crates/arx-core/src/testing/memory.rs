//! [`MemoryTransport`]: the node API in memory, for engine tests that run in milliseconds. It
//! keeps what a node keeps that the engine can see: every envelope per topic in sequence order,
//! signed by its own originator key; the identity logs (folded to answer which inbox a wallet
//! belongs to); the newest key package per installation; live subscriptions from cursors. It
//! checks nothing a node would refuse (tests of refusals run against the real node) but it can
//! be taken offline, so tests can stop and resume an engine's traffic.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use arx_identity::{
    Address, AssociationState, IdentityUpdate, NoChainVerifier, NodeKey, Topic, TopicKind,
};
use arx_proto::{
    client_envelope::Payload, subscribe_response, ClientEnvelope, OriginatorEnvelope, QueryRequest,
    QueryResponse, SubscribeResponse, TopicCursor,
};
use async_trait::async_trait;
use futures::{stream::BoxStream, StreamExt};
use prost::Message as _;
use tokio::sync::{broadcast, watch};

use crate::{
    error::CoreError,
    transport::{NodeIdentity, Transport},
};

/// Envelopes per Query page, as the node's default.
const PAGE: usize = 500;

/// The node API in memory. Clones share one node and one connection to it;
/// [`MemoryTransport::connection`] makes another connection (its own offline switch and
/// publish gate), as another client's.
#[derive(Clone)]
pub struct MemoryTransport {
    inner: Arc<Inner>,
    link: Arc<Link>,
}

struct Inner {
    key: NodeKey,
    state: Mutex<Stored>,
    live: broadcast::Sender<OriginatorEnvelope>,
}

/// One client's connection: whether it is offline, and whether its publishes are held.
struct Link {
    offline: watch::Sender<bool>,
    held: watch::Sender<bool>,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Link {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            offline: watch::Sender::new(false),
            held: watch::Sender::new(false),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        })
    }
}

#[derive(Default)]
struct Stored {
    next_sequence: u64,
    /// Per topic (its bytes), every envelope in sequence order.
    topics: BTreeMap<Vec<u8>, Vec<OriginatorEnvelope>>,
}

impl Default for MemoryTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTransport {
    /// A new empty node with a fresh originator key.
    pub fn new() -> Self {
        let (live, _) = broadcast::channel(4096);
        Self {
            inner: Arc::new(Inner {
                key: NodeKey::generate(),
                state: Mutex::new(Stored::default()),
                live,
            }),
            link: Link::new(),
        }
    }

    /// Another connection to the same node.
    pub fn connection(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            link: Link::new(),
        }
    }

    /// Takes this connection off the network (every call fails as unreachable, its
    /// subscriptions end) or puts it back.
    pub fn set_offline(&self, offline: bool) {
        self.link.offline.send_replace(offline);
    }

    /// Holds this connection's publishes (they wait before the node takes them) or lets them go.
    pub fn hold_publishes(&self, held: bool) {
        self.link.held.send_replace(held);
    }

    /// Waits until a publish of this connection is held (at most 10 s; false if none came).
    pub async fn publish_held(&self) -> bool {
        for _ in 0..1000 {
            if self.link.waiting.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    }

    /// How many envelopes `topic` holds.
    pub fn count(&self, topic: &Topic) -> usize {
        self.stored()
            .topics
            .get(&topic.to_bytes())
            .map_or(0, Vec::len)
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn reachable(&self) -> Result<(), CoreError> {
        if *self.link.offline.borrow() {
            return Err(CoreError::NodeUnreachable {
                url: "memory".into(),
                reason: "taken offline by the test".into(),
            });
        }
        Ok(())
    }

    fn topic_envelopes(&self, topic: &Topic) -> Vec<OriginatorEnvelope> {
        self.stored()
            .topics
            .get(&topic.to_bytes())
            .cloned()
            .unwrap_or_default()
    }

    /// The folded identity state of every inbox with a log.
    async fn identity_states(&self) -> Result<Vec<AssociationState>, CoreError> {
        let logs: Vec<Vec<OriginatorEnvelope>> = self
            .stored()
            .topics
            .iter()
            .filter(|(topic, _)| {
                Topic::from_bytes(topic).is_ok_and(|t| t.kind() == TopicKind::IdentityLog)
            })
            .map(|(_, envs)| envs.clone())
            .collect();
        let mut states = Vec::new();
        for log in logs {
            let updates = log
                .iter()
                .filter_map(|env| match decode(&env.client_envelope)?.payload? {
                    Payload::IdentityUpdate(u) => IdentityUpdate::from_proto(&u).ok(),
                    _ => None,
                })
                .collect::<Vec<_>>();
            if let Some(state) = AssociationState::fold(&updates, &NoChainVerifier).await? {
                states.push(state);
            }
        }
        Ok(states)
    }
}

fn decode(bytes: &[u8]) -> Option<ClientEnvelope> {
    ClientEnvelope::decode(bytes).ok()
}

fn after_cursor(env: &OriginatorEnvelope, cursor: &BTreeMap<u32, u64>) -> bool {
    cursor
        .get(&env.originator_id)
        .is_none_or(|seen| env.sequence_id > *seen)
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn node_info(&self) -> Result<NodeIdentity, CoreError> {
        self.reachable()?;
        Ok(NodeIdentity {
            node_id: self.inner.key.node_id(),
            public_key: self.inner.key.public_key(),
            version: "memory".into(),
            peers: Default::default(),
        })
    }

    async fn publish(&self, envelopes: Vec<Vec<u8>>) -> Result<Vec<OriginatorEnvelope>, CoreError> {
        self.reachable()?;
        if *self.link.held.borrow() {
            use std::sync::atomic::Ordering::SeqCst;
            self.link.waiting.fetch_add(1, SeqCst);
            let mut held = self.link.held.subscribe();
            let _ = held.wait_for(|h| !*h).await;
            self.link.waiting.fetch_sub(1, SeqCst);
            self.reachable()?;
        }
        let mut topics = Vec::with_capacity(envelopes.len());
        for bytes in &envelopes {
            let topic = decode(bytes)
                .and_then(|c| c.topic)
                .and_then(|t| Topic::from_proto(&t).ok())
                .ok_or_else(|| CoreError::InvalidInput("an envelope without a topic".into()))?;
            topics.push(topic.to_bytes());
        }
        let mut published = Vec::with_capacity(envelopes.len());
        {
            let mut stored = self.stored();
            for (bytes, topic) in envelopes.into_iter().zip(topics) {
                stored.next_sequence += 1;
                let env = self.inner.key.sign_envelope(
                    stored.next_sequence,
                    crate::client::now_ns(),
                    bytes,
                );
                stored.topics.entry(topic).or_default().push(env.clone());
                published.push(env);
            }
        }
        for env in &published {
            // Nobody listening is fine.
            let _ = self.inner.live.send(env.clone());
        }
        Ok(published)
    }

    async fn query(&self, request: QueryRequest) -> Result<QueryResponse, CoreError> {
        self.reachable()?;
        let mut envelopes = Vec::new();
        for tc in request.topics {
            let topic = tc
                .topic
                .and_then(|t| Topic::from_proto(&t).ok())
                .ok_or_else(|| CoreError::InvalidInput("a query without a topic".into()))?;
            let cursor: BTreeMap<u32, u64> = tc
                .cursor
                .map(|c| c.sequence_ids.into_iter().collect())
                .unwrap_or_default();
            for env in self.topic_envelopes(&topic) {
                if after_cursor(&env, &cursor) {
                    envelopes.push(env);
                }
                if envelopes.len() > PAGE {
                    envelopes.truncate(PAGE);
                    return Ok(QueryResponse {
                        envelopes,
                        has_more: true,
                    });
                }
            }
        }
        Ok(QueryResponse {
            envelopes,
            has_more: false,
        })
    }

    async fn inbox_ids(&self, addresses: Vec<[u8; 20]>) -> Result<Vec<Option<Vec<u8>>>, CoreError> {
        self.reachable()?;
        let states = self.identity_states().await?;
        Ok(addresses
            .into_iter()
            .map(|a| {
                let address = Address::from(a);
                states
                    .iter()
                    .find(|s| s.has_wallet(&address))
                    .map(|s| s.inbox_id().as_bytes().to_vec())
            })
            .collect())
    }

    async fn identity_updates(
        &self,
        inbox_id: Vec<u8>,
        after_sequence_id: u64,
    ) -> Result<Vec<OriginatorEnvelope>, CoreError> {
        self.reachable()?;
        let inbox = arx_identity::InboxId::from_slice(&inbox_id)?;
        Ok(self
            .topic_envelopes(&Topic::identity_log(&inbox))
            .into_iter()
            .filter(|env| env.sequence_id > after_sequence_id)
            .collect())
    }

    async fn key_packages(
        &self,
        installation_keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<OriginatorEnvelope>>, CoreError> {
        self.reachable()?;
        installation_keys
            .iter()
            .map(|key| {
                let key = arx_identity::InstallationKey::from_slice(key)?;
                Ok(self.topic_envelopes(&Topic::key_packages(&key)).pop())
            })
            .collect()
    }

    async fn subscribe(
        &self,
        topics: Vec<TopicCursor>,
    ) -> Result<BoxStream<'static, Result<SubscribeResponse, CoreError>>, CoreError> {
        self.reachable()?;
        let mut wanted: BTreeMap<Vec<u8>, BTreeMap<u32, u64>> = BTreeMap::new();
        for tc in topics {
            let topic = tc
                .topic
                .and_then(|t| Topic::from_proto(&t).ok())
                .ok_or_else(|| CoreError::InvalidInput("a subscription without a topic".into()))?;
            let cursor = tc
                .cursor
                .map(|c| c.sequence_ids.into_iter().collect())
                .unwrap_or_default();
            wanted.insert(topic.to_bytes(), cursor);
        }
        // Live first, then catch-up, so nothing published in between is missed; what catch-up
        // sent is skipped when it comes live.
        let live = self.inner.live.subscribe();
        let mut catch_up = Vec::new();
        for (topic, cursor) in &mut wanted {
            let stored = self.stored().topics.get(topic).cloned().unwrap_or_default();
            for env in stored {
                if after_cursor(&env, cursor) {
                    cursor.insert(env.originator_id, env.sequence_id);
                    catch_up.push(env);
                }
            }
        }
        let first = futures::stream::iter([
            Ok(envelopes(catch_up)),
            Ok(SubscribeResponse {
                event: Some(subscribe_response::Event::CaughtUp(
                    subscribe_response::CaughtUp {},
                )),
            }),
        ]);
        let offline = self.link.offline.subscribe();
        let rest = futures::stream::unfold(
            (live, wanted, offline),
            |(mut live, mut wanted, mut offline)| {
                async move {
                    loop {
                        let received = tokio::select! {
                            received = live.recv() => received,
                            // Taken offline: the stream ends, as a dropped connection does.
                            _ = offline.wait_for(|down| *down) => return None,
                        };
                        let env = match received {
                            Ok(env) => env,
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                let lagged = CoreError::NodeUnreachable {
                                    url: "memory".into(),
                                    reason: "subscriber lagged".into(),
                                };
                                return Some((Err(lagged), (live, wanted, offline)));
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        };
                        let Some(topic) = decode(&env.client_envelope)
                            .and_then(|c| c.topic)
                            .and_then(|t| Topic::from_proto(&t).ok())
                        else {
                            continue;
                        };
                        let Some(cursor) = wanted.get_mut(&topic.to_bytes()) else {
                            continue;
                        };
                        if !after_cursor(&env, cursor) {
                            continue;
                        }
                        cursor.insert(env.originator_id, env.sequence_id);
                        return Some((Ok(envelopes(vec![env])), (live, wanted, offline)));
                    }
                }
            },
        );
        Ok(first.chain(rest).boxed())
    }
}

fn envelopes(envelopes: Vec<OriginatorEnvelope>) -> SubscribeResponse {
    SubscribeResponse {
        event: Some(subscribe_response::Event::Envelopes(
            subscribe_response::Envelopes { envelopes },
        )),
    }
}
