//! Intents: everything this installation publishes to a group (a message, adding or removing
//! members) is first a durable row, then attempts built from that row.
//!
//! States move only forward (see [`crate::db::intents`] for each guarded transition):
//! `to_publish → published → committed`, or `→ failed`. An attempt is prepared (MLS state and
//! the intent's payload written in one transaction; for a message sent with nothing ahead of it
//! in its group, the transaction that stores it), published, and recognized by its payload hash
//! when its echo is read back in topic order. A commit that loses to another member's commit,
//! or a message echoed in an older epoch than the group is in by then, goes back to
//! `to_publish` and is rebuilt on the current epoch, at most [`MAX_ATTEMPTS`] times. One commit
//! is in flight per group: intents after it wait for its echo. After a crash at any point, the
//! next run of the group's intents (every sync does one) finds each intent where it was and
//! completes it exactly once.

mod attempt;
mod build;

use std::{collections::HashMap, sync::OnceLock, time::Duration};

use arx_identity::{InboxId, InstallationKey, Topic};
use arx_proto::OriginatorEnvelope;

pub(crate) use attempt::{encrypt_message, record_attempt, Prepared};
pub(crate) use build::{installations_data, role_data};

use crate::{
    client::{now_ns, Client},
    db::{
        self,
        intents::{IntentKind, OpenState},
        IntentState,
    },
    error::{CoreError, ErrorCode},
    model::SyncSummary,
    sync::{Target, APPLY_BATCH},
    transport::NodeIdentity,
};

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// Attempts an intent gets before it fails (each lost race or stale echo costs one).
pub(crate) const MAX_ATTEMPTS: i64 = 5;

/// Installations an add could not reach, with the reason, per intent built in a run.
pub(crate) type AddReports = HashMap<i64, Vec<(InstallationKey, String)>>;

/// The data of an add or remove intent: the inbox ids, 32 bytes each.
pub(crate) fn inboxes_data(inboxes: &[InboxId]) -> Vec<u8> {
    inboxes.iter().flat_map(|i| i.as_bytes().to_vec()).collect()
}

pub(crate) fn data_inboxes(data: &[u8]) -> Result<Vec<InboxId>, CoreError> {
    data.chunks(32)
        .map(|c| InboxId::from_slice(c).map_err(Into::into))
        .collect()
}

/// The data of a message intent: its message id (8 bytes, big endian).
pub(crate) fn message_data(message_id: i64) -> Vec<u8> {
    message_id.to_be_bytes().to_vec()
}

pub(crate) fn data_message(data: &[u8]) -> Result<i64, CoreError> {
    let bytes: [u8; 8] = data
        .try_into()
        .map_err(|_| CoreError::corrupt("intents.data", "a message intent without a message id"))?;
    Ok(i64::from_be_bytes(bytes))
}

/// Fault injection for crash tests: when `ARX_FAULT_PAUSE_AT` names this point, the process
/// says so on stderr and stops here for good, so a test can SIGKILL it at exactly this point.
pub(crate) fn fault_point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("ARX_FAULT_PAUSE_AT").ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("arx: paused at fault point {name}");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// Records an intent (inside the caller's transaction).
pub(crate) async fn insert_intent(
    tx: &mut Tx,
    group_id: &[u8],
    kind: IntentKind,
    data: &[u8],
) -> Result<i64, CoreError> {
    db::intents::insert(&mut **tx, group_id, kind, data, now_ns()).await
}

/// Marks an open intent failed (and its message, if it is one).
pub(crate) async fn fail_intent(
    tx: &mut Tx,
    id: i64,
    code: ErrorCode,
    message: &str,
) -> Result<(), CoreError> {
    if let Some((IntentKind::Message, data)) =
        db::intents::fail(&mut **tx, id, code, message).await?
    {
        db::messages::mark_failed(&mut **tx, data_message(&data)?).await?;
    }
    Ok(())
}

/// Sends an open intent back for a new attempt on the current epoch.
pub(crate) async fn retry_intent(tx: &mut Tx, id: i64) -> Result<(), CoreError> {
    let _ = db::intents::retry(&mut **tx, id).await?;
    Ok(())
}

