//! Content types: how a message's payload is encoded, checked when it is read, and shown.
//!
//! Shown types: text (`arx.text/1`), files (`arx.attachments/1`) and a reply wrapping either
//! (`arx.reply/1`). Hidden types act on another message, named by its content id: a reaction
//! (`arx.reaction/1`), a read receipt (`arx.receipt/1`), an edit (`arx.edit/1`) and a delete
//! for everyone (`arx.delete/1`). Anything else, or anything that breaks a type's rules, is
//! shown by its fallback text.

use arx_media::{seal::FileKey, Sealed};
use arx_proto::{
    Attachment as WireAttachment, AttachmentsContent, DeleteContent, EditContent, EncodedContent,
    ReactionContent, ReadReceiptContent, ReplyContent, TextContent,
};
use prost::Message as _;
use rand::RngCore;

use crate::{db::messages::MessageRow, error::CoreError, model::StoredMessage};

pub const TEXT_TYPE: &str = "arx.text/1";
pub const ATTACHMENTS_TYPE: &str = "arx.attachments/1";
pub const REPLY_TYPE: &str = "arx.reply/1";
pub const REACTION_TYPE: &str = "arx.reaction/1";
pub const RECEIPT_TYPE: &str = "arx.receipt/1";
pub const EDIT_TYPE: &str = "arx.edit/1";
pub const DELETE_TYPE: &str = "arx.delete/1";
/// Type of a payload that does not decode at all.
pub const UNKNOWN_TYPE: &str = "arx.unknown/0";

/// Longest text message accepted, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Longest reaction, in bytes of UTF-8 (one emoji, with its modifiers).
pub const MAX_EMOJI_BYTES: usize = 32;
/// Length of a content id.
pub const CONTENT_ID_BYTES: usize = 16;

/// A message's content id: 16 random bytes.
pub type ContentId = [u8; CONTENT_ID_BYTES];

/// A file of a message, as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// For images.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// A JPEG within the thumbnail limits (dropped when it is not).
    pub thumbnail: Option<Vec<u8>>,
    /// Where it is and how to open it.
    pub sealed: Sealed,
}

impl AttachmentInfo {
    pub fn is_image(&self) -> bool {
        self.mime_type.starts_with("image/") && self.width.is_some()
    }
}

/// What a shown message holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Text {
        text: String,
        markdown: bool,
    },
    Files {
        attachments: Vec<AttachmentInfo>,
        caption: String,
        markdown: bool,
    },
    /// A type this version cannot show, or one that broke its rules: its fallback.
    Unknown {
        fallback: String,
    },
}

/// A decoded payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    Shown {
        body: Body,
        reply_to: Option<ContentId>,
    },
    Reaction {
        target: ContentId,
        emoji: String,
        remove: bool,
    },
    Receipt {
        target: ContentId,
    },
    Edit {
        target: ContentId,
        text: String,
        markdown: bool,
    },
    Delete {
        target: ContentId,
    },
}

impl Decoded {
    /// Whether the message is shown in the conversation (not an action on another message).
    pub fn is_shown(&self) -> bool {
        matches!(self, Self::Shown { .. })
    }
}

/// Whether a content type acts on another message (and is never shown as one).
pub fn is_action(type_id: &str) -> bool {
    matches!(
        type_id,
        REACTION_TYPE | RECEIPT_TYPE | EDIT_TYPE | DELETE_TYPE
    )
}

pub(crate) fn new_content_id() -> ContentId {
    let mut id = [0u8; CONTENT_ID_BYTES];
    rand::thread_rng().fill_bytes(&mut id);
    id
}

fn encoded(type_id: &str, content: Vec<u8>, fallback: String) -> EncodedContent {
    EncodedContent {
        type_id: type_id.into(),
        content,
        fallback,
        id: new_content_id().to_vec(),
    }
}

fn check_text(text: &str) -> Result<(), CoreError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(CoreError::InvalidInput(format!(
            "a message of {} bytes (at most {MAX_TEXT_BYTES})",
            text.len()
        )));
    }
    Ok(())
}

