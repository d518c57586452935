//! Welcomes: joining the groups this installation was added to.

use std::time::Instant;

use arx_identity::{InboxId, InstallationKey, Topic, TopicKind};
use arx_proto::{client_envelope::Payload, Cursor, OriginatorEnvelope, QueryRequest, TopicCursor};
use openmls::prelude::{
    tls_codec::Deserialize as _, MlsMessageBodyIn, MlsMessageIn, StagedWelcome,
};
use sha2::{Digest as _, Sha256};

use super::decode_payload;
use crate::{
    client::{now_ns, Client},
    db::{
        self,
        conversations::{ConversationKind, NewConversation},
    },
    dm::{dm_group_id, DM_ID_LEN, GROUP_ID_LEN},
    error::CoreError,
    identities::{Point, MAX_IDENTITY_ROUNDS},
    metadata::GroupMetadata,
    mls::{credential_inbox, join_config, mls_op, MlsProvider},
    model::SyncSummary,
    transport::NodeIdentity,
};

impl Client {
    /// Reads this installation's welcome topic and joins each group it names; publishes a
    /// fresh key package when a welcome used the last one.
    pub(super) async fn sync_welcomes(
        &self,
        node: &NodeIdentity,
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let welcomes = Topic::welcomes(&self.installation_key());
        let mut joined = 0;
        loop {
            let (page, more) = self.next_page(&welcomes).await?;
            let read_at = Instant::now();
            for env in &page {
                match self
                    .join_with_identities(node, env, &welcomes, read_at)
                    .await
                {
                    Ok(true) => joined += 1,
                    Ok(false) => summary.skipped += 1,
                    // A transport or local failure: the welcome is read again next sync.
                    Err(err) if err.stops_sync() => return Err(err),
                    Err(err) => {
                        tracing::warn!(code = %err.code(), "welcome refused: {err}");
                        summary.skipped += 1;
                        self.skip(&welcomes, env, &err).await?;
                    }
                }
            }
            if !more {
                break;
            }
        }
        summary.groups_joined += joined;
        if joined > 0 {
            // A welcome used this installation's key package: publish a fresh one.
            self.rotate_key_package().await?;
        }
        Ok(())
    }

    /// [`Client::join_from_welcome`], fetching the identity logs its checks need between
    /// attempts (never inside its transaction).
    async fn join_with_identities(
        &self,
        node: &NodeIdentity,
        env: &OriginatorEnvelope,
        topic: &Topic,
        read_at: Instant,
    ) -> Result<bool, CoreError> {
        node.verify(env)?;
        let mut rounds = 0;
        loop {
            match self.join_from_welcome(node, env, topic, read_at).await {
                Err(CoreError::IdentitiesNeeded(inboxes)) if rounds < MAX_IDENTITY_ROUNDS => {
                    rounds += 1;
                    self.refresh_identities(node, &inboxes).await?;
                }
                other => return other,
            }
        }
    }

