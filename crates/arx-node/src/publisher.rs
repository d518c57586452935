//! The publisher: the node's single writer.
//!
//! Publish calls validate statelessly on their own tasks, then queue a job here. The writer takes
//! every job waiting (group commit), checks what needs stored state (identity logs, key package
//! association, wallet ownership) against the store plus the changes of earlier jobs in the same
//! group, assigns sequence ids, signs, writes everything in one transaction, and only then
//! replies and pushes the envelopes to live subscribers, in sequence order. A job that fails a
//! check is refused whole and leaves no trace; the other jobs of the group go on.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use arx_identity::{
    Address, AssociationState, CheckedSignatures, IdentityUpdate, InboxId, NodeKey,
    SmartWalletVerifier,
};
use arx_proto::OriginatorEnvelope;
use prost::Message;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::{
    error::NodeError,
    store::{
        AppendBatch, IdentityStateChange, KeyPackageRecord, Store, StoreError, StoredEnvelope,
    },
    validate::{Checked, ValidatedEnvelope},
};

/// Most updates in one inbox's identity log (with at most 16 KiB each, a whole log fits in
/// one GetIdentityUpdates answer).
pub const MAX_IDENTITY_UPDATES: u64 = 256;

/// Most publish jobs written in one transaction.
const MAX_JOBS_PER_COMMIT: usize = 128;

/// An envelope as pushed to live subscribers.
#[derive(Debug)]
pub struct Delivered {
    /// Storage bytes of the topic.
    pub topic: Vec<u8>,
    pub envelope: OriginatorEnvelope,
}

struct Job {
    envelopes: Vec<ValidatedEnvelope>,
    received_at_ns: i64,
    reply: oneshot::Sender<Result<Vec<OriginatorEnvelope>, NodeError>>,
}

/// Handle to the writer task.
#[derive(Clone, Debug)]
pub struct Publisher {
    jobs: mpsc::Sender<Job>,
}

impl Publisher {
    /// Starts the writer. `next_sequence_id` is one past the highest stored for this node.
    pub fn spawn(
        store: Arc<dyn Store>,
        key: NodeKey,
        next_sequence_id: u64,
        live: broadcast::Sender<Arc<Delivered>>,
        smart_wallets: Arc<dyn SmartWalletVerifier>,
        shutdown: watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (jobs, rx) = mpsc::channel(1024);
        // Once the node stops, no new job is taken; those already queued are written, then the
        // writer ends (even while connections still hold a handle to it).
        let rx = Jobs { rx, shutdown };
        let writer = Writer {
            store,
            key,
            next_sequence_id,
            live,
            smart_wallets,
        };
        (Self { jobs }, tokio::spawn(writer.run(rx)))
    }

    /// Publishes a validated batch, all or nothing; returns the signed originator envelopes.
    pub async fn publish(
        &self,
        envelopes: Vec<ValidatedEnvelope>,
        received_at_ns: i64,
    ) -> Result<Vec<OriginatorEnvelope>, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                envelopes,
                received_at_ns,
                reply,
            })
            .await
            .map_err(|_| NodeError::ShuttingDown)?;
        answer.await.map_err(|_| NodeError::ShuttingDown)?
    }
}

struct Writer {
    store: Arc<dyn Store>,
    key: NodeKey,
    next_sequence_id: u64,
    live: broadcast::Sender<Arc<Delivered>>,
    smart_wallets: Arc<dyn SmartWalletVerifier>,
}

/// The queue of publish jobs, closed when the node stops.
struct Jobs {
    rx: mpsc::Receiver<Job>,
    shutdown: watch::Receiver<bool>,
}

impl Jobs {
    /// The next job; None once the node is stopping and every queued job was taken.
    async fn recv(&mut self) -> Option<Job> {
        if !*self.shutdown.borrow() {
            tokio::select! {
                job = self.rx.recv() => return job,
                _ = self.shutdown.wait_for(|stop| *stop) => {}
            }
        }
        // Stopping: refuse new jobs (their callers get `node.shutting_down`), drain the rest.
        self.rx.close();
        self.rx.recv().await
    }
}

/// Identity state of one inbox as changed by the jobs of a group.
#[derive(Clone)]
struct InboxChange {
    expected_version: Option<u64>,
    version: u64,
    state: AssociationState,
    wallets_before: BTreeSet<Address>,
}