/// The content of a text message, after checking its length.
pub(crate) fn text_content(text: &str, markdown: bool) -> Result<EncodedContent, CoreError> {
    if text.trim().is_empty() {
        return Err(CoreError::InvalidInput("an empty message".into()));
    }
    check_text(text)?;
    let content = TextContent {
        text: text.into(),
        markdown,
    };
    Ok(encoded(TEXT_TYPE, content.encode_to_vec(), text.into()))
}

pub(crate) fn wire_attachment(a: &AttachmentInfo) -> WireAttachment {
    WireAttachment {
        cid: a.sealed.cid.clone(),
        key: a.sealed.key.key.to_vec(),
        nonce: a.sealed.key.nonce.to_vec(),
        digest: a.sealed.digest.to_vec(),
        name: a.name.clone(),
        mime_type: a.mime_type.clone(),
        size: a.sealed.size,
        width: a.width.unwrap_or(0),
        height: a.height.unwrap_or(0),
        thumbnail: a.thumbnail.clone().unwrap_or_default(),
    }
}

/// The content of a message with files (and an optional caption).
pub(crate) fn attachments_content(
    attachments: &[AttachmentInfo],
    caption: &str,
    markdown: bool,
) -> Result<EncodedContent, CoreError> {
    if attachments.is_empty() {
        return Err(CoreError::InvalidInput("a message without files".into()));
    }
    check_text(caption)?;
    let names: Vec<&str> = attachments.iter().map(|a| a.name.as_str()).collect();
    let fallback = if caption.trim().is_empty() {
        format!("[file: {}]", names.join(", "))
    } else {
        format!("[file: {}] {caption}", names.join(", "))
    };
    let content = AttachmentsContent {
        attachments: attachments.iter().map(wire_attachment).collect(),
        caption: caption.into(),
        caption_markdown: markdown,
    };
    Ok(encoded(ATTACHMENTS_TYPE, content.encode_to_vec(), fallback))
}

/// A reply to `target` carrying `inner` (a text or files content).
pub(crate) fn reply_content(target: &ContentId, inner: EncodedContent) -> EncodedContent {
    let fallback = format!("↪ {}", inner.fallback);
    let inner = EncodedContent {
        id: Vec::new(),
        ..inner
    };
    let content = ReplyContent {
        target: target.to_vec(),
        content: Some(inner),
    };
    encoded(REPLY_TYPE, content.encode_to_vec(), fallback)
}

/// Checks a reaction's emoji: short, one visible symbol sequence without spaces or controls.
pub(crate) fn check_emoji(emoji: &str) -> Result<(), CoreError> {
    let ok = !emoji.is_empty()
        && emoji.len() <= MAX_EMOJI_BYTES
        && !emoji.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidInput(format!(
            "{emoji:?} is not a reaction (one emoji, at most {MAX_EMOJI_BYTES} bytes)"
        )))
    }
}

pub(crate) fn reaction_content(
    target: &ContentId,
    emoji: &str,
    remove: bool,
) -> Result<EncodedContent, CoreError> {
    check_emoji(emoji)?;
    let content = ReactionContent {
        target: target.to_vec(),
        emoji: emoji.into(),
        remove,
    };
    let verb = if remove { "removed" } else { "reacted" };
    Ok(encoded(
        REACTION_TYPE,
        content.encode_to_vec(),
        format!("{verb} {emoji}"),
    ))
}

pub(crate) fn receipt_content(target: &ContentId) -> EncodedContent {
    let content = ReadReceiptContent {
        target: target.to_vec(),
    };
    encoded(RECEIPT_TYPE, content.encode_to_vec(), String::new())
}

pub(crate) fn edit_content(
    target: &ContentId,
    text: &str,
    markdown: bool,
) -> Result<EncodedContent, CoreError> {
    if text.trim().is_empty() {
        return Err(CoreError::InvalidInput("an empty message".into()));
    }
    check_text(text)?;
    let content = EditContent {
        target: target.to_vec(),
        text: text.into(),
        markdown,
    };
    Ok(encoded(
        EDIT_TYPE,
        content.encode_to_vec(),
        format!("(edited) {text}"),
    ))
}

