//! Originator signatures: how a node signs the client envelopes it accepts, and how anyone
//! checks them.

use std::fmt;

use ed25519_dalek::{Signer as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::EnvelopeError;

const CLIENT_ENVELOPE_DOMAIN: &[u8] = b"arx/v1/client-envelope";
const ORIGINATOR_ENVELOPE_DOMAIN: &[u8] = b"arx/v1/originator-envelope";
const NODE_ID_DOMAIN: &[u8] = b"arx/v1/node-id";

/// `sha256("arx/v1/client-envelope" || client_envelope_bytes)`.
pub fn client_envelope_hash(client_envelope_bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CLIENT_ENVELOPE_DOMAIN);
    hasher.update(client_envelope_bytes);
    hasher.finalize().into()
}

/// What an originator signs: `sha256("arx/v1/originator-envelope" || originator_id (u32 BE) ||
/// sequence_id (u64 BE) || received_at_ns (i64 BE) || client_envelope_hash (32 bytes))`.
pub fn originator_signing_hash(
    originator_id: u32,
    sequence_id: u64,
    received_at_ns: i64,
    client_envelope_hash: &[u8; 32],
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(ORIGINATOR_ENVELOPE_DOMAIN);
    hasher.update(originator_id.to_be_bytes());
    hasher.update(sequence_id.to_be_bytes());
    hasher.update(received_at_ns.to_be_bytes());
    hasher.update(client_envelope_hash);
    hasher.finalize().into()
}

