//! Messages as the CLI prints them: one structured object per message for agents (`--json`),
//! one line per message for people; and saving a message's file.

use std::path::{Path, PathBuf};

use arx_core::{Client, CoreError, Outgoing, StoredMessage};
use serde_json::{json, Value};

/// The result of sending an action or a reply.
pub(crate) fn sent(sent: Outgoing) -> Result<Value, CoreError> {
    if let Some(failure) = sent.failure {
        return Err(failure);
    }
    Ok(json!({ "message_id": sent.message.id, "delivery": sent.message.delivery.as_str() }))
}

fn attachments(m: &StoredMessage) -> Vec<Value> {
    m.attachments
        .iter()
        .enumerate()
        .map(|(index, a)| {
            json!({
                "index": index,
                "name": a.name,
                "mime_type": a.mime_type,
                "size": a.size,
                "width": a.width,
                "height": a.height,
                "thumbnail": a.thumbnail.is_some(),
                "cid": a.sealed.cid,
            })
        })
        .collect()
}

/// A conversation's messages (the caller synced first).
pub(crate) async fn list(client: &Client, group: &[u8], as_json: bool) -> Result<Value, CoreError> {
    let me = client.registration().await?.map(|r| r.inbox_id);
    let conversation = client.conversation(group);
    let messages = conversation.messages().await?;
    let receipts = conversation.read_receipts().await?;
    let mut out = Vec::with_capacity(messages.len());
    for m in &messages {
        let mine = Some(m.sender_inbox) == me;
        let reply_to = conversation.replied_message(m.id).await?.map(|r| r.id);
        let reactions = conversation.reactions(m.id).await?;
        if as_json {
            let read_by: Vec<String> = receipts
                .iter()
                .filter(|(inbox, last)| *last >= m.id && Some(*inbox) != me)
                .map(|(inbox, _)| inbox.to_string())
                .collect();
            out.push(json!({
                "id": m.id,
                "sender_inbox": m.sender_inbox.to_string(),
                "mine": mine,
                "sent_at_ns": m.sent_at_ns,
                "type": m.type_id,
                "text": m.text,
                "markdown": m.markdown,
                "fallback": m.is_fallback,
                "reply_to": reply_to,
                "reactions": reactions.iter().map(|r| json!({"emoji": r.emoji, "count": r.count, "mine": r.mine})).collect::<Vec<_>>(),
                "attachments": attachments(m),
                "edited": m.edited_at_ns.is_some(),
                "deleted": m.deleted,
                "delivery": m.delivery.as_str(),
                "read_by": read_by,
            }));
        } else {
            let who = if mine {
                "me".to_owned()
            } else {
                m.sender_inbox.to_string()[..12].to_owned()
            };
            let mut line = format!("#{} {who}: ", m.id);
            if let Some(r) = reply_to {
                line.push_str(&format!("(reply to #{r}) "));
            }
            line.push_str(&m.text);
            for (i, a) in m.attachments.iter().enumerate() {
                line.push_str(&format!(" [file {i}: {} {} bytes]", a.name, a.size));
            }
            if m.edited_at_ns.is_some() {
                line.push_str(" (edited)");
            }
            for r in &reactions {
                line.push_str(&format!(" {}×{}", r.emoji, r.count));
            }
            match m.delivery {
                arx_core::Delivery::Sent => {}
                arx_core::Delivery::Sending => line.push_str(" (sending)"),
                arx_core::Delivery::Failed => line.push_str(" (failed)"),
            }
            out.push(Value::String(line));
        }
    }
    Ok(json!({ "messages": out }))
}

/// Saves file `index` of message `id` to `out` (default: its name here), never overwriting.
pub(crate) async fn download(
    client: &Client,
    id: i64,
    index: usize,
    out: Option<&Path>,
) -> Result<Value, CoreError> {
    client.sync().await?;
    let attachment = client.attachment(id, index).await?;
    let destination = match out {
        Some(path) => path.to_owned(),
        None => PathBuf::from(&attachment.name),
    };
    if destination.exists() {
        return Err(CoreError::InvalidInput(format!(
            "{} exists already; choose another --out",
            destination.display()
        )));
    }
    client
        .save_attachment(id, index, &destination, None)
        .await?;
    Ok(json!({
        "saved": destination.display().to_string(),
        "name": attachment.name,
        "mime_type": attachment.mime_type,
        "size": attachment.size,
    }))
}