impl Client {
    /// The lock that serializes one group's sync and intents.
    pub(crate) fn group_lock(&self, group_id: &[u8]) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .group_locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(group_id.to_vec()).or_default().clone()
    }

    /// Where intent `id` is.
    pub async fn intent_state(&self, id: i64) -> Result<IntentState, CoreError> {
        db::intents::state(&self.db, id)
            .await?
            .ok_or_else(|| CoreError::InvalidInput(format!("no intent {id}")))
    }

    /// Brings the group up to date, sends welcomes of merged own commits, and works through
    /// its open intents in order until none is left to publish (or a commit waits for its
    /// echo). Returns, per add intent built in this run, the installations it could not reach.
    pub(crate) async fn process_group(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        summary: &mut SyncSummary,
    ) -> Result<AddReports, CoreError> {
        self.run_group(node, group_id, summary, true).await
    }

    /// [`Client::process_group`], reading the group first only when `read_first`. Messages are
    /// sent without reading first (one sent on an ended epoch is encrypted again when its echo
    /// shows it); a change is always built on the epoch reached by reading the group.
    pub(crate) async fn run_group(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        summary: &mut SyncSummary,
        read_first: bool,
    ) -> Result<AddReports, CoreError> {
        let lock = self.group_lock(group_id);
        let _guard = lock.lock().await;
        let mut reports = AddReports::new();
        let mut read = read_first;
        loop {
            if read && db::intents::group_is_readable(&self.db, group_id).await? {
                self.sync_group_locked(node, group_id, summary).await?;
            }
            self.send_welcomes(group_id).await?;
            let Some(intent) = db::intents::next(&self.db, group_id).await? else {
                return Ok(reports);
            };
            if intent.state == OpenState::Published {
                if read {
                    // A change the node accepted whose echo is not readable yet.
                    return Ok(reports);
                }
                read = true;
                continue;
            }
            let is_message = intent.kind == IntentKind::Message;
            if !is_message && !read {
                read = true;
                continue;
            }
            self.attempt(node, group_id, intent, &mut reports).await?;
            // After a change, read its echo; after a message, go on.
            read = !is_message;
        }
    }

    /// Applies envelopes that the live subscription delivered for a group, without asking the
    /// node for them again, then acts on the group's intents as a sync would. Returns false,
    /// having applied nothing, when the group may not be read yet: the caller then reads that
    /// topic through Query for the rest of the subscription.
    ///
    /// Why this is in order: a subscription delivers every envelope of its topics after the
    /// cursors it was opened with, in order and without gaps (a subscriber that falls behind is
    /// ended with `subscribe.lagged`, never skipped), and the local cursor only moves by
    /// applying envelopes in order. So the delivered envelopes past the local cursor are
    /// exactly the next ones, as long as none delivered before was left unapplied, which is
    /// what the `false` answer protects.
    pub(crate) async fn apply_streamed(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        envelopes: &[OriginatorEnvelope],
        summary: &mut SyncSummary,
    ) -> Result<bool, CoreError> {
        let topic = Topic::group(group_id)?;
        {
            let lock = self.group_lock(group_id);
            let _guard = lock.lock().await;
            if !db::intents::group_is_readable(&self.db, group_id).await? {
                return Ok(false);
            }
            let cursor = db::cursors::get(&self.db, &topic).await?;
            let fresh: Vec<OriginatorEnvelope> = envelopes
                .iter()
                .filter(|env| {
                    let seen = cursor.sequence_ids.get(&env.originator_id).copied();
                    seen.is_none_or(|seen| env.sequence_id > seen)
                })
                .cloned()
                .collect();
            let target = Target {
                node,
                group_id,
                topic: &topic,
                read_at: std::time::Instant::now(),
            };
            for batch in fresh.chunks(APPLY_BATCH) {
                self.apply_batch(&target, batch, summary).await?;
            }
        }
        self.run_group(node, group_id, summary, false).await?;
        Ok(true)
    }
}
