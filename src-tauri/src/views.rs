//! The shapes the UI renders, made from the engine's view model (`arx_core::view`): a map,
//! nothing derived here.

use arx_core::{Delivery, MessageOverview, Overview};

use crate::dto::{ConversationKind, ConversationView, DeliveryStatus, MessageView, Role};

fn ms(ns: i64) -> i64 {
    ns / 1_000_000
}

/// A message as the UI shows it (who sent it comes from the engine).
pub fn message_view(m: MessageOverview) -> MessageView {
    let message = m.message;
    MessageView {
        id: message.id.to_string(),
        conversation_id: hex::encode(&message.group_id),
        sender_inbox_id: message.sender_inbox.to_string(),
        sender_label: m.sender_label,
        is_mine: m.is_mine,
        sent_at_ms: ms(message.sent_at_ns),
        status: match message.delivery {
            Delivery::Sending => DeliveryStatus::Sending,
            Delivery::Sent => DeliveryStatus::Sent,
            Delivery::Failed => DeliveryStatus::Failed,
        },
        text: message.text,
        markdown: message.markdown,
        is_fallback: message.is_fallback,
    }
}

/// A conversation as the UI shows it (title, members and role come from the engine).
pub fn conversation_view(o: Overview) -> ConversationView {
    let c = o.conversation;
    ConversationView {
        id: hex::encode(&c.group_id),
        kind: match c.dm_peer {
            Some(_) => ConversationKind::Dm,
            None => ConversationKind::Group,
        },
        title: o.title,
        peer_address: o.peer_address.map(|a| a.to_checksum(None)),
        last_message: o.last_message.map(message_view),
        last_activity_ms: ms(c.last_activity_ns),
        unread_count: u32::try_from(c.unread).unwrap_or(u32::MAX),
        my_role: Role::from(o.my_role),
        member_count: u32::try_from(o.member_count).unwrap_or(u32::MAX),
    }
}
