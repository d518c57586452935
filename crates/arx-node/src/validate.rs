//! Validation at the door that needs no stored state: sizes, protobuf decoding, topic rules,
//! payload/topic agreement, MLS framing and group id, key package signatures and lifetime.
//! Checks that need state (identity logs, key package association) happen in the publisher.

use arx_identity::{CheckedSignatures, IdentityUpdate, InboxId, InstallationKey, Topic, TopicKind};
use arx_proto::{client_envelope::Payload, ClientEnvelope};
use openmls::prelude::tls_codec::Deserialize;
use openmls::prelude::{
    BasicCredential, Ciphersuite, MlsMessageBodyIn, MlsMessageIn, ProtocolVersion,
};
use openmls_rust_crypto::RustCrypto;
use prost::Message;

use crate::error::NodeError;

/// The only ciphersuite ARX uses (RFC 9420 mandatory-to-implement).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Largest identity update envelope (one has a few actions of a few signatures each).
pub const MAX_IDENTITY_UPDATE_BYTES: usize = 16 * 1024;
/// Largest key package envelope.
pub const MAX_KEY_PACKAGE_BYTES: usize = 16 * 1024;
/// Longest a key package may stay valid, from the time it is published (about 13 months).
pub const MAX_KEY_PACKAGE_LIFETIME_SECS: u64 = 400 * 86_400;

/// Limits enforced on every publish.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest encoded client envelope accepted.
    pub max_envelope_bytes: usize,
    /// Most envelopes in one Publish call.
    pub max_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: 1024 * 1024,
            max_batch: 256,
        }
    }
}

/// What the publisher still has to check or record for an envelope.
#[derive(Clone, Debug)]
pub enum Checked {
    /// Group messages and welcomes: nothing more to check.
    Plain,
    /// A key package whose installation must be associated with `inbox_id`.
    KeyPackage {
        installation: InstallationKey,
        inbox_id: InboxId,
        not_after: u64,
    },
    /// An identity update to fold against the inbox's stored state, its signatures checked.
    IdentityUpdate(Box<(IdentityUpdate, CheckedSignatures)>),
}

/// A client envelope that passed the stateless checks.
#[derive(Clone, Debug)]
pub struct ValidatedEnvelope {
    pub topic: Topic,
    /// The envelope exactly as the client encoded it.
    pub bytes: Vec<u8>,
    pub checked: Checked,
}

/// Validates one encoded client envelope, `index` being its place in the batch.
pub fn validate_envelope(
    index: usize,
    bytes: Vec<u8>,
    limits: &Limits,
    crypto: &RustCrypto,
    now_secs: u64,
) -> Result<ValidatedEnvelope, NodeError> {
    if bytes.len() > limits.max_envelope_bytes {
        return Err(NodeError::EnvelopeTooLarge {
            index,
            size: bytes.len(),
            max: limits.max_envelope_bytes,
        });
    }
    let envelope =
        ClientEnvelope::decode(bytes.as_slice()).map_err(|e| NodeError::MalformedEnvelope {
            index,
            reason: e.to_string(),
        })?;
    let topic = envelope
        .topic
        .as_ref()
        .ok_or_else(|| NodeError::MalformedEnvelope {
            index,
            reason: "no topic".into(),
        })?;
    let topic = Topic::from_proto(topic).map_err(|source| NodeError::Topic { index, source })?;
    let payload = envelope
        .payload
        .ok_or_else(|| NodeError::MalformedEnvelope {
            index,
            reason: "no payload".into(),
        })?;

    let (name, expected_kind) = match &payload {
        Payload::GroupMessage(_) => ("group_message", TopicKind::GroupMessages),
        Payload::Welcome(_) => ("welcome", TopicKind::Welcomes),
        Payload::KeyPackage(_) => ("key_package", TopicKind::KeyPackages),
        Payload::IdentityUpdate(_) => ("identity_update", TopicKind::IdentityLog),
    };
    if topic.kind() != expected_kind {
        return Err(NodeError::PayloadTopicMismatch {
            index,
            payload: name,
            topic: topic.to_string(),
        });
    }

    let checked = match payload {
        Payload::GroupMessage(m) => {
            check_group_message(index, &m.mls_message, &topic)?;
            Checked::Plain
        }
        Payload::Welcome(w) if w.mls_message.is_empty() => {
            if w.shared_welcome.len() != 32 {
                return Err(invalid_mls(
                    index,
                    "a welcome pointer must name a 32-byte shared welcome",
                ));
            }
            Checked::Plain
        }
        Payload::Welcome(w) => {
            if !w.shared_welcome.is_empty() {
                return Err(invalid_mls(
                    index,
                    "a welcome is either an MLS Welcome or a pointer, not both",
                ));
            }
            match parse_mls(index, &w.mls_message)? {
                MlsMessageBodyIn::Welcome(_) => {}
                _ => {
                    return Err(invalid_mls(
                        index,
                        "a welcome payload must carry an MLS Welcome",
                    ))
                }
            }
            Checked::Plain
        }
        Payload::KeyPackage(k) => {
            if bytes.len() > MAX_KEY_PACKAGE_BYTES {
                return Err(NodeError::EnvelopeTooLarge {
                    index,
                    size: bytes.len(),
                    max: MAX_KEY_PACKAGE_BYTES,
                });
            }
            check_key_package(index, &k.mls_message, &topic, crypto, now_secs)?
        }
        Payload::IdentityUpdate(update) => {
            let update = IdentityUpdate::from_proto(&update)
                .map_err(|source| NodeError::Identity { index, source })?;
            if topic.id() != update.inbox_id.as_bytes() {
                return Err(NodeError::MalformedEnvelope {
                    index,
                    reason: format!(
                        "identity update for inbox {} published to topic {topic}",
                        update.inbox_id
                    ),
                });
            }
            if bytes.len() > MAX_IDENTITY_UPDATE_BYTES {
                return Err(NodeError::EnvelopeTooLarge {
                    index,
                    size: bytes.len(),
                    max: MAX_IDENTITY_UPDATE_BYTES,
                });
            }
            // The costly, stateless half of the signature checks, here on the caller's task
            // rather than on the single writer.
            let checked = CheckedSignatures::of(&update)
                .map_err(|source| NodeError::Identity { index, source })?;
            Checked::IdentityUpdate(Box::new((update, checked)))
        }
    };
    Ok(ValidatedEnvelope {
        topic,
        bytes,
        checked,
    })
}