pub(crate) fn delete_content(target: &ContentId) -> EncodedContent {
    let content = DeleteContent {
        target: target.to_vec(),
    };
    encoded(
        DELETE_TYPE,
        content.encode_to_vec(),
        "(deleted a message)".into(),
    )
}

/// The content of a decrypted application message; one that does not decode at all is shown
/// by a fixed fallback.
pub(crate) fn decode_content(bytes: &[u8]) -> EncodedContent {
    EncodedContent::decode(bytes).unwrap_or(EncodedContent {
        type_id: UNKNOWN_TYPE.into(),
        content: Vec::new(),
        fallback: "(a message this version of ARX cannot read)".into(),
        id: Vec::new(),
    })
}

/// A message's content id, if it carries a well-formed one.
pub(crate) fn content_id(content: &EncodedContent) -> Option<ContentId> {
    content.id.as_slice().try_into().ok()
}

fn target_of(bytes: &[u8]) -> Option<ContentId> {
    bytes.try_into().ok()
}

/// A received attachment description, checked against the wire rules; `None` when it breaks
/// one. A thumbnail outside its limits is dropped, a name is cut to its last path component.
pub(crate) fn attachment_info(a: WireAttachment) -> Option<AttachmentInfo> {
    let key = FileKey::from_slices(&a.key, &a.nonce).ok()?;
    let digest: [u8; 32] = a.digest.as_slice().try_into().ok()?;
    arx_media::store::check_cid(&a.cid).ok()?;
    if a.size > arx_media::MAX_FILE_BYTES
        || a.name.len() > arx_media::MAX_NAME_BYTES
        || a.mime_type.len() > arx_media::MAX_MIME_BYTES
    {
        return None;
    }
    let name = safe_file_name(&a.name);
    let mime_type = if a.mime_type.is_empty()
        || !a
            .mime_type
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        "application/octet-stream".to_owned()
    } else {
        a.mime_type.to_ascii_lowercase()
    };
    let dims = (a.width > 0 && a.height > 0).then_some((a.width, a.height));
    let thumbnail = (!a.thumbnail.is_empty()
        && arx_media::picture::thumbnail_is_acceptable(&a.thumbnail))
    .then_some(a.thumbnail);
    Some(AttachmentInfo {
        name,
        mime_type,
        size: a.size,
        width: dims.map(|d| d.0),
        height: dims.map(|d| d.1),
        thumbnail,
        sealed: Sealed {
            cid: a.cid,
            key,
            digest,
            size: a.size,
        },
    })
}

/// A file name safe to show and to save under: its last path component, without control
/// characters, never empty, `.` or `..`.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn shown_body(type_id: &str, content: &[u8], fallback: &str) -> Option<Body> {
    match type_id {
        TEXT_TYPE => {
            let t = TextContent::decode(content).ok()?;
            (t.text.len() <= MAX_TEXT_BYTES).then_some(Body::Text {
                text: t.text,
                markdown: t.markdown,
            })
        }
        ATTACHMENTS_TYPE => {
            let a = AttachmentsContent::decode(content).ok()?;
            let count = a.attachments.len();
            if count == 0
                || count > arx_media::MAX_FILES_PER_MESSAGE
                || a.caption.len() > MAX_TEXT_BYTES
            {
                return None;
            }
            let attachments: Option<Vec<AttachmentInfo>> =
                a.attachments.into_iter().map(attachment_info).collect();
            Some(Body::Files {
                attachments: attachments?,
                caption: a.caption,
                markdown: a.caption_markdown,
            })
        }
        _ => {
            let _ = fallback;
            None
        }
    }
}

fn unknown(fallback: &str) -> Body {
    let fallback = if fallback.trim().is_empty() {
        "(a message this version of ARX cannot show)".to_owned()
    } else {
        fallback.chars().take(MAX_TEXT_BYTES).collect()
    };
    Body::Unknown { fallback }
}

