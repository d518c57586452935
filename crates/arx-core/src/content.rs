//! Content types: how a message's payload is encoded, and how a stored one is shown.

use arx_proto::{EncodedContent, TextContent};
use prost::Message as _;

use crate::{db::messages::MessageRow, error::CoreError, model::StoredMessage};

/// Content type of text messages.
pub const TEXT_TYPE: &str = "arx.text/1";
/// Longest text message accepted, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// The content of a text message, after checking its length.
pub(crate) fn text_content(text: &str, markdown: bool) -> Result<EncodedContent, CoreError> {
    if text.trim().is_empty() {
        return Err(CoreError::InvalidInput("an empty message".into()));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(CoreError::InvalidInput(format!(
            "a message of {} bytes (at most {MAX_TEXT_BYTES})",
            text.len()
        )));
    }
    Ok(EncodedContent {
        type_id: TEXT_TYPE.into(),
        content: TextContent {
            text: text.into(),
            markdown,
        }
        .encode_to_vec(),
        fallback: text.into(),
    })
}

/// The content of a decrypted application message; one this version cannot decode is shown by
/// a fixed fallback.
pub(crate) fn decode_content(bytes: &[u8]) -> EncodedContent {
    EncodedContent::decode(bytes).unwrap_or(EncodedContent {
        type_id: "arx.unknown/0".into(),
        content: Vec::new(),
        fallback: "(a message this version of ARX cannot read)".into(),
    })
}

/// A stored message as shown: a text message's text, or any other type's fallback.
pub(crate) fn stored_message(row: MessageRow) -> StoredMessage {
    let text = (row.content.type_id == TEXT_TYPE)
        .then(|| TextContent::decode(row.content.content.as_slice()).ok())
        .flatten();
    let (text, markdown, is_fallback) = match text {
        Some(t) => (t.text, t.markdown, false),
        None => (row.content.fallback, false, true),
    };
    StoredMessage {
        id: row.id,
        group_id: row.group_id,
        sender_inbox: row.sender_inbox,
        sender_installation: row.sender_installation,
        type_id: row.content.type_id,
        text,
        markdown,
        is_fallback,
        sent_at_ns: row.sent_at_ns,
        delivery: row.delivery,
    }
}
