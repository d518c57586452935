//! Own echoes (an attempt of this installation read back from the topic) and what a merged
//! commit changes for this installation.

use arx_proto::OriginatorEnvelope;
use openmls::prelude::MlsGroup;

use super::Target;
use crate::{
    client::Client,
    db::{self, intents::IntentKind, messages::Position},
    error::{CoreCode, CoreError},
    intents::{data_message, fail_intent, retry_intent},
    metadata::GroupMetadata,
    mls::{epoch_of, mls_op, MlsProvider},
    model::SyncSummary,
};

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// A commit just merged: who made it, the settings before it and the members it changed.
pub(super) struct Merged<'a> {
    pub committer: (&'a arx_identity::InboxId, &'a arx_identity::InstallationKey),
    pub before: &'a GroupMetadata,
    pub changes: crate::system::Changes,
    pub at_ns: i64,
}

/// The open intent an echo belongs to: (id, kind, data, epoch of its attempt).
pub(super) type EchoedIntent = (i64, IntentKind, Vec<u8>, Option<i64>);

impl Client {
    /// Applies the echo of an own attempt: a commit is merged (its welcome leaves after this
    /// transaction); a message is delivered if the group is still on the epoch it was encrypted
    /// for, and otherwise goes back to be encrypted again (members drop the stale copy).
    /// `group` is the group as the transaction holds it.
    pub(super) async fn apply_own_echo(
        &self,
        tx: &mut Tx,
        group: &mut MlsGroup,
        target: &Target<'_>,
        env: &OriginatorEnvelope,
        intent: &EchoedIntent,
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let (id, kind, data, epoch) = intent;
        if *epoch != Some(epoch_of(group)?) {
            return retry_intent(tx, *id).await;
        }
        match kind {
            IntentKind::Leave => {
                // Asked to leave: done when a commit removes this installation (after_commit).
                let hash = arx_identity::client_envelope_hash(&env.client_envelope);
                let _ = db::intents::mark_published(&mut **tx, *id, &hash).await?;
                return Ok(());
            }
            IntentKind::Message => {
                let position = Position {
                    originator_id: env.originator_id,
                    sequence_id: env.sequence_id,
                };
                let message = data_message(data)?;
                db::messages::mark_sent(&mut **tx, message, Some(position)).await?;
                self.note_delivery(message);
            }
            _ if group.pending_commit().is_some() => {
                let before = GroupMetadata::of_group(group)?;
                let changes = group
                    .pending_commit()
                    .map(|staged| crate::system::Changes::of(group, staged));
                let after = {
                    let provider = MlsProvider::new(tx);
                    group.merge_pending_commit(&provider).map_err(mls_op)?;
                    GroupMetadata::of_group(group)?
                };
                summary.commits += 1;
                // Read through this transaction: waiting for the read pool while holding the
                // writer could deadlock with readers waiting for the writer.
                let (me, _) = db::installation::registration(&mut **tx)
                    .await?
                    .ok_or(CoreError::NotRegistered)?;
                let key = self.installation_key();
                let merged = Merged {
                    committer: (&me, &key),
                    before: &before,
                    changes: changes.unwrap_or(crate::system::Changes {
                        added: Vec::new(),
                        removed: Vec::new(),
                        left: Vec::new(),
                    }),
                    at_ns: env.received_at_ns,
                };
                self.after_commit(tx, target.group_id, &merged, &after, false)
                    .await?;
                crate::intents::fault_point("commit.applying");
            }
            _ => return retry_intent(tx, *id).await,
        }
        // Done: the payload is not needed any more (its hash stays for the echo's duplicates).
        let _ = db::intents::complete(&mut **tx, *id).await?;
        Ok(())
    }

    /// Records what a merged commit changed: the group's name and timer, a system line for each
    /// change, and whether this installation is out (then its open intents cannot complete). A pending leave whose proposal the commit
    /// did not carry is asked again on the new epoch.
    pub(super) async fn after_commit(
        &self,
        tx: &mut Tx,
        group_id: &[u8],
        commit: &Merged<'_>,
        after: &GroupMetadata,
        removed: bool,
    ) -> Result<(), CoreError> {
        db::conversations::set_group_name(&mut **tx, group_id, after.name.as_deref()).await?;
        let timer_ns = after
            .disappear_after_ms
            .and_then(|ms| i64::try_from(ms.saturating_mul(1_000_000)).ok());
        sqlx::query("UPDATE conversations SET disappear_after_ns = $1 WHERE group_id = $2")
            .bind(timer_ns)
            .bind(group_id)
            .execute(&mut **tx)
            .await?;
        // A DM's members never change (its creation and revoked leaves are not news).
        let changes = match db::conversations::kind(&mut **tx, group_id).await? {
            Some(db::ConversationKind::Dm) => crate::system::Changes {
                added: Vec::new(),
                removed: Vec::new(),
                left: Vec::new(),
            },
            _ => commit.changes.clone(),
        };
        crate::system::record(
            tx,
            group_id,
            (commit.committer.0, commit.committer.1),
            commit.before,
            after,
            &changes,
            commit.at_ns,
        )
        .await?;
        if removed {
            let _ = db::conversations::mark_out(&mut **tx, group_id).await?;
            db::intents::complete_leaves(&mut **tx, group_id).await?;
            for id in db::intents::open_ids(&mut **tx, group_id).await? {
                let code = CoreCode::NotAMember.into();
                fail_intent(tx, id, code, "removed from the group first").await?;
            }
        } else if let Some(id) = db::intents::published_leave(&mut **tx, group_id).await? {
            retry_intent(tx, id).await?;
        }
        Ok(())
    }
}
