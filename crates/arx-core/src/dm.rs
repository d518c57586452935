//! DMs: one per pair of inboxes, with a group id both sides derive from the two sorted inbox
//! ids. If both people create it at once, the creation the node ordered first wins and the other
//! side drops its own group and joins the winner's from the welcome.

use arx_identity::{InboxId, InstallationKey, Topic};
use openmls::prelude::{tls_codec::Deserialize as _, MlsMessageIn, ProtocolMessage};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::signatures::Signer as _;
use sha2::{Digest as _, Sha256};

use crate::{
    client::Client,
    db::{self, intents::IntentKind},
    error::{CoreCode, CoreError},
    intents::inboxes_data,
};

/// How long and how often [`Client::dm`] waits for the other side's DM to arrive.
const DM_CONVERGING_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
const DM_CONVERGING_TRIES: u32 = 20;

/// Length of a DM's group id. Groups use [`GROUP_ID_LEN`], so no group can take a DM's id: a
/// welcome under an id of this length is accepted only as exactly that DM.
pub const DM_ID_LEN: usize = 16;
/// Length of a group's (random) id.
pub const GROUP_ID_LEN: usize = 32;

/// Label of the claim a group's creation commit carries.
const CREATION_CLAIM: &[u8] = b"arx/v1/creation";

/// The claim a creation commit (epoch 0) carries in its clear authenticated data: the
/// creator's installation key and its signature over the group id. A rival DM creation is
/// recognised by it (its commit cannot be decrypted by the other side); anyone else's "commit"
/// on the DM topic, without a claim signed by one of the two inboxes, is not.
pub(crate) fn creation_claim(
    group_id: &[u8],
    signer: &SignatureKeyPair,
) -> Result<Vec<u8>, CoreError> {
    let mut signed = CREATION_CLAIM.to_vec();
    signed.extend_from_slice(group_id);
    let signature = signer
        .sign(&signed)
        .map_err(|e| CoreError::MlsOperation(format!("{e:?}")))?;
    let mut claim = signer.public().to_vec();
    claim.extend_from_slice(&signature);
    Ok(claim)
}

/// The installation that signed a creation claim for `group_id`, if `aad` is a valid one.
pub(crate) fn creation_claimant(aad: &[u8], group_id: &[u8]) -> Option<InstallationKey> {
    if aad.len() != 32 + 64 {
        return None;
    }
    let key = InstallationKey::from_slice(&aad[..32]).ok()?;
    let mut signed = CREATION_CLAIM.to_vec();
    signed.extend_from_slice(group_id);
    key.verify(&signed, &aad[32..]).ok()?;
    Some(key)
}

/// The group id of the DM between two inboxes: the same whoever computes it.
pub fn dm_group_id(a: &InboxId, b: &InboxId) -> Vec<u8> {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"arx/v1/dm");
    hash.update(first.as_bytes());
    hash.update(second.as_bytes());
    hash.finalize()[..DM_ID_LEN].to_vec()
}

impl Client {
    /// The DM with `peer`, creating it if there is none. If both people create it at the same
    /// time, the creation the node ordered first wins and the other side joins it: this waits
    /// for that (up to 5 s) before it gives up with the retryable `dm.converging`.
    pub async fn dm(&self, peer: &InboxId) -> Result<Vec<u8>, CoreError> {
        let mut attempt = 0;
        loop {
            match self.dm_once(peer).await {
                Err(CoreError::DmConverging) if attempt < DM_CONVERGING_TRIES => {
                    attempt += 1;
                    tokio::time::sleep(DM_CONVERGING_WAIT).await;
                }
                other => return other,
            }
        }
    }

