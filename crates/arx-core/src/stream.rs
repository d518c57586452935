//! Live updates. A subscription is opened at the engine's cursors; the node delivers every
//! envelope of its topics after them, in order and without gaps, so a group's delivered
//! envelopes are applied directly (`Client::apply_streamed`) by the same code as a sync, and a
//! welcome makes a full sync. A dropped stream reconnects from the cursors.

use std::time::Duration;

use arx_identity::{Topic, TopicKind};
use arx_proto::{subscribe_response::Event, TopicCursor};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::{
    client::Client,
    error::CoreError,
    model::{Conversation, StoredMessage, SyncSummary},
};

/// Something new for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// This installation joined a conversation.
    Joined(Conversation),
    /// A message was stored (someone else's; own messages are reported by `send`).
    Message(StoredMessage),
    /// A stored message changed: reacted to, read, edited or deleted (by anyone).
    Changed(StoredMessage),
    /// An own message was sent or failed after the call that sent it returned (a message
    /// queued while offline leaving on reconnect, one encrypted again after a commit).
    Delivery(StoredMessage),
    /// The live connection to the node is up (`online`), or down with the reason; while down,
    /// it is retried with backoff and queued messages leave once it is back.
    Connection {
        online: bool,
        detail: Option<String>,
    },
}

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Client {
    /// Streams new conversations and messages into `events` until the receiver is dropped.
    /// Network failures are retried with backoff; other errors end the stream.
    pub async fn stream(&self, events: mpsc::Sender<StreamEvent>) -> Result<(), CoreError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.stream_once(&events).await {
                Ok(()) => return Ok(()),
                Err(err) if err.retryable() => {
                    tracing::info!(code = %err.code(), "stream interrupted; reconnecting: {err}");
                    let down = StreamEvent::Connection {
                        online: false,
                        detail: Some(err.to_string()),
                    };
                    if events.send(down).await.is_err() {
                        return Ok(());
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One subscription: syncs what it announces; returns Ok when `events` is closed, or when
    /// the set of conversations changed (the caller resubscribes).
    async fn stream_once(&self, events: &mpsc::Sender<StreamEvent>) -> Result<(), CoreError> {
        loop {
            // Catch up with a full sync first; its results are reported too.
            let last_seen = self.last_message_id().await?;
            let known = self.conversation_ids().await?;
            self.sync().await?;
            if !self.report(events, last_seen, &known).await {
                return Ok(());
            }
            let node = self.node().await?;
            // Conversations created here from now on make the subscription start again.
            let mut changed = self.conversations_changed.subscribe();
            let mut topics = vec![Topic::welcomes(&self.installation_key())];
            for group_id in self.conversation_ids().await? {
                topics.push(Topic::group(&group_id)?);
            }
            let mut request = Vec::with_capacity(topics.len());
            for topic in &topics {
                request.push(TopicCursor {
                    topic: Some(topic.to_proto()),
                    cursor: Some(crate::db::cursors::get(&self.db, topic).await?),
                });
            }
            // A node takes at most SUBSCRIBE_TOPICS topics per subscription: several are
            // opened and read as one.
            let mut streams = Vec::new();
            for chunk in request.chunks(SUBSCRIBE_TOPICS) {
                streams.push(self.transport.subscribe(chunk.to_vec()).await?);
            }
            let mut stream = futures::stream::select_all(streams);
            report_online(events).await;
            let mut resubscribe = false;
            // Topics read through Query for the rest of this subscription, because something
            // it delivered on them was left unapplied.
            let mut queried: Vec<Topic> = Vec::new();
            while !resubscribe {
                let item = tokio::select! {
                    item = stream.next() => item,
                    _ = changed.changed() => {
                        resubscribe = true;
                        continue;
                    }
                    _ = events.closed() => return Ok(()),
                };
                let Some(item) = item else {
                    return Err(CoreError::NodeUnreachable {
                        url: "node".into(),
                        reason: "subscription ended".into(),
                    });
                };
                let Some(Event::Envelopes(batch)) = item?.event else {
                    continue;
                };
                let last_seen = self.last_message_id().await?;
                let known = self.conversation_ids().await?;
                let mut summary = SyncSummary::default();
                // Each topic of the batch once: a group's envelopes are applied as delivered
                // (see `apply_streamed`), a welcome makes a full sync.
                let mut synced: Vec<Topic> = Vec::new();
                for env in &batch.envelopes {
                    // What the node should never deliver (it validated it) is left to the
                    // sync of its topic, which records why it is skipped.
                    let Ok(topic) = crate::sync::topic_of(env) else {
                        continue;
                    };
                    if synced.contains(&topic) {
                        continue;
                    }
                    match topic.kind() {
                        TopicKind::Welcomes => {
                            self.sync().await?;
                            resubscribe = true;
                        }
                        TopicKind::GroupMessages if queried.contains(&topic) => {
                            self.process_group(&node, topic.id(), &mut summary).await?;
                        }
                        TopicKind::GroupMessages => {
                            let mut delivered = Vec::new();
                            for other in &batch.envelopes {
                                if crate::sync::topic_of(other).ok().as_ref() == Some(&topic) {
                                    delivered.push(other.clone());
                                }
                            }
                            let applied = self
                                .apply_streamed(&node, topic.id(), &delivered, &mut summary)
                                .await?;
                            if !applied {
                                queried.push(topic.clone());
                            }
                        }
                        _ => {}
                    }
                    synced.push(topic);
                }
                // Files of messages the batch deleted leave the cache; messages whose time is up
                // go.
                self.expire_messages().await?;
                if summary.messages > 0 {
                    self.sweep_media().await?;
                }
                if !self.report(events, last_seen, &known).await {
                    return Ok(());
                }
            }
        }
    }

    /// Sends events for conversations not in `known` and messages after `last_seen`; false
    /// when the receiver is gone.
    async fn report(
        &self,
        events: &mpsc::Sender<StreamEvent>,
        last_seen: i64,
        known: &[Vec<u8>],
    ) -> bool {
        let Ok(ids) = self.conversation_ids().await else {
            return true;
        };
        for id in ids.iter().filter(|id| !known.contains(id)) {
            let Ok(c) = self.conversation(id).summary().await else {
                continue;
            };
            if events.send(StreamEvent::Joined(c)).await.is_err() {
                return false;
            }
        }
        let me = self.installation_key();
        let Ok(messages) = self.messages_after(last_seen).await else {
            return true;
        };
        for (m, changed) in messages {
            let event = if changed {
                StreamEvent::Changed(m)
            } else if m.sender_installation != me {
                StreamEvent::Message(m)
            } else {
                continue;
            };
            if events.send(event).await.is_err() {
                return false;
            }
        }
        for id in self.take_delivery_changes() {
            let Ok(m) = self.message(id).await else {
                continue;
            };
            // An action (a reaction, receipt, edit or delete) is not a message of its own.
            if crate::content::is_action(&m.type_id) {
                continue;
            }
            if events.send(StreamEvent::Delivery(m)).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// Most topics in one subscription (the node's limit).
const SUBSCRIBE_TOPICS: usize = 1_000;

/// Reports that the live connection is up.
async fn report_online(events: &mpsc::Sender<StreamEvent>) {
    let _ = events
        .send(StreamEvent::Connection {
            online: true,
            detail: None,
        })
        .await;
}
