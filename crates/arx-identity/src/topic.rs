//! Topics: the addresses of envelope streams.

use std::fmt;
use std::str::FromStr;

use crate::error::EnvelopeError;
use crate::inbox::InboxId;
use crate::member::InstallationKey;

/// The longest MLS group id a group topic accepts.
pub const MAX_GROUP_ID_LEN: usize = 64;

/// What a topic holds. The numbers are those of `arx.v1.TopicKind`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TopicKind {
    /// A group's MLS messages; id = MLS group id (1..=64 bytes).
    GroupMessages,
    /// An installation's welcome box; id = its Ed25519 public key.
    Welcomes,
    /// An inbox's identity log; id = the inbox id.
    IdentityLog,
    /// An installation's key packages; id = its Ed25519 public key.
    KeyPackages,
}

impl TopicKind {
    /// The kind's number on the wire and in storage keys (1..=4).
    pub fn as_u8(self) -> u8 {
        match self {
            TopicKind::GroupMessages => 1,
            TopicKind::Welcomes => 2,
            TopicKind::IdentityLog => 3,
            TopicKind::KeyPackages => 4,
        }
    }

    /// The kind with this number; 0 (unspecified) and unknown numbers are `topic.unknown_kind`.
    pub fn from_i32(value: i32) -> Result<Self, EnvelopeError> {
        match value {
            1 => Ok(TopicKind::GroupMessages),
            2 => Ok(TopicKind::Welcomes),
            3 => Ok(TopicKind::IdentityLog),
            4 => Ok(TopicKind::KeyPackages),
            other => Err(EnvelopeError::UnknownTopicKind(format!(
                "kind number {other}"
            ))),
        }
    }

    /// The prefix of the canonical string form.
    fn prefix(self) -> &'static str {
        match self {
            TopicKind::GroupMessages => "group",
            TopicKind::Welcomes => "welcomes",
            TopicKind::IdentityLog => "identity",
            TopicKind::KeyPackages => "key-packages",
        }
    }

    fn to_proto(self) -> arx_proto::TopicKind {
        match self {
            TopicKind::GroupMessages => arx_proto::TopicKind::GroupMessages,
            TopicKind::Welcomes => arx_proto::TopicKind::Welcomes,
            TopicKind::IdentityLog => arx_proto::TopicKind::IdentityLog,
            TopicKind::KeyPackages => arx_proto::TopicKind::KeyPackages,
        }
    }
}

/// The address of a stream of envelopes: a kind and an id whose length the kind fixes.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Topic {
    kind: TopicKind,
    id: Vec<u8>,
}

impl Topic {
    /// Checks the id length: 1..=64 bytes for a group, exactly 32 for the other kinds.
    pub fn new(kind: TopicKind, id: Vec<u8>) -> Result<Self, EnvelopeError> {
        let ok = match kind {
            TopicKind::GroupMessages => (1..=MAX_GROUP_ID_LEN).contains(&id.len()),
            TopicKind::Welcomes | TopicKind::IdentityLog | TopicKind::KeyPackages => id.len() == 32,
        };
        if !ok {
            let expected = match kind {
                TopicKind::GroupMessages => "1 to 64 bytes",
                _ => "32 bytes",
            };
            return Err(EnvelopeError::InvalidTopicId(format!(
                "a {} topic id must be {expected}, got {}",
                kind.prefix(),
                id.len()
            )));
        }
        Ok(Topic { kind, id })
    }

    /// The topic of a group's messages.
    pub fn group(group_id: &[u8]) -> Result<Self, EnvelopeError> {
        Topic::new(TopicKind::GroupMessages, group_id.to_vec())
    }

    /// An installation's welcome box.
    pub fn welcomes(installation: &InstallationKey) -> Self {
        Topic {
            kind: TopicKind::Welcomes,
            id: installation.as_bytes().to_vec(),
        }
    }

    /// An inbox's identity log.
    pub fn identity_log(inbox_id: &InboxId) -> Self {
        Topic {
            kind: TopicKind::IdentityLog,
            id: inbox_id.as_bytes().to_vec(),
        }
    }

    /// An installation's key packages.
    pub fn key_packages(installation: &InstallationKey) -> Self {
        Topic {
            kind: TopicKind::KeyPackages,
            id: installation.as_bytes().to_vec(),
        }
    }

    /// What the topic holds.
    pub fn kind(&self) -> TopicKind {
        self.kind
    }

    /// The topic id (group id, installation key or inbox id).
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Parses the wire form; an unspecified or unknown kind is `topic.unknown_kind`, a bad id
    /// length `topic.invalid_id`.
    pub fn from_proto(proto: &arx_proto::Topic) -> Result<Self, EnvelopeError> {
        Topic::new(TopicKind::from_i32(proto.kind)?, proto.id.clone())
    }

    /// The wire form.
    pub fn to_proto(&self) -> arx_proto::Topic {
        arx_proto::Topic {
            kind: self.kind.to_proto() as i32,
            id: self.id.clone(),
        }
    }

