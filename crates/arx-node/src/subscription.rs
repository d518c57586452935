//! Subscribe streams: catch-up from the store, a caught-up marker, then live envelopes from
//! memory; with the limits that keep a node up when subscribers misbehave (how many may be
//! open per caller and in all, how much their queued messages may hold, how long one may leave
//! a message unread).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use arx_proto::{subscribe_response, SubscribeResponse};
use futures::StreamExt as _;
use prost::Message as _;
use tokio::sync::{broadcast, mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::{
    admission::CallerKey,
    error::NodeError,
    publisher::Delivered,
    service::{read_page, SubscribeStream, TopicRead},
    store::Store,
};

/// Messages waiting for one subscriber before it must read.
const SUBSCRIBER_BUFFER: usize = 2;
/// Most encoded envelope bytes in one Subscribe message.
const SUBSCRIBE_PAGE_BYTES: usize = 1024 * 1024;
/// Envelopes per catch-up page and per Subscribe message.
const CATCH_UP_PAGE: u32 = 500;
/// Bytes of messages waiting for subscribers, on the whole node: a message takes its share
/// before it is queued and gives it back when the connection takes it, so subscribers that
/// stop reading hold at most this much between them (and are ended after [`SLOW_READER`]).
const SUBSCRIBERS_MEMORY: usize = 128 * 1024 * 1024;
/// How long a subscriber may leave a message unread before it is ended with
/// `subscribe.lagged`.
const SLOW_READER: Duration = Duration::from_secs(15);

/// Open subscriptions, per caller and in all.
#[derive(Debug, Default)]
struct SubscriptionCounts {
    per_caller: HashMap<CallerKey, usize>,
    total: usize,
}

/// The subscriptions open on a node, and the memory their queued messages share.
#[derive(Clone)]
pub(crate) struct Subscriptions {
    counts: Arc<Mutex<SubscriptionCounts>>,
    /// Bytes of queued Subscribe messages (see [`SUBSCRIBERS_MEMORY`]).
    queued: Arc<Semaphore>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Self {
            counts: Arc::default(),
            queued: Arc::new(Semaphore::new(SUBSCRIBERS_MEMORY)),
        }
    }
}

impl Subscriptions {
    /// Counts a new subscription of `caller`; refused beyond `per_caller` for that caller or
    /// `total` on the node.
    pub(crate) fn open(
        &self,
        caller: Option<IpAddr>,
        per_caller: usize,
        total: usize,
    ) -> Result<SubscriptionSlot, NodeError> {
        let caller = caller.map(CallerKey::of);
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.total >= total {
            return Err(NodeError::TooManySubscriptions {
                max: total,
                scope: "on this node",
            });
        }
        if let Some(caller) = caller {
            let open = counts.per_caller.entry(caller).or_insert(0);
            if *open >= per_caller {
                return Err(NodeError::TooManySubscriptions {
                    max: per_caller,
                    scope: "from one address",
                });
            }
            *open += 1;
        }
        counts.total += 1;
        Ok(SubscriptionSlot {
            counts: self.counts.clone(),
            queued: self.queued.clone(),
            caller,
        })
    }
}

/// One open subscription, counted until dropped.
pub(crate) struct SubscriptionSlot {
    counts: Arc<Mutex<SubscriptionCounts>>,
    queued: Arc<Semaphore>,
    caller: Option<CallerKey>,
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(caller) = self.caller {
            if let Some(n) = counts.per_caller.get_mut(&caller) {
                *n -= 1;
                if *n == 0 {
                    counts.per_caller.remove(&caller);
                }
            }
        }
    }
}

/// One Subscribe stream: catch-up from the store, a caught-up marker, then live envelopes from
/// memory, deduplicated against what catch-up already sent.
pub(crate) struct Subscription {
    /// Counted as open until the subscription ends.
    _slot: SubscriptionSlot,
    store: Arc<dyn Store>,
    live: broadcast::Sender<Arc<Delivered>>,
    keepalive: Duration,
    shutdown: watch::Receiver<bool>,
    tx: mpsc::Sender<Queued>,
    queued: Arc<Semaphore>,
}

/// A Subscribe message waiting for its subscriber, with its share of the subscriber memory.
type Queued = (
    Result<SubscribeResponse, Status>,
    Option<OwnedSemaphorePermit>,
);

enum End {
    /// The client went away.
    Closed,
    /// Tell the client why, then end.
    Error(NodeError),
}

impl Subscription {
    /// Starts the subscription of `reads` (its slot already counted) on its own task; returns
    /// the stream the caller reads. A message's share of the node's subscriber memory is
    /// given back as the connection takes it.
    pub(crate) fn spawn(
        reads: Vec<TopicRead>,
        slot: SubscriptionSlot,
        store: Arc<dyn Store>,
        live: broadcast::Sender<Arc<Delivered>>,
        keepalive: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> SubscribeStream {
        let (tx, rx) = mpsc::channel::<Queued>(SUBSCRIBER_BUFFER);
        let queued = slot.queued.clone();
        let subscription = Subscription {
            _slot: slot,
            queued,
            store,
            live,
            keepalive,
            shutdown,
            tx,
        };
        tokio::spawn(subscription.run(reads));
        Box::pin(ReceiverStream::new(rx).map(|(item, _share)| item))
    }

    async fn run(mut self, mut reads: Vec<TopicRead>) {
        let ended = self.stream(&mut reads).await;
        if let End::Error(err) = ended {
            tracing::debug!(code = %err.code(), "subscription ended");
            // Told only if there is room: a subscriber that stopped reading is not waited for.
            let _ = self.tx.try_send((Err(err.into()), None));
        }
    }

    /// Sends one message, waiting at most [`SLOW_READER`] for the subscriber to make room,
    /// and not at all once the node is stopping.
    async fn send(&self, event: subscribe_response::Event) -> Result<(), End> {
        let message = SubscribeResponse { event: Some(event) };
        let size = u32::try_from(message.encoded_len().min(SUBSCRIBERS_MEMORY)).unwrap_or(u32::MAX);
        let mut stopping = self.shutdown.clone();
        let queue = async {
            let share = self
                .queued
                .clone()
                .acquire_many_owned(size)
                .await
                .map_err(|_| End::Error(NodeError::ShuttingDown))?;
            self.tx
                .send((Ok(message), Some(share)))
                .await
                .map_err(|_| End::Closed)
        };
        tokio::select! {
            sent = queue => sent,
            _ = tokio::time::sleep(SLOW_READER) => Err(End::Error(NodeError::SubscriptionLagged)),
            _ = stopping.wait_for(|stop| *stop) => Err(End::Error(NodeError::ShuttingDown)),
        }
    }

    async fn catch_up(&self, reads: &mut [TopicRead]) -> Result<(), End> {
        loop {
            let (envelopes, more) = read_page(
                self.store.as_ref(),
                reads,
                CATCH_UP_PAGE,
                SUBSCRIBE_PAGE_BYTES,
            )
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