/// Decodes a payload for showing or acting on it. Never fails: what breaks its type's rules is
/// shown by its fallback.
pub(crate) fn decode(content: &EncodedContent) -> Decoded {
    let bytes = content.content.as_slice();
    let acted = match content.type_id.as_str() {
        REACTION_TYPE => ReactionContent::decode(bytes).ok().and_then(|r| {
            check_emoji(&r.emoji).ok()?;
            Some(Decoded::Reaction {
                target: target_of(&r.target)?,
                emoji: r.emoji,
                remove: r.remove,
            })
        }),
        RECEIPT_TYPE => ReadReceiptContent::decode(bytes).ok().and_then(|r| {
            Some(Decoded::Receipt {
                target: target_of(&r.target)?,
            })
        }),
        EDIT_TYPE => EditContent::decode(bytes).ok().and_then(|e| {
            (e.text.len() <= MAX_TEXT_BYTES && !e.text.trim().is_empty()).then_some(())?;
            Some(Decoded::Edit {
                target: target_of(&e.target)?,
                text: e.text,
                markdown: e.markdown,
            })
        }),
        DELETE_TYPE => DeleteContent::decode(bytes).ok().and_then(|d| {
            Some(Decoded::Delete {
                target: target_of(&d.target)?,
            })
        }),
        REPLY_TYPE => ReplyContent::decode(bytes).ok().and_then(|r| {
            let inner = r.content?;
            Some(Decoded::Shown {
                body: shown_body(&inner.type_id, &inner.content, &inner.fallback)
                    .unwrap_or_else(|| unknown(&inner.fallback)),
                reply_to: Some(target_of(&r.target)?),
            })
        }),
        other => shown_body(other, bytes, &content.fallback).map(|body| Decoded::Shown {
            body,
            reply_to: None,
        }),
    };
    acted.unwrap_or_else(|| Decoded::Shown {
        body: unknown(&content.fallback),
        reply_to: None,
    })
}

/// The text an edit puts in place of a message's content: the new content, or `None` when
/// the message is not one whose text can be edited (only text, and replies with text).
pub(crate) fn edited(
    original: &EncodedContent,
    text: &str,
    markdown: bool,
) -> Option<EncodedContent> {
    let new_text = TextContent {
        text: text.into(),
        markdown,
    };
    match original.type_id.as_str() {
        TEXT_TYPE => Some(EncodedContent {
            type_id: TEXT_TYPE.into(),
            content: new_text.encode_to_vec(),
            fallback: text.into(),
            id: original.id.clone(),
        }),
        REPLY_TYPE => {
            let reply = ReplyContent::decode(original.content.as_slice()).ok()?;
            if reply.content.as_ref()?.type_id != TEXT_TYPE {
                return None;
            }
            let content = ReplyContent {
                target: reply.target,
                content: Some(EncodedContent {
                    type_id: TEXT_TYPE.into(),
                    content: new_text.encode_to_vec(),
                    fallback: text.into(),
                    id: Vec::new(),
                }),
            };
            Some(EncodedContent {
                type_id: REPLY_TYPE.into(),
                content: content.encode_to_vec(),
                fallback: format!("↪ {text}"),
                id: original.id.clone(),
            })
        }
        _ => None,
    }
}

