//! The engine's live stream turned into UI events, desktop notifications and the unread badge.

use std::sync::Arc;

use arx_core::Client;
use tokio::sync::mpsc;

use crate::{
    app::App,
    dto::{ConnectionState, ConversationView, EngineEvent},
    views,
};

impl App {
    /// Streams new conversations, messages and the connection state to the UI.
    pub async fn start_stream(self: &Arc<Self>) {
        let mut guard = self.session.write().await;
        let Some(session) = guard.as_mut() else {
            return;
        };
        if session.stream.is_some() {
            return;
        }
        let client = session.client.clone();
        let app = self.clone();
        tracing::info!("live stream starting");
        // Disappearing messages go on schedule, whether or not anything arrives.
        let (expiring, expiring_app) = (client.clone(), self.clone());
        tokio::spawn(async move { expiring_app.expire_on_schedule(&expiring).await });
        session.stream = Some(tokio::spawn(async move {
            let (tx, mut rx) = mpsc::channel(256);
            let streaming = client.clone();
            let stream = tokio::spawn(async move { streaming.stream(tx).await });
            while let Some(event) = rx.recv().await {
                app.forward(&client, event).await;
            }
            tracing::info!("live stream ended");
            if let Ok(Err(err)) = stream.await {
                app.emit(EngineEvent::Connection {
                    state: ConnectionState::Offline,
                    detail: Some(err.to_string()),
                });
            }
        }));
    }

    /// Removes messages whose time is up, when it is up (checked at least every minute), and
    /// tells the UI; ends when the engine is replaced.
    async fn expire_on_schedule(&self, client: &Arc<Client>) {
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            let wait_ns = match client.next_expiry_ns().await {
                Ok(Some(at)) => (at - now).clamp(0, 60_000_000_000),
                _ => 60_000_000_000,
            };
            tokio::time::sleep(std::time::Duration::from_nanos(
                u64::try_from(wait_ns).unwrap_or(0) + 50_000_000,
            ))
            .await;
            let still_ours = self
                .session
                .read()
                .await
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(&s.client, client));
            if !still_ours {
                return;
            }
            match client.expire_messages().await {
                Ok(expired) => {
                    let mut groups: Vec<Vec<u8>> = expired.iter().map(|(g, _)| g.clone()).collect();
                    groups.sort();
                    groups.dedup();
                    for group in groups {
                        let message_ids = expired
                            .iter()
                            .filter(|(g, _)| *g == group)
                            .map(|(_, id)| id.to_string())
                            .collect();
                        self.emit(EngineEvent::MessagesRemoved {
                            conversation_id: hex::encode(&group),
                            message_ids,
                        });
                        self.emit_conversation(client, &group).await;
                    }
                }
                Err(err) => tracing::warn!("disappearing messages: {err}"),
            }
        }
    }

    async fn forward(&self, client: &Client, event: arx_core::StreamEvent) {
        match event {
            arx_core::StreamEvent::Joined(c) => {
                match client.conversation(&c.group_id).overview().await {
                    Ok(o) => self.emit(EngineEvent::Conversation {
                        conversation: views::conversation_view(o),
                    }),
                    Err(err) => tracing::warn!("conversation view: {err}"),
                }
            }
            arx_core::StreamEvent::Message(m) => {
                let group = m.group_id.clone();
                let message = match client.message_overview(m).await {
                    Ok(m) => {
                        let message = views::message_view(m);
                        self.emit(EngineEvent::Message {
                            message: message.clone(),
                        });
                        Some(message)
                    }
                    Err(err) => {
                        tracing::warn!("message view: {err}");
                        None
                    }
                };
                let conversation = self.emit_conversation(client, &group).await;
                // Requests and hidden conversations never notify.
                let allowed = conversation
                    .as_ref()
                    .is_some_and(|c| c.consent == crate::dto::Consent::Allowed);
                if let Some(message) = message.filter(|_| allowed) {
                    let focused = crate::desktop::window_focused(&self.handle);
                    if crate::desktop::should_notify(&message, self.notifications(), focused) {
                        let (title, body) =
                            crate::desktop::notification_text(conversation.as_ref(), &message);
                        self.notifier
                            .notify(&self.handle, &message.conversation_id, &title, &body);
                    }
                }
            }
            arx_core::StreamEvent::Delivery(m) | arx_core::StreamEvent::Changed(m) => {
                let group = m.group_id.clone();
                match client.message_overview(m).await {
                    Ok(m) => self.emit(EngineEvent::Message {
                        message: views::message_view(m),
                    }),
                    Err(err) => tracing::warn!("message view: {err}"),
                }
                self.emit_conversation(client, &group).await;
            }
            arx_core::StreamEvent::Connection { online, detail } => {
                tracing::info!(online, "connection");
                self.emit(EngineEvent::Connection {
                    state: if online {
                        ConnectionState::Online
                    } else {
                        ConnectionState::Offline
                    },
                    detail,
                });
            }
        }
    }

    /// Reports the conversation's current state to the UI (and the unread badge), and
    /// returns the view sent, if any.
    pub async fn emit_conversation(
        &self,
        client: &Client,
        group_id: &[u8],
    ) -> Option<ConversationView> {
        let view = match client.conversation(group_id).overview().await {
            Ok(o) if o.conversation.state.is_out() => {
                self.emit(EngineEvent::ConversationRemoved {
                    conversation_id: hex::encode(group_id),
                });
                None
            }
            Ok(o) => {
                let conversation = views::conversation_view(o);
                self.emit(EngineEvent::Conversation {
                    conversation: conversation.clone(),
                });
                Some(conversation)
            }
            Err(err) => {
                tracing::warn!("conversation: {err}");
                None
            }
        };
        self.update_badge(client).await;
        view
    }

    /// The unread badge: unread messages over every conversation still open.
    pub async fn update_badge(&self, client: &Client) {
        match client.conversations().await {
            Ok(list) => {
                let unread = list
                    .iter()
                    .filter(|c| !c.state.is_out())
                    .map(|c| u64::try_from(c.unread).unwrap_or(0))
                    .sum();
                crate::desktop::set_badge(&self.handle, unread);
            }
            Err(err) => tracing::warn!("unread count: {err}"),
        }
    }
}