    /// The DM with `peer` if this installation has it. A conversation under the DM's id that is
    /// not exactly that DM (a group someone made with the id) is never returned as the DM.
    async fn existing_dm(
        &self,
        group_id: &[u8],
        peer: &InboxId,
    ) -> Result<Option<Vec<u8>>, CoreError> {
        if !db::conversations::exists(&self.db, group_id).await? {
            return Ok(None);
        }
        match db::conversations::dm_peer(&self.db, group_id).await? {
            Some(found) if found == *peer => Ok(Some(group_id.to_vec())),
            _ => Err(CoreError::CommitRefused(
                "a conversation that is not this DM holds its id".into(),
            )),
        }
    }

    /// [`Client::dm`], once.
    async fn dm_once(&self, peer: &InboxId) -> Result<Vec<u8>, CoreError> {
        let me = self.inbox().await?;
        if *peer == me {
            return Err(CoreError::InvalidInput("a DM needs another person".into()));
        }
        let group_id = dm_group_id(&me, peer);
        self.sync().await?;
        if let Some(found) = self.existing_dm(&group_id, peer).await? {
            return Ok(found);
        }
        let node = self.node().await?;
        // Created by the other side already (a creation claim signed by one of its
        // installations): its welcome is on its way. Anything else on the topic is ignored.
        let (existing, _) = self.next_page(&Topic::group(&group_id)?).await?;
        let claims: Vec<InstallationKey> = existing
            .iter()
            .filter(|env| node.verify(env).is_ok())
            .filter_map(|env| topic_creation_claimant(env, &group_id))
            .filter(|key| *key != self.installation_key())
            .collect();
        if !claims.is_empty() {
            let peer_state = self.association_state_from(&node, peer).await?;
            let own_state = self.association_state_from(&node, &me).await?;
            if claims
                .iter()
                .any(|k| peer_state.has_installation(k) || own_state.has_installation(k))
            {
                return Err(CoreError::DmConverging);
            }
        }
        let peer_state = self.association_state_from(&node, peer).await?;
        let own_state = self.association_state_from(&node, &me).await?;
        let mut wanted: Vec<(InboxId, InstallationKey)> = peer_state
            .installations()
            .into_iter()
            .map(|k| (*peer, k))
            .collect();
        wanted.extend(
            own_state
                .installations()
                .into_iter()
                .filter(|k| *k != self.installation_key())
                .map(|k| (me, k)),
        );
        let (key_packages, _failed) = self.fetch_key_packages(&node, &wanted).await?;
        if !key_packages
            .iter()
            .any(|(k, _)| wanted.iter().any(|(i, w)| i == peer && w == k))
        {
            return Err(CoreError::PeerUnreachable(*peer));
        }
        self.create_local_group(&me, &group_id, None, Some(peer), &[])
            .await?;
        let created = self
            .run_intent(
                &node,
                &group_id,
                IntentKind::AddMembers,
                &inboxes_data(&[*peer, me]),
            )
            .await;
        match created {
            Ok(_) => Ok(group_id),
            Err(CoreError::IntentFailed { code, .. }) if code == CoreCode::DmConverging.into() => {
                // The other side's DM came first: drop ours and join theirs.
                self.drop_local_group(&group_id).await?;
                self.sync().await?;
                match self.existing_dm(&group_id, peer).await? {
                    Some(found) => Ok(found),
                    None => Err(CoreError::DmConverging),
                }
            }
            Err(err) => {
                self.drop_local_group(&group_id).await?;
                Err(err)
            }
        }
    }
}

/// The installation whose creation claim an envelope of a group topic carries, if any.
pub(crate) fn topic_creation_claimant(
    env: &arx_proto::OriginatorEnvelope,
    group_id: &[u8],
) -> Option<InstallationKey> {
    let arx_proto::client_envelope::Payload::GroupMessage(m) =
        crate::sync::decode_payload(env).ok()?
    else {
        return None;
    };
    let message = MlsMessageIn::tls_deserialize_exact(m.mls_message.as_slice()).ok()?;
    match ProtocolMessage::try_from(message).ok()? {
        ProtocolMessage::PrivateMessage(p) if p.epoch().as_u64() == 0 => {
            creation_claimant(p.aad(), group_id)
        }
        _ => None,
    }
}