fn invalid_mls(index: usize, reason: impl Into<String>) -> NodeError {
    NodeError::InvalidMlsMessage {
        index,
        reason: reason.into(),
    }
}

fn parse_mls(index: usize, bytes: &[u8]) -> Result<MlsMessageBodyIn, NodeError> {
    let message = MlsMessageIn::tls_deserialize_exact(bytes)
        .map_err(|e| invalid_mls(index, format!("cannot decode MLSMessage: {e}")))?;
    Ok(message.extract())
}

fn check_group_message(index: usize, bytes: &[u8], topic: &Topic) -> Result<(), NodeError> {
    let group_id = match parse_mls(index, bytes)? {
        MlsMessageBodyIn::PublicMessage(m) => m.group_id().as_slice().to_vec(),
        MlsMessageBodyIn::PrivateMessage(m) => m.group_id().as_slice().to_vec(),
        _ => {
            return Err(invalid_mls(
                index,
                "a group message must be an MLS PublicMessage or PrivateMessage",
            ))
        }
    };
    if group_id != topic.id() {
        return Err(NodeError::GroupIdMismatch {
            index,
            message_group: hex::encode(group_id),
            topic_group: hex::encode(topic.id()),
        });
    }
    Ok(())
}

fn check_key_package(
    index: usize,
    bytes: &[u8],
    topic: &Topic,
    crypto: &RustCrypto,
    now_secs: u64,
) -> Result<Checked, NodeError> {
    let invalid = |reason: String| NodeError::InvalidKeyPackage { index, reason };
    let key_package = match parse_mls(index, bytes)? {
        MlsMessageBodyIn::KeyPackage(kp) => kp,
        _ => return Err(invalid("the payload is not an MLS KeyPackage".into())),
    };
    let key_package = key_package
        .validate(crypto, ProtocolVersion::Mls10)
        .map_err(|e| invalid(format!("{e}")))?;
    if key_package.ciphersuite() != CIPHERSUITE {
        return Err(invalid(format!(
            "ciphersuite {:?} is not supported; use {CIPHERSUITE:?}",
            key_package.ciphersuite()
        )));
    }
    let leaf = key_package.leaf_node();
    let installation = InstallationKey::from_slice(leaf.signature_key().as_slice())
        .map_err(|e| invalid(format!("leaf signature key: {e}")))?;
    if installation.as_bytes().as_slice() != topic.id() {
        return Err(invalid(format!(
            "the key package is signed by installation {installation}, not the topic's {}",
            hex::encode(topic.id())
        )));
    }
    let credential = BasicCredential::try_from(leaf.credential().clone())
        .map_err(|e| invalid(format!("credential must be a basic credential: {e}")))?;
    let inbox_id = InboxId::from_slice(credential.identity())
        .map_err(|e| invalid(format!("credential identity is not an inbox id: {e}")))?;
    let not_after = key_package.life_time().not_after();
    let latest = now_secs.saturating_add(MAX_KEY_PACKAGE_LIFETIME_SECS);
    if not_after > latest {
        return Err(invalid(format!(
            "it is valid until {not_after} (Unix seconds); a key package may be valid for at \
             most {} days from now",
            MAX_KEY_PACKAGE_LIFETIME_SECS / 86_400
        )));
    }
    Ok(Checked::KeyPackage {
        installation,
        inbox_id,
        not_after,
    })
}
