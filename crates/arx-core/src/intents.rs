//! Intents: everything this installation publishes to a group (a message, adding or removing
//! members) is first a durable row, then attempts built from that row.
//!
//! States move only forward, guarded in SQL: `to_publish → published → committed`, or
//! `→ failed`. An attempt is prepared (MLS state and the intent's payload written in one
//! transaction; for a message sent with nothing ahead of it in its group, the transaction that
//! stores it), published, and recognized by its payload hash when its echo is read back in
//! topic order. A commit that loses to another member's commit, or a message echoed in an older
//! epoch than the group is in by then, goes back to `to_publish` and is rebuilt on the current
//! epoch, at most [`MAX_ATTEMPTS`] times. One commit is in flight per group: intents after it
//! wait for its echo. After a crash at any point, the next run of the group's intents (every
//! sync does one) finds each intent where it was and completes it exactly once.

use std::{collections::HashMap, sync::OnceLock, time::Duration};

use arx_identity::{client_envelope_hash, InboxId, InstallationKey, Topic, TopicKind};
use arx_proto::{
    client_envelope::Payload, EncodedContent, GroupMessage, OriginatorEnvelope, Welcome,
};
use openmls::prelude::{
    tls_codec::Serialize as _, KeyPackage, LeafNodeIndex, MlsGroup, MlsMessageOut, Proposal, Sender,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider as _;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use crate::{
    client::Client,
    conversations::{credential_inbox, envelope, load_context, mls_err, SyncSummary},
    error::CoreError,
    metadata::{GroupMetadata, Role},
    mls::{self, MlsProvider},
    transport::NodeIdentity,
};

/// Welcome envelopes per publish (pointers are small; the shared copy is one).
const WELCOME_BATCH: usize = 200;

/// Attempts an intent gets before it fails (each lost race or stale echo costs one).
pub(crate) const MAX_ATTEMPTS: i64 = 5;
/// Waits before publishing again when the node rate-limits this client: 100 ms, doubling, up to
/// 1.6 s (3.1 s in all), then the error stands and the message waits for the next run.
const RATE_LIMIT_FIRST_WAIT: Duration = Duration::from_millis(100);
const RATE_LIMIT_LAST_WAIT: Duration = Duration::from_millis(1_600);

/// What an intent asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntentKind {
    Message,
    AddMembers,
    RemoveMembers,
    Rename,
    SetRole,
    Leave,
    CommitPending,
}

impl IntentKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::AddMembers => "add_members",
            Self::RemoveMembers => "remove_members",
            Self::Rename => "rename",
            Self::SetRole => "set_role",
            Self::Leave => "leave",
            Self::CommitPending => "commit_pending",
        }
    }

    fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "message" => Ok(Self::Message),
            "add_members" => Ok(Self::AddMembers),
            "remove_members" => Ok(Self::RemoveMembers),
            "rename" => Ok(Self::Rename),
            "set_role" => Ok(Self::SetRole),
            "leave" => Ok(Self::Leave),
            "commit_pending" => Ok(Self::CommitPending),
            other => Err(CoreError::Mls(format!("unknown intent kind {other}"))),
        }
    }
}

/// Where an intent is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentState {
    ToPublish,
    Published,
    Committed,
    Failed { code: String, message: String },
}

/// Installations an add could not reach, with the reason, per intent built in a run.
pub(crate) type AddReports = HashMap<i64, Vec<(InstallationKey, String)>>;

/// An open intent as stored.
struct OpenIntent {
    id: i64,
    kind: IntentKind,
    data: Vec<u8>,
    state: String,
    payload: Option<Vec<u8>>,
    epoch: Option<i64>,
    attempts: i64,
}

/// A prepared attempt: the client envelope to publish.
pub(crate) struct Prepared {
    payload: Vec<u8>,
    hash: [u8; 32],
}

pub(crate) fn inboxes_data(inboxes: &[InboxId]) -> Vec<u8> {
    inboxes.iter().flat_map(|i| i.as_bytes().to_vec()).collect()
}

fn data_inboxes(data: &[u8]) -> Result<Vec<InboxId>, CoreError> {
    data.chunks(32)
        .map(|c| InboxId::from_slice(c).map_err(Into::into))
        .collect()
}

