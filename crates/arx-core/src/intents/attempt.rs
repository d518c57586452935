//! One attempt of an intent: prepared in one transaction (MLS state and the payload), then
//! published, then recorded; and the welcomes of merged commits.

use std::time::Duration;

use arx_identity::{client_envelope_hash, InstallationKey, NodeCode, Topic, TopicKind};
use arx_proto::{client_envelope::Payload, GroupMessage, Welcome};
use openmls::prelude::{tls_codec::Serialize as _, MlsGroup};
use openmls_basic_credential::SignatureKeyPair;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::{
    build::{build_change, Built},
    data_inboxes, data_message, fail_intent, fault_point, AddReports, Tx, MAX_ATTEMPTS,
};
use crate::{
    client::Client,
    db::{
        self,
        intents::{Attempt, IntentKind, OpenIntent},
        messages::Position,
    },
    error::{CoreCode, CoreError},
    mls::{self, epoch_of, load_context, mls_op, mls_storage, MlsProvider},
    sync::envelope,
    transport::NodeIdentity,
};

/// Welcome envelopes per publish (pointers are small; the shared copy is one).
const WELCOME_BATCH: usize = 200;
/// Waits before publishing again when the node rate-limits this client: 100 ms, doubling, up to
/// 1.6 s (3.1 s in all), then the error stands and the message waits for the next run.
const RATE_LIMIT_FIRST_WAIT: Duration = Duration::from_millis(100);
const RATE_LIMIT_LAST_WAIT: Duration = Duration::from_millis(1_600);

/// A prepared attempt: the client envelope to publish.
pub(crate) struct Prepared {
    payload: Vec<u8>,
    hash: [u8; 32],
}

/// Encrypts `content` (an encoded `EncodedContent`) on the group's current epoch inside the
/// caller's transaction. Returns the MLS message and that epoch.
pub(crate) fn encrypt_message(
    tx: &mut Tx,
    group: &mut MlsGroup,
    signer: &SignatureKeyPair,
    content: &[u8],
) -> Result<(Vec<u8>, i64), CoreError> {
    let provider = MlsProvider::new(tx);
    let message = group
        .create_message(&provider, signer, content)
        .map_err(mls_op)?
        .tls_serialize_detached()
        .map_err(mls_op)?;
    Ok((message, epoch_of(group)?))
}

/// Records a new attempt of intent `id` inside the caller's transaction: the client envelope
/// carrying `mls_message`, its hash (kept among this installation's payloads, and on the row of
/// `message` for a message), the epoch it was built on, and a commit's welcome.
pub(crate) async fn record_attempt(
    tx: &mut Tx,
    group_id: &[u8],
    id: i64,
    message: Option<i64>,
    built: Built,
) -> Result<Prepared, CoreError> {
    let (mls_message, epoch, welcome) = built;
    let payload = envelope(
        Topic::group(group_id)?,
        Payload::GroupMessage(GroupMessage { mls_message }),
    );
    let hash = client_envelope_hash(&payload);
    let attempt = Attempt {
        payload: &payload,
        hash: &hash,
        epoch,
        welcome: welcome.as_ref().map(|(w, t)| (w.as_slice(), t.as_slice())),
    };
    db::intents::record_attempt(&mut **tx, id, &attempt)
        .await?
        .required("the intent of a new attempt")?;
    db::own_payloads::insert(&mut **tx, &hash).await?;
    if let Some(message) = message {
        db::messages::set_payload_hash(&mut **tx, message, &hash).await?;
    }
    Ok(Prepared { payload, hash })
}

impl Client {
    async fn current_epoch(&self, group_id: &[u8]) -> Result<i64, CoreError> {
        let mut conn = self.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        i64::try_from(load_context(&provider, group_id)?.epoch().as_u64()).map_err(mls_op)
    }