    /// Moves the cursor of `topic` past `env` in a transaction of its own.
    async fn advance(&self, topic: &Topic, env: &OriginatorEnvelope) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        db::cursors::advance(&mut *tx, topic, env.originator_id, env.sequence_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The welcome a pointer names: the first envelope on the shared welcome topic whose bytes
    /// hash to the pointer's id (anything else there is ignored).
    async fn shared_welcome(&self, node: &NodeIdentity, id: &[u8]) -> Result<Vec<u8>, CoreError> {
        let topic = Topic::new(TopicKind::Welcomes, id.to_vec())?;
        let page = self
            .transport
            .query(QueryRequest {
                topics: vec![TopicCursor {
                    topic: Some(topic.to_proto()),
                    cursor: Some(Cursor::default()),
                }],
                limit: 0,
            })
            .await?;
        for env in &page.envelopes {
            if node.verify(env).is_err() {
                continue;
            }
            if let Ok(Payload::Welcome(w)) = decode_payload(env) {
                if <[u8; 32]>::from(Sha256::digest(&w.mls_message)) == id {
                    return Ok(w.mls_message);
                }
            }
        }
        Err(CoreError::NodeInvalid(
            "a welcome pointer names a welcome the node does not have".into(),
        ))
    }

    /// Joins the group a welcome is for; false when it was already joined.
    async fn join_from_welcome(
        &self,
        node: &NodeIdentity,
        env: &OriginatorEnvelope,
        topic: &Topic,
        read_at: Instant,
    ) -> Result<bool, CoreError> {
        let Payload::Welcome(welcome) = decode_payload(env)? else {
            return Err(CoreError::NodeInvalid(
                "welcome topic holds something else".into(),
            ));
        };
        let bytes = if welcome.mls_message.is_empty() {
            self.shared_welcome(node, &welcome.shared_welcome).await?
        } else {
            welcome.mls_message
        };
        let message = MlsMessageIn::tls_deserialize_exact(bytes.as_slice())
            .map_err(|e| CoreError::MlsUndecodable(e.to_string()))?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(CoreError::MlsUndecodable("not a welcome".into()));
        };
        let mut tx = self.write_tx().await?;
        let staged = {
            let provider = MlsProvider::new(&mut tx);
            StagedWelcome::new_from_welcome(&provider, &join_config(), welcome, None)
                .map_err(|e| CoreError::WelcomeRejected(e.to_string()))?
        };
        let group_id = staged.group_context().group_id().as_slice().to_vec();
        let name = GroupMetadata::from_extensions(staged.group_context().extensions())?.name;
        if db::conversations::exists(&mut *tx, &group_id).await? {
            drop(tx);
            self.advance(topic, env).await?;
            return Ok(false);
        }
        let leaves = staged
            .members()
            .map(|m| {
                Ok((
                    credential_inbox(&m.credential)?,
                    InstallationKey::from_slice(&m.signature_key)?,
                ))
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        // A group may still hold a revoked installation until its next commit removes it:
        // joining it anyway is what lets that commit come. The member who sent this welcome
        // (its committer) must be associated, though.
        let sender = staged.welcome_sender().map_err(mls_op)?;
        let sender = (
            credential_inbox(sender.credential())?,
            InstallationKey::from_slice(sender.signature_key().as_slice())?,
        );
        let point = Point::of(env);
        self.check_leaves_at(&[sender], &point, read_at, false)
            .await?;
        self.check_leaves_at(&leaves, &point, read_at, true).await?;
        // Through the transaction: never wait for the read pool while holding the writer.
        let (me, _) = db::installation::registration(&mut *tx)
            .await?
            .ok_or(CoreError::NotRegistered)?;
        let mut inboxes: Vec<InboxId> = leaves.iter().map(|(i, _)| *i).collect();
        inboxes.sort();
        inboxes.dedup();
        let dm_peer = dm_peer_of(&group_id, &inboxes, &me)?;
        // A group joined again (after a removal) is a new state under the same id.
        self.store.groups.forget(&group_id);
        let epoch = {
            let provider = MlsProvider::new(&mut tx);
            staged
                .into_group(&provider)
                .map_err(|e| CoreError::WelcomeRejected(e.to_string()))?
                .epoch()
                .as_u64()
        };
        // Whoever invited this person decides where the conversation goes: their own
        // installations and allowed inboxes to the list, blocked ones nowhere, strangers to
        // Requests.
        let inviter = sender.0;
        let consent = if inviter == me {
            db::Consent::Allowed
        } else {
            db::consent::of_inbox(&mut *tx, &inviter).await?
        };
        let new = NewConversation {
            group_id: &group_id,
            kind: match dm_peer {
                Some(_) => ConversationKind::Dm,
                None => ConversationKind::Group,
            },
            name: name.as_deref().filter(|_| dm_peer.is_none()),
            dm_peer: dm_peer.as_ref(),
            created_at_ns: now_ns(),
            joined_epoch: i64::try_from(epoch).map_err(mls_op)?,
            consent,
            invited_by: Some(&inviter),
        };
        db::conversations::insert(&mut tx, &new).await?;
        if dm_peer.is_none() {
            // "… added you": the line this person sees first.
            let settings = GroupMetadata::default();
            let changes = crate::system::Changes {
                added: vec![me],
                removed: Vec::new(),
                left: Vec::new(),
            };
            let (inviter, key) = (&sender.0, &sender.1);
            crate::system::record(
                &mut tx,
                &group_id,
                (inviter, key),
                &settings,
                &settings,
                &changes,
                env.received_at_ns,
            )
            .await?;
        }
        db::cursors::advance(&mut *tx, topic, env.originator_id, env.sequence_id).await?;
        tx.commit().await?;
        self.conversations_changed.send_modify(|n| *n += 1);
        Ok(true)
    }
}

/// Whether a welcome's group is a DM, and with whom: an id of a DM's length is accepted only
/// for exactly two inboxes, one of them this one, from which the id derives; an id of a group's
/// length is a group. Anything else is refused, so a group can never stand in for a DM.
fn dm_peer_of(
    group_id: &[u8],
    inboxes: &[InboxId],
    me: &InboxId,
) -> Result<Option<InboxId>, CoreError> {
    match group_id.len() {
        GROUP_ID_LEN => Ok(None),
        DM_ID_LEN => match inboxes {
            [a, b] if (a == me || b == me) && dm_group_id(a, b) == group_id => {
                Ok(Some(if a == me { *b } else { *a }))
            }
            _ => Err(CoreError::WelcomeRejected(
                "a group under a DM's id that is not exactly that DM".into(),
            )),
        },
        n => Err(CoreError::WelcomeRejected(format!(
            "a group id of {n} bytes (a DM's has {DM_ID_LEN}, a group's {GROUP_ID_LEN})"
        ))),
    }
}
