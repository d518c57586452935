//! Applying one envelope of a group topic inside the batch's transaction: own echoes, other
//! members' commits (checked before they are merged), application messages and leave requests.

use arx_identity::{client_envelope_hash, InboxId, InstallationKey};
use arx_proto::{client_envelope::Payload, OriginatorEnvelope};
use openmls::prelude::{
    tls_codec::Deserialize as _, ApplicationMessage, ContentType, LeafNodeIndex, MlsGroup,
    MlsMessageIn, ProcessedMessageContent, Proposal, ProtocolMessage, QueuedProposal, Sender,
    StagedCommit,
};

use super::{decode_payload, Applying, Target};
use crate::{
    client::now_ns,
    client::Client,
    db::{
        self,
        conversations::ConversationKind,
        intents::IntentKind,
        messages::{Position, Received},
    },
    dm::creation_claimant,
    error::{CoreCode, CoreError},
    identities::Point,
    metadata::{check_commit, GroupMetadata},
    mls::{credential_inbox, mls_op, mls_storage, MlsProvider},
    model::SyncSummary,
};

/// Counts `env` as skipped and records why, in the caller's transaction.
async fn skipped(
    tx: &mut Tx,
    target: &Target<'_>,
    env: &OriginatorEnvelope,
    err: &CoreError,
    summary: &mut SyncSummary,
) -> Result<(), CoreError> {
    tracing::debug!(code = %err.code(), "envelope skipped: {err}");
    summary.skipped += 1;
    db::skipped::record(&mut **tx, target.topic, env, err, now_ns()).await
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// Who sent a processed message: its leaf's installation key and credential inbox.
struct From {
    key: Option<Vec<u8>>,
    inbox: Option<InboxId>,
}

impl Client {
    /// Applies one envelope of the group inside the caller's transaction (which advances the
    /// cursor past it). Every change to the MLS group goes through `applying.group`, so the
    /// copy carried to the next envelope is always what the transaction holds.
    pub(super) async fn apply_group_envelope(
        &self,
        tx: &mut Tx,
        applying: &mut Applying,
        target: &Target<'_>,
        joined_epoch: i64,
        env: &OriginatorEnvelope,
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let group_id = target.group_id;
        let hash = client_envelope_hash(&env.client_envelope);
        if db::own_payloads::contains(&mut **tx, &hash).await? {
            // The echo of an own attempt: the current one of an intent, or a superseded one.
            if let Some(intent) = db::intents::open_by_hash(&mut **tx, &hash).await? {
                let mut group = applying.take_group(self, tx, group_id).await?;
                self.apply_own_echo(tx, &mut group, target, env, &intent, summary)
                    .await?;
                applying.group = Some(group);
            }
            return Ok(());
        }

        let parsed = decode_payload(env).ok().and_then(|p| match p {
            Payload::GroupMessage(m) => {
                MlsMessageIn::tls_deserialize_exact(m.mls_message.as_slice())
                    .ok()
                    .and_then(|m| ProtocolMessage::try_from(m).ok())
            }
            _ => None,
        });
        let Some(message) = parsed else {
            let err = CoreError::MlsUndecodable("not an MLS group message".into());
            return skipped(tx, target, env, &err, summary).await;
        };
        if i64::try_from(message.epoch().as_u64()).unwrap_or(i64::MAX) < joined_epoch {
            // Sent before this installation joined: not decryptable, not for it.
            summary.skipped += 1;
            return Ok(());
        }

        let mut group = applying.take_group(self, tx, group_id).await?;
        if message.content_type() == ContentType::Commit && group.epoch().as_u64() == 0 {
            // Nobody else holds this group at epoch 0: the only commit that can come before our
            // creation commit is a rival creation of the same DM, which carries a creation
            // claim signed by one of the DM's inboxes (it cannot be decrypted here).
            let rival = self.rival_dm_creation(tx, target, env, &message).await;
            let outcome = match rival {
                Ok(true) => self.lose_dm_creation(tx, &mut group, group_id).await,
                Ok(false) => {
                    let err = CoreError::CommitRefused(
                        "a commit at epoch 0 without a valid creation claim".into(),
                    );
                    skipped(tx, target, env, &err, summary).await
                }
                Err(err) => Err(err),
            };
            applying.group = Some(group);
            return outcome;
        }
        if message.content_type() == ContentType::Application && message.epoch() != group.epoch() {
            // Encrypted on an epoch a commit ordered before it has ended: every member drops
            // it, and its sender encrypts it again on the current epoch.
            tracing::debug!("application message from an ended epoch; skipped");
            applying.group = Some(group);
            summary.skipped += 1;
            return Ok(());
        }
        let processed = {
            let provider = MlsProvider::new(tx);
            match group.process_message(&provider, message) {
                Ok(processed) => processed,
                Err(err) => {
                    // The group is loaded again for the next envelope: after a failure the copy
                    // in memory need not match what is stored.
                    let err = CoreError::MlsUndecodable(format!("cannot be processed: {err}"));
                    return skipped(tx, target, env, &err, summary).await;
                }
            }
        };
        let from = From {
            key: match processed.sender() {
                Sender::Member(index) => group
                    .members()
                    .find(|m| m.index == *index)
                    .map(|m| m.signature_key.clone()),
                _ => None,
            },
            inbox: credential_inbox(processed.credential()).ok(),
        };
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(_)
                if self.sent_by_revoked(&from, env).await =>
            {
                let err = CoreError::CommitRefused(
                    "a message from an installation its inbox revoked".into(),
                );
                skipped(tx, target, env, &err, summary).await?;
            }
            ProcessedMessageContent::ApplicationMessage(app) => {
                let stored = self
                    .store_message(tx, group_id, env, &hash, &from, app)
                    .await?;
                if stored {
                    applying.last_activity = Some(env.received_at_ns);
                    summary.messages += 1;
                } else {
                    summary.skipped += 1;
                }
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let kind = db::conversations::kind(&mut **tx, group_id).await?;
                let is_dm = kind == Some(ConversationKind::Dm);
                match self
                    .check_staged_commit(is_dm, &group, target, env, &from, &staged)
                    .await
                {
                    Ok(()) => {
                        // Valid, and ordered before ours: our own change (if any) loses and is
                        // rebuilt on the epoch this commit makes.
                        if let Some(intent) =
                            db::intents::prepared_change(&mut **tx, group_id).await?
                        {
                            crate::intents::retry_intent(tx, intent).await?;
                        }
                        let removed = staged.self_removed();
                        let before = GroupMetadata::of_group(&group)?;
                        let changes = crate::system::Changes::of(&group, &staged);
                        let after = {
                            let provider = MlsProvider::new(tx);
                            group
                                .merge_staged_commit(&provider, *staged)
                                .map_err(mls_op)?;
                            GroupMetadata::of_group(&group)?
                        };
                        summary.commits += 1;
                        // check_staged_commit made sure the commit names its committer.
                        let (Some(inbox), Some(key)) = (&from.inbox, &from.key) else {
                            return Err(CoreError::CommitRefused("from outside the group".into()));
                        };
                        let key = InstallationKey::from_slice(key)?;
                        let merged = super::echo::Merged {
                            committer: (inbox, &key),
                            before: &before,
                            changes,
                            at_ns: env.received_at_ns,
                        };
                        self.after_commit(tx, group_id, &merged, &after, removed)
                            .await?;
                        crate::intents::fault_point("commit.applying");
                    }
                    // Checks that could not be made (identity logs to fetch, the node
                    // unreachable): the transaction is rolled back and tried again.
                    Err(err) if err.stops_sync() => return Err(err),
                    Err(err) => skipped(tx, target, env, &err, summary).await?,
                }
            }
            ProcessedMessageContent::ProposalMessage(proposal) => {
                if !self
                    .keep_leave_request(tx, &mut group, group_id, *proposal)
                    .await?
                {
                    summary.skipped += 1;
                }
            }
            _ => summary.skipped += 1,
        }
        applying.group = Some(group);
        Ok(())
    }

    /// Whether the sender of a message is an installation its inbox revoked before the message
    /// (as far as the identity logs this engine has are concerned; never fetches).
    async fn sent_by_revoked(&self, from: &From, env: &OriginatorEnvelope) -> bool {
        let (Some(inbox), Some(key)) = (&from.inbox, &from.key) else {
            return false;
        };
        let Ok(key) = InstallationKey::from_slice(key) else {
            return false;
        };
        self.identities
            .known_revoked(inbox, &key, &Point::of(env))
            .await
    }

    /// Whether a commit at epoch 0 is a rival creation of this DM, ordered before ours: we
    /// have a creation commit waiting, this is a DM, and the commit carries a creation claim
    /// signed by an installation of the peer or of our own inbox at the commit's point.
    async fn rival_dm_creation(
        &self,
        tx: &mut Tx,
        target: &Target<'_>,
        env: &OriginatorEnvelope,
        message: &ProtocolMessage,
    ) -> Result<bool, CoreError> {
        let group_id = target.group_id;
        if db::intents::prepared_change(&mut **tx, group_id)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        let Some(peer) = db::conversations::dm_peer(&mut **tx, group_id).await? else {
            return Ok(false);
        };
        let ProtocolMessage::PrivateMessage(private) = message else {
            return Ok(false);
        };
        let Some(key) = creation_claimant(private.aad(), group_id) else {
            return Ok(false);
        };
        if key == self.installation_key() {
            return Ok(false);
        }
        // Through the transaction: never wait for the read pool while holding the writer.
        let (me, _) = db::installation::registration(&mut **tx)
            .await?
            .ok_or(CoreError::NotRegistered)?;
        let point = Point::of(env);
        for inbox in [peer, me] {
            let state = self
                .identities
                .state_at(&inbox, &point, target.read_at)
                .await?;
            if state.is_some_and(|s| s.has_installation(&key)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The other side's creation of this DM came before ours: ours is given up (its author
    /// joins the other side's DM from the welcome).
    async fn lose_dm_creation(
        &self,
        tx: &mut Tx,
        group: &mut MlsGroup,
        group_id: &[u8],
    ) -> Result<(), CoreError> {
        let Some(intent) = db::intents::prepared_change(&mut **tx, group_id).await? else {
            return Ok(());
        };
        {
            let provider = MlsProvider::new(tx);
            group
                .clear_pending_commit(openmls_traits::OpenMlsProvider::storage(&provider))
                .map_err(mls_storage)?;
        }
        crate::intents::fail_intent(
            tx,
            intent,
            CoreCode::DmConverging.into(),
            "the other side created this DM first",
        )
        .await
    }

    /// Stores another member's application message; false when its sender is not a member
    /// leaf with a credential.
    async fn store_message(
        &self,
        tx: &mut Tx,
        group_id: &[u8],
        env: &OriginatorEnvelope,
        hash: &[u8],
        from: &From,
        app: ApplicationMessage,
    ) -> Result<bool, CoreError> {
        let (Some(key), Some(inbox)) = (&from.key, &from.inbox) else {
            return Ok(false);
        };
        let content = crate::content::decode_content(app.into_bytes().as_slice());
        let decoded = crate::content::decode(&content);
        let received = Received {
            group_id,
            sender_inbox: inbox,
            sender_installation: key,
            content: &content,
            received_at_ns: env.received_at_ns,
            payload_hash: hash,
            position: Position {
                originator_id: env.originator_id,
                sequence_id: env.sequence_id,
            },
            hidden: !decoded.is_shown(),
        };
        let message_id = db::messages::insert_received(&mut **tx, &received).await?;
        let action = db::effects::Action {
            group_id,
            sender: inbox,
            message_id,
            at_ns: env.received_at_ns,
        };
        db::effects::apply(tx, &action, &decoded).await?;
        Ok(true)
    }

    /// Checks another member's commit before it is merged: the committer, its new leaf (if it
    /// updated it) and every added leaf must be installations associated with the inbox their
    /// credential names; a DM's members never change; the committer must be allowed to make
    /// each change by the settings in force.
    async fn check_staged_commit(
        &self,
        is_dm: bool,
        group: &MlsGroup,
        target: &Target<'_>,
        env: &OriginatorEnvelope,
        from: &From,
        staged: &StagedCommit,
    ) -> Result<(), CoreError> {
        let (Some(committer), Some(key)) = (&from.inbox, &from.key) else {
            return Err(CoreError::CommitRefused("from outside the group".into()));
        };
        let mut leaves = vec![(*committer, InstallationKey::from_slice(key)?)];
        if let Some(leaf) = staged.update_path_leaf_node() {
            match (
                credential_inbox(leaf.credential()),
                InstallationKey::from_slice(leaf.signature_key().as_slice()),
            ) {
                (Ok(inbox), Ok(key)) => leaves.push((inbox, key)),
                _ => {
                    return Err(CoreError::InvalidCredential(
                        "the committer's new leaf".into(),
                    ))
                }
            }
        }
        for add in staged.add_proposals() {
            let leaf = add.add_proposal().key_package().leaf_node();
            leaves.push((
                credential_inbox(leaf.credential())?,
                InstallationKey::from_slice(leaf.signature_key().as_slice())?,
            ));
        }
        let point = Point::of(env);
        let revoked = self
            .revoked_removals(group, staged, &point, target.read_at)
            .await?;
        // A DM's two inboxes never change; only the leaves of revoked installations may go.
        let changes_members = staged.add_proposals().next().is_some()
            || staged
                .remove_proposals()
                .any(|r| !revoked.contains(&r.remove_proposal().removed()));
        if changes_members && is_dm {
            return Err(CoreError::CommitRefused(
                "a DM's members cannot change".into(),
            ));
        }
        let before = GroupMetadata::of_group(group)?;
        check_commit(group, &before, committer, staged, &revoked, is_dm)?;
        self.check_leaves_at(&leaves, &point, target.read_at, false)
            .await
    }

    /// The leaves a commit removes whose installation is no longer associated with its inbox at
    /// the commit's point (revoked): any member may remove those.
    async fn revoked_removals(
        &self,
        group: &MlsGroup,
        staged: &StagedCommit,
        point: &Point,
        read_at: std::time::Instant,
    ) -> Result<std::collections::BTreeSet<LeafNodeIndex>, CoreError> {
        let mut revoked = std::collections::BTreeSet::new();
        let mut needed = Vec::new();
        for remove in staged.remove_proposals() {
            let leaf = remove.remove_proposal().removed();
            let Some(member) = group.members().find(|m| m.index == leaf) else {
                continue;
            };
            let (Ok(inbox), Ok(key)) = (
                credential_inbox(&member.credential),
                InstallationKey::from_slice(&member.signature_key),
            ) else {
                continue;
            };
            match self.identities.state_at(&inbox, point, read_at).await {
                Ok(state) => {
                    if !state.is_some_and(|s| s.has_installation(&key)) {
                        revoked.insert(leaf);
                    }
                }
                Err(CoreError::IdentitiesNeeded(more)) => needed.extend(more),
                Err(other) => return Err(other),
            }
        }
        if !needed.is_empty() {
            return Err(CoreError::IdentitiesNeeded(needed));
        }
        Ok(revoked)
    }

    /// Keeps a member's request to leave (a proposal removing its own leaf), to be committed by
    /// the member chosen for it (which queues that commit if it is this installation). Other
    /// proposals are not acted on: false.
    async fn keep_leave_request(
        &self,
        tx: &mut Tx,
        group: &mut MlsGroup,
        group_id: &[u8],
        proposal: QueuedProposal,
    ) -> Result<bool, CoreError> {
        let self_remove = matches!(
            (proposal.proposal(), proposal.sender()),
            (Proposal::Remove(r), Sender::Member(l)) if r.removed() == *l
        );
        if !self_remove {
            return Ok(false);
        }
        let committer = {
            let provider = MlsProvider::new(tx);
            group
                .store_pending_proposal(
                    openmls_traits::OpenMlsProvider::storage(&provider),
                    proposal,
                )
                .map_err(mls_storage)?;
            leave_committer(group)?
        };
        if committer == Some(group.own_leaf_index())
            && !db::intents::commit_pending_queued(&mut **tx, group_id).await?
        {
            crate::intents::insert_intent(tx, group_id, IntentKind::CommitPending, &[]).await?;
        }
        Ok(true)
    }
}

/// The leaves of members that asked to leave (a remove proposal a leaf sent about itself).
pub(crate) fn leave_requests(group: &MlsGroup) -> Vec<LeafNodeIndex> {
    group
        .pending_proposals()
        .filter_map(|p| match (p.proposal(), p.sender()) {
            (Proposal::Remove(r), Sender::Member(l)) if r.removed() == *l => Some(*l),
            _ => None,
        })
        .collect()
}

/// The inbox of the member at `leaf`.
pub(crate) fn inbox_at(group: &MlsGroup, leaf: LeafNodeIndex) -> Option<InboxId> {
    group
        .members()
        .find(|m| m.index == leaf)
        .and_then(|m| credential_inbox(&m.credential).ok())
}

/// The member that commits the pending leave requests of a group: the first admin by leaf
/// index that is not leaving, else the first member that is not leaving.
fn leave_committer(group: &MlsGroup) -> Result<Option<LeafNodeIndex>, CoreError> {
    let settings = GroupMetadata::of_group(group)?;
    let leaving: Vec<InboxId> = leave_requests(group)
        .into_iter()
        .filter_map(|l| inbox_at(group, l))
        .collect();
    let mut staying: Vec<(LeafNodeIndex, bool)> = group
        .members()
        .filter_map(|m| {
            let inbox = credential_inbox(&m.credential).ok()?;
            (!leaving.contains(&inbox)).then_some((m.index, settings.is_admin(&inbox)))
        })
        .collect();
    staying.sort_by_key(|(leaf, admin)| (!admin, leaf.u32()));
    Ok(staying.first().map(|(leaf, _)| *leaf))
}