/// A stored message as shown.
pub(crate) fn stored_message(row: MessageRow) -> StoredMessage {
    let decoded = decode(&row.content);
    let (body, reply_to) = match decoded {
        Decoded::Shown { body, reply_to } => (body, reply_to),
        _ => (
            Body::Unknown {
                fallback: row.content.fallback.clone(),
            },
            None,
        ),
    };
    let deleted = row.deleted_at_ns.is_some();
    let system = (row.content.type_id == crate::system::SYSTEM_TYPE)
        .then(|| crate::system::decode(&row.content.content))
        .flatten()
        .map(|(kind, subjects, value)| crate::model::SystemLine {
            kind,
            subjects,
            value,
        });
    let body = if deleted {
        Body::Unknown {
            fallback: "This message was deleted".into(),
        }
    } else {
        body
    };
    let (text, markdown, is_fallback, attachments) = match body {
        Body::Text { text, markdown } => (text, markdown, false, Vec::new()),
        Body::Files {
            attachments,
            caption,
            markdown,
        } => (caption, markdown, false, attachments),
        Body::Unknown { fallback } => (fallback, false, !deleted && system.is_none(), Vec::new()),
    };
    StoredMessage {
        id: row.id,
        group_id: row.group_id,
        content_id: content_id(&row.content),
        sender_inbox: row.sender_inbox,
        sender_installation: row.sender_installation,
        type_id: row.content.type_id,
        text,
        markdown,
        is_fallback,
        attachments,
        reply_to,
        edited_at_ns: row.edited_at_ns,
        deleted,
        system,
        sent_at_ns: row.sent_at_ns,
        delivery: row.delivery,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn actions_that_break_their_rules_are_shown_by_their_fallback() {
        let mut bad = reaction_content(&[1; 16], "👍", false).unwrap();
        bad.content = ReactionContent {
            target: vec![1; 15],
            emoji: "👍".into(),
            remove: false,
        }
        .encode_to_vec();
        assert!(matches!(
            decode(&bad),
            Decoded::Shown {
                body: Body::Unknown { .. },
                ..
            }
        ));
        let spaced = ReactionContent {
            target: vec![1; 16],
            emoji: "a b".into(),
            remove: false,
        };
        bad.content = spaced.encode_to_vec();
        assert!(matches!(
            decode(&bad),
            Decoded::Shown {
                body: Body::Unknown { .. },
                ..
            }
        ));
        assert!(matches!(
            decode(&reaction_content(&[2; 16], "🎉", true).unwrap()),
            Decoded::Reaction { remove: true, .. }
        ));
        assert!(reaction_content(&[2; 16], &"x".repeat(33), false).is_err());
    }

    #[test]
    fn a_reply_carries_its_target_and_its_text_and_edits_keep_the_target() {
        let reply = reply_content(&[9; 16], text_content("yes", false).unwrap());
        let Decoded::Shown { body, reply_to } = decode(&reply) else {
            panic!("a reply is shown")
        };
        assert_eq!(reply_to, Some([9; 16]));
        assert_eq!(
            body,
            Body::Text {
                text: "yes".into(),
                markdown: false
            }
        );
        let changed = edited(&reply, "no", true).unwrap();
        assert_eq!(changed.id, reply.id);
        let Decoded::Shown { body, reply_to } = decode(&changed) else {
            panic!("still shown")
        };
        assert_eq!(reply_to, Some([9; 16]));
        assert_eq!(
            body,
            Body::Text {
                text: "no".into(),
                markdown: true
            }
        );
    }

    #[test]
    fn attachments_that_break_the_wire_rules_are_not_shown_as_files() {
        let good = WireAttachment {
            cid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy".into(),
            key: vec![1; 32],
            nonce: vec![2; 7],
            digest: vec![3; 32],
            name: "../../.ssh/authorized_keys".into(),
            mime_type: "text/plain".into(),
            size: 10,
            width: 0,
            height: 0,
            thumbnail: b"not a jpeg".to_vec(),
        };
        let info = attachment_info(good.clone()).unwrap();
        assert_eq!(info.name, "authorized_keys");
        assert_eq!(info.thumbnail, None);
        for broken in [
            WireAttachment {
                key: vec![1; 16],
                ..good.clone()
            },
            WireAttachment {
                digest: vec![3; 31],
                ..good.clone()
            },
            WireAttachment {
                cid: "../x".into(),
                ..good.clone()
            },
            WireAttachment {
                size: arx_media::MAX_FILE_BYTES + 1,
                ..good.clone()
            },
        ] {
            assert!(attachment_info(broken).is_none());
        }
        assert_eq!(safe_file_name(".."), "file");
        assert_eq!(safe_file_name("C:\\Users\\a\\photo.jpg"), "photo.jpg");
    }
}