    /// One attempt of an intent: prepare (or reuse the prepared payload), publish, record.
    pub(super) async fn attempt(
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
        let prepared = match intent.payload.clone() {
            Some(payload) if !stale => Prepared {
                hash: client_envelope_hash(&payload),
                payload,
            },
            _ if intent.attempts >= MAX_ATTEMPTS => {
                let mut tx = self.write_tx().await?;
                fail_intent(
                    &mut tx,
                    intent.id,
                    CoreCode::GaveUp.into(),
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
                Err(err)
                    if err.code() == NodeCode::RateLimited.into()
                        && wait <= RATE_LIMIT_LAST_WAIT =>
                {
                    tracing::debug!(?wait, "rate limited by the node; publishing again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                outcome => break outcome,
            }
        };
        let mut tx = self.write_tx().await?;
        let result = match outcome {
            Ok(published) => {
                let _ = db::intents::mark_published(&mut *tx, id, &prepared.hash).await?;
                if kind == IntentKind::Message {
                    let position = published.first().map(|e| Position {
                        originator_id: e.originator_id,
                        sequence_id: e.sequence_id,
                    });
                    db::messages::mark_sent(&mut *tx, data_message(data)?, position).await?;
                }
                Ok(())
            }
            Err(err) => {
                if err.retryable() {
                    // The prepared payload stays; the next run publishes it again.
                    if kind == IntentKind::Message {
                        db::messages::mark_failed(&mut *tx, data_message(data)?).await?;
                    }
                } else {
                    if kind != IntentKind::Message {
                        self.clear_pending_commit(&mut tx, group_id).await?;
                    }
                    fail_intent(&mut tx, id, err.code(), &err.to_string()).await?;
                }
                Err(err)
            }
        };
        tx.commit().await?;
        if kind == IntentKind::Message {
            self.note_delivery(data_message(data)?);
        }
        if result.is_ok() {
            fault_point("intent.published");
        }
        result
    }

    /// Forgets the group's pending MLS commit (the node refused it).
    pub(crate) async fn clear_pending_commit(
        &self,
        tx: &mut Tx,
        group_id: &[u8],
    ) -> Result<(), CoreError> {
        // Taken and not kept: the next transaction loads it as this one leaves it.
        let (mut group, _) = self.store.take_group(tx, group_id).await?;
        let provider = MlsProvider::new(tx);
        group
            .clear_pending_commit(openmls_traits::OpenMlsProvider::storage(&provider))
            .map_err(mls_storage)
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
        let me = self.inbox().await?;
        let mut tx = self.write_tx().await?;
        let mut kept = None;
        // Ok(None): nothing left to do; Err: this installation may not do it (any more).
        let built: Result<Option<Built>, CoreError> = if intent.kind == IntentKind::Message {
            let id = data_message(&intent.data)?;
            let row = db::messages::get(&mut *tx, id)
                .await?
                .ok_or(CoreError::StateConflict("the message of an intent"))?;
            let content = row.content.encode_to_vec();
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
            Ok(Some(built)) => built,
            Ok(None) => {
                db::intents::complete_unchanged(&mut *tx, intent.id)
                    .await?
                    .required("an intent with nothing left to do")?;
                tx.commit().await?;
                return Ok(None);
            }
            Err(refusal) => {
                fail_intent(&mut tx, intent.id, refusal.code(), &refusal.to_string()).await?;
                tx.commit().await?;
                return Ok(None);
            }
        };
        let message = match intent.kind {
            IntentKind::Message => Some(data_message(&intent.data)?),
            _ => None,
        };
        let prepared = record_attempt(&mut tx, group_id, intent.id, message, built).await?;
        tx.commit().await?;
        if let Some((group, ticket)) = kept {
            self.store.groups.keep(group_id, group, ticket);
        }
        Ok(Some(prepared))
    }

    /// Sends the welcome of every merged own commit of the group that has not left yet
    /// (again after a crash: joining is idempotent on the other side).
    pub(super) async fn send_welcomes(&self, group_id: &[u8]) -> Result<(), CoreError> {
        for pending in db::intents::welcomes_to_send(&self.db, group_id).await? {
            let welcome = pending.welcome;
            let targets = pending
                .targets
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
            let mut tx = self.write_tx().await?;
            let _ = db::intents::mark_welcome_sent(&mut *tx, pending.intent).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}