pub(crate) fn message_data(message_id: i64) -> Vec<u8> {
    message_id.to_be_bytes().to_vec()
}

pub(crate) fn data_message(data: &[u8]) -> Result<i64, CoreError> {
    let bytes: [u8; 8] = data
        .try_into()
        .map_err(|_| CoreError::Mls("message intent without a message id".into()))?;
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

impl Client {
    /// The lock that serializes one group's sync and intents.
    pub(crate) fn group_lock(&self, group_id: &[u8]) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .group_locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(group_id.to_vec()).or_default().clone()
    }

    /// Records an intent (inside the caller's transaction).
    pub(crate) async fn insert_intent(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        group_id: &[u8],
        kind: IntentKind,
        data: &[u8],
    ) -> Result<i64, CoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO intents (group_id, kind, data, state, created_at_ns) \
             VALUES ($1, $2, $3, 'to_publish', $4) RETURNING id",
        )
        .bind(group_id)
        .bind(kind.as_str())
        .bind(data)
        .bind(crate::client::now_ns())
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Where intent `id` is.
    pub async fn intent_state(&self, id: i64) -> Result<IntentState, CoreError> {
        let row: Option<(String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT state, error_code, error FROM intents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db)
                .await?;
        let (state, code, message) =
            row.ok_or_else(|| CoreError::InvalidInput(format!("no intent {id}")))?;
        Ok(match state.as_str() {
            "to_publish" => IntentState::ToPublish,
            "published" => IntentState::Published,
            "committed" => IntentState::Committed,
            _ => IntentState::Failed {
                code: code.unwrap_or_else(|| "core.intent_failed".into()),
                message: message.unwrap_or_default(),
            },
        })
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
            if read && self.may_read_group(group_id).await? {
                self.sync_group_locked(node, group_id, summary).await?;
            }
            self.send_welcomes(group_id).await?;
            let Some(intent) = self.next_intent(group_id).await? else {
                return Ok(reports);
            };
            if intent.state == "published" {
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
            if !self.may_read_group(group_id).await? {
                return Ok(false);
            }
            let cursor = self.cursor(&topic).await?;
            let fresh: Vec<OriginatorEnvelope> = envelopes
                .iter()
                .filter(|env| {
                    let seen = cursor.sequence_ids.get(&env.originator_id).copied();
                    seen.is_none_or(|seen| env.sequence_id > seen)
                })
                .cloned()
                .collect();
            for batch in fresh.chunks(crate::conversations::APPLY_BATCH) {
                self.apply_batch(node, group_id, &topic, batch, summary)
                    .await?;
            }
        }
        self.run_group(node, group_id, summary, false).await?;
        Ok(true)
    }

    /// False only for a group this installation just created whose creation commit is not
    /// prepared yet: whatever is on its topic then (another side's DM creation) must count as
    /// a race once ours is pending, not be skipped before it.
    async fn may_read_group(&self, group_id: &[u8]) -> Result<bool, CoreError> {
        // Joined from a welcome, or a creation commit of ours was prepared (or done).
        let may: Option<bool> = sqlx::query_scalar(
            "SELECT c.joined_epoch > 0 OR EXISTS (SELECT 1 FROM intents i \
             WHERE i.group_id = c.group_id AND i.kind <> 'message' \
             AND (i.payload IS NOT NULL OR i.state IN ('published', 'committed'))) \
             FROM conversations c WHERE c.group_id = $1",
        )
        .bind(group_id)
        .fetch_optional(&self.db)
        .await?;
        Ok(may.unwrap_or(false))
    }

    async fn current_epoch(&self, group_id: &[u8]) -> Result<i64, CoreError> {
        let mut conn = self.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        i64::try_from(load_context(&provider, group_id)?.epoch().as_u64()).map_err(mls_err)
    }

    /// The first intent to act on: one to publish, or a commit still waiting for its echo.
    /// (The condition is exactly that of index `intents_next`, so published messages waiting
    /// for their echo are not read.)
    async fn next_intent(&self, group_id: &[u8]) -> Result<Option<OpenIntent>, CoreError> {
        type Row = (
            i64,
            String,
            Vec<u8>,
            String,
            Option<Vec<u8>>,
            Option<i64>,
            i64,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, kind, data, state, payload, epoch, attempts FROM intents \
             WHERE group_id = $1 AND (state = 'to_publish' \
             OR (state = 'published' AND kind <> 'message')) ORDER BY id LIMIT 1",
        )
        .bind(group_id)
        .fetch_optional(&self.db)
        .await?;
        row.map(|(id, kind, data, state, payload, epoch, attempts)| {
            Ok(OpenIntent {
                id,
                kind: IntentKind::parse(&kind)?,
                data,
                state,
                payload,
                epoch,
                attempts,
            })
        })
        .transpose()
    }

    /// One attempt of an intent: prepare (or reuse the prepared payload), publish, record.
    async fn attempt(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        intent: OpenIntent,
        reports: &mut AddReports,
    ) -> Result<(), CoreError> {
        // A message prepared before a crash or a failed publish is sent as it is while the
        // group is still on its epoch; after a commit it is encrypted again. (A commit's
        // prepared payload is cleared by whatever moves the epoch.)
        let stale = intent.kind == IntentKind::Message
            && intent.payload.is_some()
            && intent.epoch != Some(self.current_epoch(group_id).await?);
        let prepared = match intent.payload {
            Some(payload) if !stale => Prepared {
                hash: client_envelope_hash(&payload),
                payload,
            },
            _ if intent.attempts >= MAX_ATTEMPTS => {
                let mut tx = self.write_tx().await?;
                fail_intent(
                    &mut tx,
                    intent.id,
                    "group.gave_up",
                    &format!(
                        "gave up after {MAX_ATTEMPTS} attempts: the group kept changing under it"
                    ),
                )
                .await?;
                tx.commit().await?;
                return Ok(());
            }
            _ => match self.prepare(node, group_id, &intent, reports).await? {
                Some(prepared) => prepared,
                None => return Ok(()),
            },
        };
        self.publish_attempt(group_id, intent.id, intent.kind, &intent.data, prepared)
            .await
    }

    /// Publishes the prepared attempt of intent `id` and records that the node has it (a
    /// message is then `sent`), or else why not: after a retryable error the attempt stays for
    /// the next run, any other error fails the intent. The caller holds the group's lock.
    pub(crate) async fn publish_attempt(
        &self,
        group_id: &[u8],
        id: i64,
        kind: IntentKind,
        data: &[u8],
        prepared: Prepared,
    ) -> Result<(), CoreError> {
        fault_point("intent.prepared");
        // A node that rate-limits this client is waited for briefly (its bucket refills in
        // well under a second), so a burst of queued messages leaves instead of failing.
        let payloads = vec![prepared.payload];
        let mut wait = RATE_LIMIT_FIRST_WAIT;
        let outcome = loop {
            match self.transport.publish(payloads.clone()).await {
                Err(err) if err.code() == "rate.limited" && wait <= RATE_LIMIT_LAST_WAIT => {
                    tracing::debug!(?wait, "rate limited by the node; publishing again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                outcome => break outcome,
            }
        };
        match outcome {
            Ok(published) => {
                let mut tx = self.write_tx().await?;
                sqlx::query(
                    "UPDATE intents SET state = 'published' \
                     WHERE id = $1 AND state = 'to_publish' AND payload_hash = $2",
                )
                .bind(id)
                .bind(prepared.hash.as_slice())
                .execute(&mut *tx)
                .await?;
                if kind == IntentKind::Message {
                    let first = published.first();
                    sqlx::query(
                        "UPDATE messages SET delivery = 'sent', originator_id = $1, \
                         sequence_id = $2 WHERE id = $3",
                    )
                    .bind(first.map(|e| i64::from(e.originator_id)))
                    .bind(first.and_then(|e| i64::try_from(e.sequence_id).ok()))
                    .bind(data_message(data)?)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                fault_point("intent.published");
                Ok(())
            }
            Err(err) => {
                let mut tx = self.write_tx().await?;
                if err.retryable() {
                    // The prepared payload stays; the next run publishes it again.
                    if kind == IntentKind::Message {
                        sqlx::query("UPDATE messages SET delivery = 'failed' WHERE id = $1")
                            .bind(data_message(data)?)
                            .execute(&mut *tx)
                            .await?;
                    }
                } else {
                    if kind != IntentKind::Message {
                        self.clear_pending_commit(&mut tx, group_id).await?;
                    }
                    fail_intent(&mut tx, id, &err.code(), &err.to_string()).await?;
                }
                tx.commit().await?;
                Err(err)
            }
        }
    }

    /// Forgets the group's pending MLS commit (the node refused it).
    pub(crate) async fn clear_pending_commit(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        group_id: &[u8],
    ) -> Result<(), CoreError> {
        // Taken and not kept: the next transaction loads it as this one leaves it.
        let (mut group, _) = self.store.take_group(tx, group_id).await?;
        let provider = MlsProvider::new(tx);
        group
            .clear_pending_commit(openmls_traits::OpenMlsProvider::storage(&provider))
            .map_err(mls_err)
    }

    /// Builds a new attempt on the current epoch and records it with the intent. `None` when
    /// there is nothing left to do (the intent is then committed as it stands).
    async fn prepare(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        intent: &OpenIntent,
        reports: &mut AddReports,
    ) -> Result<Option<Prepared>, CoreError> {
        // Network work first, outside any transaction: the key packages of every installation
        // of the inboxes to add (but this one). Those already in the group are left out below,
        // with the group loaded once in the transaction.
        let (key_packages, failed) = match intent.kind {
            IntentKind::AddMembers => {
                let mut wanted = Vec::new();
                for inbox in data_inboxes(&intent.data)? {
                    let state = self.association_state_from(node, &inbox).await?;
                    for key in state.installations() {
                        if key != self.installation_key() {
                            wanted.push((inbox, key));
                        }
                    }
                }
                self.fetch_key_packages(node, &wanted).await?
            }
            _ => (Vec::new(), Vec::new()),
        };
        let signer = mls::mls_signer(&self.installation);
        let me = self
            .registration()
            .await?
            .map(|r| r.inbox_id)
            .ok_or(CoreError::NotRegistered)?;
        let mut tx = self.write_tx().await?;
        let mut kept = None;
        // Ok(None): nothing left to do; Err: this installation may not do it (any more).
        let built: Result<Option<Built>, CoreError> = if intent.kind == IntentKind::Message {
            let (type_id, content, fallback): (String, Vec<u8>, String) =
                sqlx::query_as("SELECT type_id, content, fallback FROM messages WHERE id = $1")
                    .bind(data_message(&intent.data)?)
                    .fetch_one(&mut *tx)
                    .await?;
            let content = EncodedContent {
                type_id,
                content,
                fallback,
            }
            .encode_to_vec();
            let (mut group, ticket) = self.store.take_group(&mut tx, group_id).await?;
            let (message, epoch) = encrypt_message(&mut tx, &mut group, &signer, &content)?;
            kept = Some((group, ticket));
            Ok(Some((message, epoch, None)))
        } else {
            // Taken and not kept: a change leaves a pending commit to be merged by its echo.
            let (mut group, _) = self.store.take_group(&mut tx, group_id).await?;
            let provider = MlsProvider::new(&mut tx);
            let present: Vec<InstallationKey> = group
                .members()
                .filter_map(|m| InstallationKey::from_slice(&m.signature_key).ok())
                .collect();
            if intent.kind == IntentKind::AddMembers {
                let failed = failed
                    .into_iter()
                    .filter(|(key, _)| !present.contains(key))
                    .collect();
                reports.insert(intent.id, failed);
            }
            let key_packages = key_packages
                .into_iter()
                .filter(|(key, _)| !present.contains(key))
                .collect();
            build_change(&provider, &signer, &mut group, &me, intent, key_packages)
        };
        let built = match built {
            Ok(built) => built,
            Err(refusal) => {
                fail_intent(&mut tx, intent.id, &refusal.code(), &refusal.to_string()).await?;
                tx.commit().await?;
                return Ok(None);
            }
        };
        let Some((mls_message, epoch, welcome)) = built else {
            sqlx::query(
                "UPDATE intents SET state = 'committed' WHERE id = $1 AND state = 'to_publish'",
            )
            .bind(intent.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(None);
        };
        let message = match intent.kind {
            IntentKind::Message => Some(data_message(&intent.data)?),
            _ => None,
        };
        let prepared = record_attempt(
            &mut tx,
            group_id,
            intent.id,
            message,
            mls_message,
            epoch,
            welcome,
        )
        .await?;
        tx.commit().await?;
        if let Some((group, ticket)) = kept {
            self.store.groups.keep(group_id, group, ticket);
        }
        Ok(Some(prepared))
    }

    /// Sends the welcome of every merged own commit of the group that has not left yet
    /// (again after a crash: joining is idempotent on the other side).
    async fn send_welcomes(&self, group_id: &[u8]) -> Result<(), CoreError> {
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT id, welcome, welcome_targets FROM intents WHERE group_id = $1 \
             AND state = 'committed' AND welcome IS NOT NULL AND welcome_sent = 0 ORDER BY id",
        )
        .bind(group_id)
        .fetch_all(&self.db)
        .await?;
        for (id, welcome, targets) in rows {
            let targets = targets
                .chunks(32)
                .map(InstallationKey::from_slice)
                .collect::<Result<Vec<_>, _>>()?;
            let mut batch = Vec::with_capacity(targets.len() + 1);
            let pointer = if targets.len() > 1 {
                // One copy for everyone, and a pointer per installation (see `Welcome`).
                let shared: [u8; 32] = Sha256::digest(&welcome).into();
                batch.push(envelope(
                    Topic::new(TopicKind::Welcomes, shared.to_vec())?,
                    Payload::Welcome(Welcome {
                        mls_message: welcome.clone(),
                        shared_welcome: Vec::new(),
                    }),
                ));
                Some(shared.to_vec())
            } else {
                None
            };
            for key in &targets {
                batch.push(envelope(
                    Topic::welcomes(key),
                    Payload::Welcome(match &pointer {
                        Some(shared) => Welcome {
                            mls_message: Vec::new(),
                            shared_welcome: shared.clone(),
                        },
                        None => Welcome {
                            mls_message: welcome.clone(),
                            shared_welcome: Vec::new(),
                        },
                    }),
                ));
            }
            // The shared copy goes first, in the first batch, so no pointer can be read
            // before what it points to.
            for chunk in batch.chunks(WELCOME_BATCH) {
                self.transport.publish(chunk.to_vec()).await?;
            }
            sqlx::query("UPDATE intents SET welcome_sent = 1, welcome = NULL WHERE id = $1")
                .bind(id)
                .execute(&self.db)
                .await?;
        }
        Ok(())
    }
}

/// MLS message, the epoch it was built on, and a welcome with its targets.
type Built = (Vec<u8>, i64, Option<(Vec<u8>, Vec<u8>)>);

/// Encrypts `content` (an encoded `EncodedContent`) on the group's current epoch inside the
/// caller's transaction. Returns the MLS message and that epoch.
pub(crate) fn encrypt_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    group: &mut MlsGroup,
    signer: &SignatureKeyPair,
    content: &[u8],
) -> Result<(Vec<u8>, i64), CoreError> {
    let provider = MlsProvider::new(tx);
    let message = group
        .create_message(&provider, signer, content)
        .map_err(mls_err)?
        .tls_serialize_detached()
        .map_err(mls_err)?;
    Ok((message, epoch_of(group)?))
}

/// Records a new attempt of intent `id` inside the caller's transaction: the client envelope
/// carrying `mls_message`, its hash (kept among this installation's payloads, and on the row of
/// `message` for a message), the epoch it was built on, and a commit's welcome.
pub(crate) async fn record_attempt(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    group_id: &[u8],
    id: i64,
    message: Option<i64>,
    mls_message: Vec<u8>,
    epoch: i64,
    welcome: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<Prepared, CoreError> {
    let payload = envelope(
        Topic::group(group_id)?,
        Payload::GroupMessage(GroupMessage { mls_message }),
    );
    let hash = client_envelope_hash(&payload);
    let (welcome, targets) = welcome.unzip();
    sqlx::query(
        "UPDATE intents SET payload = $2, payload_hash = $3, epoch = $4, welcome = $5, \
         welcome_targets = $6, attempts = attempts + 1 WHERE id = $1 AND state = 'to_publish'",
    )
    .bind(id)
    .bind(&payload)
    .bind(hash.as_slice())
    .bind(epoch)
    .bind(welcome)
    .bind(targets)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO own_payloads (payload_hash) VALUES ($1)")
        .bind(hash.as_slice())
        .execute(&mut **tx)
        .await?;
    if let Some(message) = message {
        sqlx::query("UPDATE messages SET payload_hash = $1 WHERE id = $2")
            .bind(hash.as_slice())
            .bind(message)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Prepared { payload, hash })
}

fn serialized(message: &MlsMessageOut) -> Result<Vec<u8>, CoreError> {
    message.tls_serialize_detached().map_err(mls_err)
}

/// Builds the commit (or, to leave, the proposal) of a membership or settings intent on the
/// group's current epoch, after checking this installation may make it.
fn build_change(
    provider: &MlsProvider<'_>,
    signer: &SignatureKeyPair,
    group: &mut MlsGroup,
    me: &InboxId,
    intent: &OpenIntent,
    key_packages: Vec<(InstallationKey, KeyPackage)>,
) -> Result<Option<Built>, CoreError> {
    let settings = GroupMetadata::of_group(group)?;
    let epoch = epoch_of(group)?;
    let not_admin = || CoreError::NotPermitted("only admins may do this".into());
    match intent.kind {
        IntentKind::Message => Err(CoreError::Mls("a message is not a change".into())),
        IntentKind::AddMembers => {
            // The creation commit of a group (epoch 0) is the creator's own.
            if epoch > 0 && !settings.is_admin(me) {
                return Err(not_admin());
            }
            if key_packages.is_empty() {
                return Ok(None);
            }
            let targets: Vec<u8> = key_packages
                .iter()
                .flat_map(|(k, _)| k.as_bytes().to_vec())
                .collect();
            let kps: Vec<KeyPackage> = key_packages.into_iter().map(|(_, kp)| kp).collect();
            let (commit, welcome, _) =
                group.add_members(provider, signer, &kps).map_err(mls_err)?;
            Ok(Some((
                serialized(&commit)?,
                epoch,
                Some((serialized(&welcome)?, targets)),
            )))
        }
        IntentKind::RemoveMembers => {
            if !settings.is_admin(me) {
                return Err(not_admin());
            }
            let inboxes = data_inboxes(&intent.data)?;
            if inboxes.iter().any(|i| settings.role(i) == Role::SuperAdmin)
                && settings.role(me) != Role::SuperAdmin
            {
                return Err(CoreError::NotPermitted(
                    "only a super admin may remove a super admin".into(),
                ));
            }
            let leaves: Vec<LeafNodeIndex> = group
                .members()
                .filter(|m| credential_inbox(&m.credential).is_ok_and(|i| inboxes.contains(&i)))
                .map(|m| m.index)
                .collect();
            if leaves.is_empty() {
                return Ok(None);
            }
            let (commit, _, _) = group
                .remove_members(provider, signer, &leaves)
                .map_err(mls_err)?;
            Ok(Some((serialized(&commit)?, epoch, None)))
        }
        IntentKind::Rename | IntentKind::SetRole => {
            let mut after = settings.clone();
            if intent.kind == IntentKind::Rename {
                if !settings.is_admin(me) {
                    return Err(not_admin());
                }
                let name = String::from_utf8(intent.data.clone())
                    .map_err(|_| CoreError::InvalidInput("a name that is not UTF-8".into()))?;
                after.name = Some(name).filter(|n| !n.is_empty());
            } else {
                if settings.role(me) != Role::SuperAdmin {
                    return Err(CoreError::NotPermitted(
                        "only super admins may change who is an admin".into(),
                    ));
                }
                let (inbox, role) = data_role(&intent.data)?;
                after.admins.remove(&inbox);
                after.super_admins.remove(&inbox);
                match role {
                    Role::SuperAdmin => after.super_admins.insert(inbox),
                    Role::Admin => after.admins.insert(inbox),
                    Role::Member => false,
                };
                if after.super_admins.is_empty() {
                    return Err(CoreError::NotPermitted(
                        "a group keeps at least one super admin".into(),
                    ));
                }
            }
            if after == settings {
                return Ok(None);
            }
            let (commit, _, _) = group
                .update_group_context_extensions(provider, after.to_extensions()?, signer)
                .map_err(mls_err)?;
            Ok(Some((serialized(&commit)?, epoch, None)))
        }
        IntentKind::Leave => {
            let proposal = group.leave_group(provider, signer).map_err(mls_err)?;
            Ok(Some((serialized(&proposal)?, epoch, None)))
        }
        IntentKind::CommitPending => {
            // Commit the members' requests to leave, with every other installation of each
            // leaving inbox.
            let inbox_of = |leaf: LeafNodeIndex| {
                group
                    .members()
                    .find(|m| m.index == leaf)
                    .and_then(|m| credential_inbox(&m.credential).ok())
            };
            let requested: Vec<LeafNodeIndex> = group
                .pending_proposals()
                .filter_map(|p| match (p.proposal(), p.sender()) {
                    (Proposal::Remove(r), Sender::Member(l)) if r.removed() == *l => Some(*l),
                    _ => None,
                })
                .collect();
            if requested.is_empty() {
                return Ok(None);
            }
            let leaving: Vec<InboxId> = requested.iter().filter_map(|l| inbox_of(*l)).collect();
            let also: Vec<LeafNodeIndex> = group
                .members()
                .filter(|m| {
                    !requested.contains(&m.index)
                        && credential_inbox(&m.credential).is_ok_and(|i| leaving.contains(&i))
                })
                .map(|m| m.index)
                .collect();
            let bundle = group
                .commit_builder()
                .propose_removals(also)
                .consume_proposal_store(true)
                .load_psks(provider.storage())
                .map_err(mls_err)?
                .build(provider.rand(), provider.crypto(), signer, |_| true)
                .map_err(mls_err)?
                .stage_commit(provider)
                .map_err(mls_err)?;
            let (commit, _, _) = bundle.into_contents();
            Ok(Some((serialized(&commit)?, epoch, None)))
        }
    }
}

pub(crate) fn role_data(inbox: &InboxId, role: Role) -> Vec<u8> {
    let mut data = inbox.as_bytes().to_vec();
    data.push(match role {
        Role::Member => 0,
        Role::Admin => 1,
        Role::SuperAdmin => 2,
    });
    data
}

fn data_role(data: &[u8]) -> Result<(InboxId, Role), CoreError> {
    let (inbox, role) = data
        .split_at_checked(32)
        .ok_or_else(|| CoreError::Mls("role intent too short".into()))?;
    let role = match role {
        [0] => Role::Member,
        [1] => Role::Admin,
        [2] => Role::SuperAdmin,
        _ => return Err(CoreError::Mls("role intent with an unknown role".into())),
    };
    Ok((InboxId::from_slice(inbox)?, role))
}

fn epoch_of(group: &openmls::prelude::MlsGroup) -> Result<i64, CoreError> {
    i64::try_from(group.epoch().as_u64()).map_err(mls_err)
}

/// Marks an open intent failed (and its message, if it is one).
pub(crate) async fn fail_intent(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    code: &str,
    message: &str,
) -> Result<(), CoreError> {
    let kind: Option<(String, Vec<u8>)> = sqlx::query_as(
        "UPDATE intents SET state = 'failed', error_code = $2, error = $3 \
         WHERE id = $1 AND state IN ('to_publish', 'published') RETURNING kind, data",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((kind, data)) = kind {
        if IntentKind::parse(&kind)? == IntentKind::Message {
            sqlx::query("UPDATE messages SET delivery = 'failed' WHERE id = $1")
                .bind(data_message(&data)?)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Sends an open intent back for a new attempt on the current epoch.
pub(crate) async fn retry_intent(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
) -> Result<(), CoreError> {
    sqlx::query(
        "UPDATE intents SET state = 'to_publish', payload = NULL, payload_hash = NULL, \
         epoch = NULL, welcome = NULL, welcome_targets = NULL \
         WHERE id = $1 AND state IN ('to_publish', 'published')",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