    /// The storage key: the kind's number (one byte) followed by the id.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.id.len());
        out.push(self.kind.as_u8());
        out.extend_from_slice(&self.id);
        out
    }

    /// Parses [`Topic::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let (&kind, id) = bytes
            .split_first()
            .ok_or_else(|| EnvelopeError::UnknownTopicKind("empty topic bytes".to_owned()))?;
        Topic::new(TopicKind::from_i32(i32::from(kind))?, id.to_vec())
    }
}

impl fmt::Display for Topic {
    /// `group/<hex>`, `welcomes/<hex>`, `identity/<hex>` or `key-packages/<hex>`, lowercase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.prefix(), hex::encode(&self.id))
    }
}

impl FromStr for Topic {
    type Err = EnvelopeError;

    /// Parses the form written by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (prefix, id) = s.split_once('/').ok_or_else(|| {
            EnvelopeError::UnknownTopicKind(format!("{s:?} is not of the form <kind>/<hex id>"))
        })?;
        let kind = [
            TopicKind::GroupMessages,
            TopicKind::Welcomes,
            TopicKind::IdentityLog,
            TopicKind::KeyPackages,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
        .ok_or_else(|| EnvelopeError::UnknownTopicKind(format!("{prefix:?}")))?;
        let id = hex::decode(id)
            .map_err(|e| EnvelopeError::InvalidTopicId(format!("topic id must be hex: {e}")))?;
        Topic::new(kind, id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{Address, InstallationSigner};

    fn examples() -> Vec<Topic> {
        let key = InstallationSigner::from_bytes(&[1u8; 32]).public_key();
        vec![
            Topic::group(b"g").unwrap(),
            Topic::group(&[0xab; 64]).unwrap(),
            Topic::welcomes(&key),
            Topic::identity_log(&InboxId::derive(&Address::ZERO, 0)),
            Topic::key_packages(&key),
        ]
    }

    #[test]
    fn topics_round_trip_through_proto_bytes_and_text() {
        for topic in examples() {
            assert_eq!(Topic::from_proto(&topic.to_proto()).unwrap(), topic);
            assert_eq!(Topic::from_bytes(&topic.to_bytes()).unwrap(), topic);
            assert_eq!(topic.to_string().parse::<Topic>().unwrap(), topic);
        }
    }

    #[test]
    fn topic_strings_and_bytes_are_canonical() {
        let topic = Topic::group(&[0xAB, 0x01]).unwrap();
        assert_eq!(topic.to_string(), "group/ab01");
        assert_eq!(topic.to_bytes(), vec![1, 0xab, 0x01]);
        let id = InboxId::derive(&Address::ZERO, 0);
        assert_eq!(
            Topic::identity_log(&id).to_string(),
            format!("identity/{id}")
        );
        assert_eq!(Topic::identity_log(&id).to_bytes()[0], 3);
        let key = InstallationSigner::from_bytes(&[1u8; 32]).public_key();
        assert_eq!(Topic::welcomes(&key).to_string(), format!("welcomes/{key}"));
        assert_eq!(
            Topic::key_packages(&key).to_string(),
            format!("key-packages/{key}")
        );
        assert_eq!(Topic::key_packages(&key).to_bytes()[0], 4);
        assert_eq!(
            Topic::welcomes(&key).to_proto().kind,
            arx_proto::TopicKind::Welcomes as i32
        );
    }

    #[test]
    fn unknown_or_unspecified_kind_is_refused() {
        for kind in [0, 5, -1] {
            let proto = arx_proto::Topic {
                kind,
                id: vec![1; 32],
            };
            assert_eq!(
                Topic::from_proto(&proto).unwrap_err().code().as_str(),
                "topic.unknown_kind"
            );
        }
        assert_eq!(
            Topic::from_bytes(&[]).unwrap_err().code().as_str(),
            "topic.unknown_kind"
        );
        assert_eq!(
            Topic::from_bytes(&[9, 1]).unwrap_err().code().as_str(),
            "topic.unknown_kind"
        );
        assert_eq!(
            "inbox/00".parse::<Topic>().unwrap_err().code().as_str(),
            "topic.unknown_kind"
        );
        assert_eq!(
            "group".parse::<Topic>().unwrap_err().code().as_str(),
            "topic.unknown_kind"
        );
    }

    #[test]
    fn topic_ids_of_the_wrong_length_are_refused() {
        assert_eq!(
            Topic::group(&[]).unwrap_err().code().as_str(),
            "topic.invalid_id"
        );
        assert_eq!(
            Topic::group(&[0; 65]).unwrap_err().code().as_str(),
            "topic.invalid_id"
        );
        for kind in [
            TopicKind::Welcomes,
            TopicKind::IdentityLog,
            TopicKind::KeyPackages,
        ] {
            assert_eq!(
                Topic::new(kind, vec![0; 31]).unwrap_err().code().as_str(),
                "topic.invalid_id"
            );
            assert_eq!(
                Topic::new(kind, vec![0; 33]).unwrap_err().code().as_str(),
                "topic.invalid_id"
            );
        }
        assert_eq!(
            "group/zz".parse::<Topic>().unwrap_err().code().as_str(),
            "topic.invalid_id"
        );
        assert_eq!(
            "identity/00".parse::<Topic>().unwrap_err().code().as_str(),
            "topic.invalid_id"
        );
    }
}
