//! The shapes the UI renders, made from the engine's view model (`arx_core::view`): a map,
//! nothing derived here.

use arx_core::{Delivery, MessageOverview, Overview};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};

use crate::dto::{
    AttachmentView, Consent, ConversationKind, ConversationView, DeliveryStatus, MessageView,
    ReactionView, ReplyView, Role,
};

fn ms(ns: i64) -> i64 {
    ns / 1_000_000
}

/// A message as the UI shows it (who sent it comes from the engine).
pub fn message_view(m: MessageOverview) -> MessageView {
    let message = m.message;
    let attachments = message
        .attachments
        .iter()
        .enumerate()
        .map(|(index, a)| AttachmentView {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            name: a.name.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            width: a.width,
            height: a.height,
            is_image: a.is_image(),
            thumbnail_data_url: a
                .thumbnail
                .as_ref()
                .map(|t| format!("data:image/jpeg;base64,{}", BASE64.encode(t))),
        })
        .collect();
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
        attachments,
        reactions: m
            .reactions
            .into_iter()
            .map(|r| ReactionView {
                emoji: r.emoji,
                count: u32::try_from(r.count).unwrap_or(u32::MAX),
                mine: r.mine,
            })
            .collect(),
        reply_to: m.reply.map(|r| ReplyView {
            message_id: r.message_id.map(|id| id.to_string()),
            sender_label: r.sender_label,
            text: r.text,
        }),
        edited: message.edited_at_ns.is_some(),
        deleted: message.deleted,
        read_by: u32::try_from(m.read_by).unwrap_or(u32::MAX),
        system: message.system.is_some(),
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
        consent: match c.consent {
            arx_core::Consent::Unknown => Consent::Unknown,
            arx_core::Consent::Allowed => Consent::Allowed,
            arx_core::Consent::Denied => Consent::Denied,
        },
    }
}