/// A node's id: the first 4 bytes, big-endian, of `sha256("arx/v1/node-id" || public_key)`.
pub fn node_id_from_public_key(pk: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(NODE_ID_DOMAIN);
    hasher.update(pk);
    let digest: [u8; 32] = hasher.finalize().into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A node's Ed25519 signing key.
pub struct NodeKey {
    key: ed25519_dalek::SigningKey,
}

impl NodeKey {
    /// A new random node key.
    pub fn generate() -> Self {
        NodeKey {
            key: ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// The node key with this 32-byte seed.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        NodeKey {
            key: ed25519_dalek::SigningKey::from_bytes(bytes),
        }
    }

    /// The 32-byte seed.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The node id derived from the public key ([`node_id_from_public_key`]).
    pub fn node_id(&self) -> u32 {
        node_id_from_public_key(&self.public_key())
    }

    /// Stamps and signs an accepted client envelope (its exact bytes as received).
    pub fn sign_envelope(
        &self,
        sequence_id: u64,
        received_at_ns: i64,
        client_envelope: Vec<u8>,
    ) -> arx_proto::OriginatorEnvelope {
        let originator_id = self.node_id();
        let hash = client_envelope_hash(&client_envelope);
        let signing_hash =
            originator_signing_hash(originator_id, sequence_id, received_at_ns, &hash);
        arx_proto::OriginatorEnvelope {
            originator_id,
            sequence_id,
            received_at_ns,
            client_envelope_hash: hash.to_vec(),
            client_envelope,
            signature: self.key.sign(&signing_hash).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKey")
            .field("node_id", &self.node_id())
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

/// Checks that `env` was signed by the node with `node_public_key`: its `originator_id` is that
/// key's node id, `client_envelope_hash` is the hash of `client_envelope`, and the signature
/// verifies (strictly) over the envelope's signing hash.
pub fn verify_originator_envelope(
    env: &arx_proto::OriginatorEnvelope,
    node_public_key: &[u8; 32],
) -> Result<(), EnvelopeError> {
    let claimed_hash: [u8; 32] = env
        .client_envelope_hash
        .as_slice()
        .try_into()
        .map_err(|_| {
            EnvelopeError::Malformed(format!(
                "client_envelope_hash must be 32 bytes, got {}",
                env.client_envelope_hash.len()
            ))
        })?;
    let signature = ed25519_dalek::Signature::from_slice(&env.signature).map_err(|_| {
        EnvelopeError::Malformed(format!(
            "originator signature must be 64 bytes, got {}",
            env.signature.len()
        ))
    })?;
    let expected_id = node_id_from_public_key(node_public_key);
    if env.originator_id != expected_id {
        return Err(EnvelopeError::SignatureInvalid(format!(
            "envelope names originator {} but the key is node {expected_id}",
            env.originator_id
        )));
    }
    if client_envelope_hash(&env.client_envelope) != claimed_hash {
        return Err(EnvelopeError::HashMismatch);
    }
    let key = VerifyingKey::from_bytes(node_public_key).map_err(|_| {
        EnvelopeError::SignatureInvalid("node public key is not a valid Ed25519 key".to_owned())
    })?;
    let signing_hash = originator_signing_hash(
        env.originator_id,
        env.sequence_id,
        env.received_at_ns,
        &claimed_hash,
    );
    key.verify_strict(&signing_hash, &signature)
        .map_err(|_| EnvelopeError::SignatureInvalid(format!("not signed by node {expected_id}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn signed() -> (NodeKey, arx_proto::OriginatorEnvelope) {
        let key = NodeKey::from_bytes(&[9u8; 32]);
        let env = key.sign_envelope(5, 1_700_000_000_000_000_000, b"client envelope".to_vec());
        (key, env)
    }

    #[test]
    fn originator_signing_hash_is_over_the_documented_78_bytes() {
        let hash = [0xee; 32];
        let mut preimage = Vec::new();
        preimage.extend_from_slice(b"arx/v1/originator-envelope");
        preimage.extend_from_slice(&[0x01, 0x02, 0x03, 0x04]);
        preimage.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        preimage.extend_from_slice(&[0xff; 8]);
        preimage.extend_from_slice(&hash);
        assert_eq!(preimage.len(), 78);
        let expected: [u8; 32] = Sha256::digest(&preimage).into();
        assert_eq!(
            originator_signing_hash(0x0102_0304, 256, -1, &hash),
            expected
        );
    }

    #[test]
    fn node_id_is_the_first_four_bytes_of_the_key_hash() {
        let pk = [0x5a; 32];
        let digest = Sha256::digest([b"arx/v1/node-id".as_slice(), &pk].concat());
        assert_eq!(node_id_from_public_key(&pk).to_be_bytes(), digest[..4]);
    }

    #[test]
    fn signed_envelope_verifies_with_the_node_key() {
        let (key, env) = signed();
        assert_eq!(env.originator_id, key.node_id());
        verify_originator_envelope(&env, &key.public_key()).unwrap();
    }

    #[test]
    fn envelope_from_another_node_is_refused() {
        let (_, env) = signed();
        let other = NodeKey::from_bytes(&[10u8; 32]);
        let err = verify_originator_envelope(&env, &other.public_key()).unwrap_err();
        assert_eq!(err.code().as_str(), "envelope.signature_invalid");
    }

    #[test]
    fn tampered_client_envelope_is_a_hash_mismatch() {
        let (key, mut env) = signed();
        env.client_envelope.push(0);
        let err = verify_originator_envelope(&env, &key.public_key()).unwrap_err();
        assert_eq!(err.code().as_str(), "envelope.hash_mismatch");
        assert!(!err.retryable());
    }

    #[test]
    fn tampered_stamp_is_an_invalid_signature() {
        let (key, mut env) = signed();
        env.sequence_id += 1;
        let err = verify_originator_envelope(&env, &key.public_key()).unwrap_err();
        assert_eq!(err.code().as_str(), "envelope.signature_invalid");
    }

    #[test]
    fn short_fields_are_malformed() {
        let (key, env) = signed();
        let mut short_hash = env.clone();
        short_hash.client_envelope_hash.pop();
        let mut short_sig = env;
        short_sig.signature.pop();
        for env in [short_hash, short_sig] {
            let err = verify_originator_envelope(&env, &key.public_key()).unwrap_err();
            assert_eq!(err.code().as_str(), "envelope.malformed");
        }
    }

    #[test]
    fn node_key_seed_round_trips_and_debug_hides_it() {
        let key = NodeKey::from_bytes(&[0x42; 32]);
        assert_eq!(
            NodeKey::from_bytes(&key.to_bytes()).public_key(),
            key.public_key()
        );
        assert!(!format!("{key:?}").contains(&hex::encode([0x42u8; 32])));
        assert_ne!(NodeKey::generate().public_key(), key.public_key());
    }
}