/// What a group's jobs have changed so far, layered over the previous group's uncommitted
/// changes (`base_*`), which are layered over the store.
#[derive(Clone, Default)]
struct Overlay {
    base_inboxes: HashMap<InboxId, InboxChange>,
    base_owners: HashMap<Address, Option<InboxId>>,
    inboxes: HashMap<InboxId, InboxChange>,
    /// Wallet address → owning inbox (None: released) as changed in this group.
    owners: HashMap<Address, Option<InboxId>>,
    key_packages: Vec<KeyPackageRecord>,
}

/// A group of jobs checked and signed, waiting to be written.
struct Prepared {
    outcomes: Vec<(Job, Result<Vec<OriginatorEnvelope>, NodeError>)>,
    batch: AppendBatch,
    overlay: Overlay,
    /// The sequence id after this group's last envelope.
    next_sequence_id: u64,
}

impl Writer {
    /// Takes up to [`MAX_JOBS_PER_COMMIT`] jobs that are already waiting.
    fn gather(rx: &mut Jobs, jobs: &mut Vec<Job>) {
        while jobs.len() < MAX_JOBS_PER_COMMIT {
            match rx.rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
    }

    /// Writes group N on its own task while checking and signing group N+1 on top of N's
    /// uncommitted changes, so signing and the database overlap. Replies go out only after a
    /// group commits; if N fails, N+1 is prepared again from the store.
    async fn run(mut self, mut rx: Jobs) {
        let mut retry: Option<Vec<Job>> = None;
        loop {
            let jobs = match retry.take() {
                Some(jobs) => jobs,
                None => {
                    let Some(first) = rx.recv().await else { return };
                    let mut jobs = vec![first];
                    Self::gather(&mut rx, &mut jobs);
                    jobs
                }
            };
            let mut current = self
                .prepare_group(jobs, Overlay::default(), self.next_sequence_id)
                .await;
            loop {
                let batch = std::mem::take(&mut current.batch);
                let store = self.store.clone();
                let write = tokio::spawn(async move {
                    let written = if batch.is_empty() {
                        Ok(())
                    } else {
                        store.append(&batch).await
                    };
                    (batch, written)
                });
                let mut next_jobs = Vec::new();
                Self::gather(&mut rx, &mut next_jobs);
                let next = if next_jobs.is_empty() {
                    None
                } else {
                    let base = current.overlay.as_base();
                    Some(
                        self.prepare_group(next_jobs, base, current.next_sequence_id)
                            .await,
                    )
                };
                let (batch, written) = match write.await {
                    Ok(done) => done,
                    Err(e) => (
                        AppendBatch::default(),
                        Err(StoreError::Failed(e.to_string())),
                    ),
                };
                match written {
                    Ok(()) => {
                        self.next_sequence_id = current.next_sequence_id;
                        self.finish(current, batch);
                    }
                    Err(err) => {
                        self.fail(current, &err).await;
                        retry = next.map(|n| n.outcomes.into_iter().map(|(job, _)| job).collect());
                        break;
                    }
                }
                match next {
                    Some(next) => current = next,
                    None => break,
                }
            }
        }
    }

    async fn prepare_group(&self, jobs: Vec<Job>, base: Overlay, first: u64) -> Prepared {
        let mut overlay = base;
        let mut envelopes: Vec<StoredEnvelope> = Vec::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut next = first;
        for job in jobs {
            let mut trial = overlay.clone();
            let outcome = self.prepare(&job, &mut trial, next).await;
            if let Ok(signed) = &outcome {
                overlay = trial;
                next += signed.len() as u64;
                for (env, validated) in signed.iter().zip(&job.envelopes) {
                    envelopes.push(StoredEnvelope {
                        originator_id: env.originator_id,
                        sequence_id: env.sequence_id,
                        topic: validated.topic.to_bytes(),
                        received_at_ns: env.received_at_ns,
                        envelope: env.encode_to_vec(),
                    });
                }
            }
            outcomes.push((job, outcome));
        }
        let identity = match overlay.identity_changes() {
            Ok(identity) => identity,
            Err(err) => {
                // Cannot happen for plain data; refuse the group rather than write half of it.
                let reason = err.to_string();
                let outcomes = outcomes
                    .into_iter()
                    .map(|(job, _)| {
                        (
                            job,
                            Err(NodeError::Store(StoreError::Corrupt(reason.clone()))),
                        )
                    })
                    .collect();
                return Prepared {
                    outcomes,
                    batch: AppendBatch::default(),
                    overlay: Overlay::default(),
                    next_sequence_id: first,
                };
            }
        };
        let key_packages = std::mem::take(&mut overlay.key_packages);
        Prepared {
            outcomes,
            batch: AppendBatch {
                envelopes,
                identity,
                key_packages,
            },
            overlay,
            next_sequence_id: next,
        }
    }

    /// After commit: push to live subscribers in sequence order, then reply.
    fn finish(&self, prepared: Prepared, batch: AppendBatch) {
        let accepted = prepared
            .outcomes
            .iter()
            .filter_map(|(_, o)| o.as_ref().ok())
            .flatten();
        for (env, stored) in accepted.zip(batch.envelopes) {
            // No receivers is not an error: nobody is subscribed right now.
            let _ = self.live.send(Arc::new(Delivered {
                topic: stored.topic,
                envelope: env.clone(),
            }));
        }
        for (job, outcome) in prepared.outcomes {
            if let Err(err) = &outcome {
                tracing::debug!(code = %err.code(), error = %err, "publish refused");
            }
            let _ = job.reply.send(outcome);
        }
    }

    /// The group's write failed: accepted jobs get the store error, refused ones their reason.
    async fn fail(&mut self, prepared: Prepared, err: &StoreError) {
        tracing::warn!(error = %err, "append failed; the group of publishes is refused");
        for (job, outcome) in prepared.outcomes {
            let _ = job
                .reply
                .send(outcome.and(Err(NodeError::Store(err.for_reply()))));
        }
        // The transaction may have committed before the error surfaced (a dropped connection):
        // take the sequence from the store so ids are never reused.
        if let Ok(last) = self.store.last_sequence_id(self.key.node_id()).await {
            self.next_sequence_id = self.next_sequence_id.max(last + 1);
        }
    }

    /// Checks one job against the store and `overlay`, records its effects in `overlay`, and
    /// signs its envelopes with sequence ids from `first_sequence_id`.
    async fn prepare(
        &self,
        job: &Job,
        overlay: &mut Overlay,
        first_sequence_id: u64,
    ) -> Result<Vec<OriginatorEnvelope>, NodeError> {
        let mut signed = Vec::with_capacity(job.envelopes.len());
        for (index, envelope) in job.envelopes.iter().enumerate() {
            let sequence_id = first_sequence_id + index as u64;
            match &envelope.checked {
                Checked::Plain => {}
                Checked::IdentityUpdate(checked) => {
                    let (update, signatures) = checked.as_ref();
                    self.apply_identity_update(index, update, signatures, overlay)
                        .await?;
                }
                Checked::KeyPackage {
                    installation,
                    inbox_id,
                    not_after,
                } => {
                    let state = self.inbox(overlay, inbox_id).await?;
                    if !state.is_some_and(|s| s.state.has_installation(installation)) {
                        return Err(NodeError::InstallationNotAssociated {
                            index,
                            installation: installation.to_string(),
                            inbox: inbox_id.to_string(),
                        });
                    }
                    overlay.key_packages.push(KeyPackageRecord {
                        installation_key: *installation.as_bytes(),
                        inbox_id: *inbox_id.as_bytes(),
                        originator_id: self.key.node_id(),
                        sequence_id,
                        not_after: *not_after,
                    });
                }
            }
            signed.push(self.key.sign_envelope(
                sequence_id,
                job.received_at_ns,
                envelope.bytes.clone(),
            ));
        }
        Ok(signed)
    }

    async fn apply_identity_update(
        &self,
        index: usize,
        update: &IdentityUpdate,
        signatures: &CheckedSignatures,
        overlay: &mut Overlay,
    ) -> Result<(), NodeError> {
        let inbox_id = update.inbox_id;
        let current = self.inbox(overlay, &inbox_id).await?;
        if current
            .as_ref()
            .is_some_and(|c| c.version >= MAX_IDENTITY_UPDATES)
        {
            return Err(NodeError::IdentityLogFull {
                index,
                max: MAX_IDENTITY_UPDATES,
            });
        }
        let new_state = AssociationState::apply_checked_update(
            current.as_ref().map(|c| &c.state),
            update,
            self.smart_wallets.as_ref(),
            signatures,
        )
        .await
        .map_err(|source| NodeError::Identity { index, source })?;

        let before: BTreeSet<Address> = current
            .as_ref()
            .map(|c| c.state.wallets().into_iter().collect())
            .unwrap_or_default();
        let after: BTreeSet<Address> = new_state.wallets().into_iter().collect();
        for added in after.difference(&before) {
            let owner = match overlay
                .owners
                .get(added)
                .or_else(|| overlay.base_owners.get(added))
            {
                Some(owner) => *owner,
                None => self.store_owner(added).await?,
            };
            if let Some(owner) = owner.filter(|o| *o != inbox_id) {
                return Err(NodeError::AddressInUse {
                    index,
                    address: added.to_checksum(None),
                    owner: owner.to_string(),
                });
            }
            overlay.owners.insert(*added, Some(inbox_id));
        }
        for removed in before.difference(&after) {
            overlay.owners.insert(*removed, None);
        }
        let change = match current {
            Some(c) => InboxChange {
                version: c.version + 1,
                state: new_state,
                ..c
            },
            None => InboxChange {
                expected_version: None,
                version: 1,
                state: new_state,
                wallets_before: BTreeSet::new(),
            },
        };
        overlay.inboxes.insert(inbox_id, change);
        Ok(())
    }

    /// The inbox's state as of the overlay, falling back to the store.
    async fn inbox(
        &self,
        overlay: &Overlay,
        inbox_id: &InboxId,
    ) -> Result<Option<InboxChange>, NodeError> {
        if let Some(change) = overlay
            .inboxes
            .get(inbox_id)
            .or_else(|| overlay.base_inboxes.get(inbox_id))
        {
            return Ok(Some(change.clone()));
        }
        let Some(stored) = self.store.identity_state(inbox_id.as_bytes()).await? else {
            return Ok(None);
        };
        let state: AssociationState = serde_json::from_slice(&stored.state)
            .map_err(|e| StoreError::Corrupt(format!("identity state of inbox {inbox_id}: {e}")))?;
        Ok(Some(InboxChange {
            expected_version: Some(stored.version),
            version: stored.version,
            wallets_before: state.wallets().into_iter().collect(),
            state,
        }))
    }

    async fn store_owner(&self, address: &Address) -> Result<Option<InboxId>, NodeError> {
        let owners = self.store.inbox_ids(&[address.into_array()]).await?;
        match owners.into_iter().next().flatten() {
            Some(bytes) => {
                Ok(Some(InboxId::from_slice(&bytes).map_err(|e| {
                    StoreError::Corrupt(format!("owner of {address}: {e}"))
                })?))
            }
            None => Ok(None),
        }
    }
}

impl Overlay {
    /// This group's changes as the starting point of the next group, as if committed.
    fn as_base(&self) -> Overlay {
        let base_inboxes = self
            .inboxes
            .iter()
            .map(|(id, change)| {
                let committed = InboxChange {
                    expected_version: Some(change.version),
                    version: change.version,
                    state: change.state.clone(),
                    wallets_before: change.state.wallets().into_iter().collect(),
                };
                (*id, committed)
            })
            .collect();
        Overlay {
            base_inboxes,
            base_owners: self.owners.clone(),
            ..Overlay::default()
        }
    }

    fn identity_changes(&self) -> Result<Vec<IdentityStateChange>, StoreError> {
        self.inboxes
            .iter()
            .map(|(inbox_id, change)| {
                let after: BTreeSet<Address> = change.state.wallets().into_iter().collect();
                let state = serde_json::to_vec(&change.state).map_err(|e| {
                    StoreError::Corrupt(format!("cannot serialize identity of {inbox_id}: {e}"))
                })?;
                Ok(IdentityStateChange {
                    inbox_id: *inbox_id.as_bytes(),
                    expected_version: change.expected_version,
                    new_version: change.version,
                    state,
                    added_addresses: after
                        .difference(&change.wallets_before)
                        .map(|a| a.into_array())
                        .collect(),
                    removed_addresses: change
                        .wallets_before
                        .difference(&after)
                        .map(|a| a.into_array())
                        .collect(),
                })
            })
            .collect()
    }
}
