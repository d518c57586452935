//! Sync: welcomes first, then each group's envelopes in topic order, applied up to
//! [`APPLY_BATCH`] per transaction. Every leaf a commit or welcome brings in is checked: its
//! credential names an inbox whose verified association state lists the leaf's installation key.

mod apply;
mod echo;
mod welcome;

pub(crate) use apply::{inbox_at, leave_requests};

use std::{collections::BTreeMap, time::Instant};

use arx_identity::Topic;
use arx_proto::{
    client_envelope::Payload, ClientEnvelope, OriginatorEnvelope, QueryRequest, TopicCursor,
};
use openmls::prelude::MlsGroup;
use prost::Message as _;

use crate::{
    client::Client,
    db::{self, skipped::SkippedEnvelope, Ticket},
    error::CoreError,
    identities::MAX_IDENTITY_ROUNDS,
    mls::{load_group, MlsProvider},
    model::SyncSummary,
    transport::NodeIdentity,
};

/// Envelopes of one group applied in one transaction (the group is loaded once for them).
pub(crate) const APPLY_BATCH: usize = 100;

/// What applying a group's envelopes in one transaction keeps fixed.
pub(crate) struct Target<'a> {
    pub node: &'a NodeIdentity,
    pub group_id: &'a [u8],
    pub topic: &'a Topic,
    /// When the envelopes were read from the node: identity logs used to check them must be
    /// fetched after this (see `identities`).
    pub read_at: Instant,
}

/// What applying envelopes in one transaction carries from one envelope to the next.
#[derive(Default)]
struct Applying {
    /// The group as the envelopes applied so far left it, once taken.
    group: Option<MlsGroup>,
    /// The group's take from the database (it is kept in memory after the transaction).
    ticket: Option<Ticket>,
    /// When the newest message applied was received (the conversation's last activity).
    last_activity: Option<i64>,
}

impl Applying {
    /// The group as the transaction holds it: the copy carried along, or taken from the
    /// database (the copy kept in memory when current, else loaded from `tx`). The caller puts
    /// it back once its changes are written.
    async fn take_group(
        &mut self,
        client: &Client,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        group_id: &[u8],
    ) -> Result<MlsGroup, CoreError> {
        if let Some(group) = self.group.take() {
            return Ok(group);
        }
        if self.ticket.is_some() {
            // Taken before in this transaction but not carried along (a message that failed
            // left the copy unknown): loaded as the transaction holds it.
            return load_group(&MlsProvider::new(tx), group_id);
        }
        let (group, ticket) = client.store.take_group(tx, group_id).await?;
        self.ticket = Some(ticket);
        Ok(group)
    }
}

/// A client envelope for `topic` carrying `payload`, encoded.
pub(crate) fn envelope(topic: Topic, payload: Payload) -> Vec<u8> {
    ClientEnvelope {
        topic: Some(topic.to_proto()),
        payload: Some(payload),
    }
    .encode_to_vec()
}

/// The topic an envelope was published to.
pub(crate) fn topic_of(env: &OriginatorEnvelope) -> Result<Topic, CoreError> {
    let client = ClientEnvelope::decode(env.client_envelope.as_slice())
        .map_err(|e| CoreError::NodeInvalid(format!("envelope: {e}")))?;
    let topic = client
        .topic
        .ok_or_else(|| CoreError::NodeInvalid("envelope without a topic".into()))?;
    Ok(Topic::from_proto(&topic)?)
}

pub(crate) fn decode_payload(env: &OriginatorEnvelope) -> Result<Payload, CoreError> {
    ClientEnvelope::decode(env.client_envelope.as_slice())
        .ok()
        .and_then(|c| c.payload)
        .ok_or_else(|| CoreError::NodeInvalid("envelope without a payload".into()))
}

impl Client {
    /// Reads welcomes, then every group's new messages, applying commits in order.
    pub async fn sync(&self) -> Result<SyncSummary, CoreError> {
        self.inbox().await?;
        let node = self.node().await?;
        let mut summary = SyncSummary::default();
        self.sync_welcomes(&node, &mut summary).await?;
        self.delete_old_key_packages().await?;
        // Every group, also those this installation is out of: their later envelopes are read
        // (and fail to decrypt) so cursors keep up and nothing is mistaken for missing.
        for group_id in db::conversations::ids(&self.db).await? {
            self.process_group(&node, &group_id, &mut summary).await?;
        }
        // Messages whose time is up go (with their files); files of messages deleted by this
        // sync leave the cache.
        let expired = self.expire_messages().await?;
        if summary.messages > 0 && expired.is_empty() {
            self.sweep_media().await?;
        }
        Ok(summary)
    }

    /// The newest `limit` envelopes a sync skipped, newest first, with the reason of each.
    pub async fn skipped_envelopes(&self, limit: u32) -> Result<Vec<SkippedEnvelope>, CoreError> {
        db::skipped::newest(&self.db, limit).await
    }

    /// The next page of `topic` after the stored cursor.
    pub(crate) async fn next_page(
        &self,
        topic: &Topic,
    ) -> Result<(Vec<OriginatorEnvelope>, bool), CoreError> {
        let cursor = db::cursors::get(&self.db, topic).await?;
        let request = QueryRequest {
            topics: vec![TopicCursor {
                topic: Some(topic.to_proto()),
                cursor: Some(cursor),
            }],
            limit: 0,
        };
        let page =
            crate::client::waiting_out_rate_limit(|| self.transport.query(request.clone())).await?;
        Ok((page.envelopes, page.has_more))
    }

    /// Reads one group's new envelopes in order and applies them, up to [`APPLY_BATCH`] per
    /// transaction. The caller holds the group's lock.
    pub(crate) async fn sync_group_locked(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let topic = Topic::group(group_id)?;
        loop {
            let (page, more) = self.next_page(&topic).await?;
            let target = Target {
                node,
                group_id,
                topic: &topic,
                read_at: Instant::now(),
            };
            for batch in page.chunks(APPLY_BATCH) {
                self.apply_batch(&target, batch, summary).await?;
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// Applies envelopes of the group in order in one transaction. If one of them fails, that
    /// transaction is rolled back and they are applied again one per transaction, so everything
    /// before the failing envelope is kept, exactly as when each is applied alone. An envelope
    /// that fails for its own sake is skipped with its reason recorded and the cursor passes it;
    /// a failure that [stops a sync](CoreError::stops_sync) returns with the cursor before it.
    /// Identity logs a check needs are fetched between attempts, never inside one.
    pub(crate) async fn apply_batch(
        &self,
        target: &Target<'_>,
        batch: &[OriginatorEnvelope],
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        if batch.len() > 1 {
            for _ in 0..MAX_IDENTITY_ROUNDS {
                let mut applied = SyncSummary::default();
                match self
                    .apply_in_one_transaction(target, batch, &mut applied)
                    .await
                {
                    Ok(()) => {
                        summary.add_counts(&applied);
                        return Ok(());
                    }
                    Err(CoreError::IdentitiesNeeded(inboxes)) => {
                        self.refresh_identities(target.node, &inboxes).await?;
                    }
                    Err(err) => {
                        tracing::debug!(code = %err.code(), "batch rolled back; one at a time: {err}");
                        break;
                    }
                }
            }
        }
        for env in batch {
            self.apply_one(target, env, summary).await?;
        }
        Ok(())
    }

    /// Applies one envelope in a transaction of its own (see [`Client::apply_batch`]).
    async fn apply_one(
        &self,
        target: &Target<'_>,
        env: &OriginatorEnvelope,
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let mut rounds = 0;
        let err = loop {
            let mut applied = SyncSummary::default();
            match self
                .apply_in_one_transaction(target, std::slice::from_ref(env), &mut applied)
                .await
            {
                Ok(()) => {
                    summary.add_counts(&applied);
                    return Ok(());
                }
                Err(CoreError::IdentitiesNeeded(inboxes)) if rounds < MAX_IDENTITY_ROUNDS => {
                    rounds += 1;
                    self.refresh_identities(target.node, &inboxes).await?;
                }
                Err(err) => break err,
            }
        };
        if err.stops_sync() {
            return Err(err);
        }
        tracing::warn!(code = %err.code(), "envelope skipped: {err}");
        summary.skipped += 1;
        self.skip(target.topic, env, &err).await
    }

    /// Records that `env` of `topic` was skipped for `err` and moves the cursor past it, in a
    /// transaction of its own.
    pub(crate) async fn skip(
        &self,
        topic: &Topic,
        env: &OriginatorEnvelope,
        err: &CoreError,
    ) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        db::skipped::record(&mut *tx, topic, env, err, crate::client::now_ns()).await?;
        db::cursors::advance(&mut *tx, topic, env.originator_id, env.sequence_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies envelopes of the group in order in one transaction: MLS state (the group loaded
    /// once for all of them), message rows, and the cursor past the last of them.
    async fn apply_in_one_transaction(
        &self,
        target: &Target<'_>,
        envelopes: &[OriginatorEnvelope],
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let group_id = target.group_id;
        let mut tx = self.write_tx().await?;
        let joined_epoch = db::conversations::joined_epoch(&mut *tx, group_id).await?;
        let mut applying = Applying::default();
        for env in envelopes {
            target.node.verify(env)?;
            self.apply_group_envelope(&mut tx, &mut applying, target, joined_epoch, env, summary)
                .await?;
        }
        if let Some(at) = applying.last_activity {
            db::conversations::set_last_activity(&mut *tx, group_id, at).await?;
        }
        // Past the newest envelope of each originator.
        let mut newest: BTreeMap<u32, u64> = BTreeMap::new();
        for env in envelopes {
            let seen = newest.entry(env.originator_id).or_insert(env.sequence_id);
            *seen = (*seen).max(env.sequence_id);
        }
        for (originator, sequence) in newest {
            db::cursors::advance(&mut *tx, target.topic, originator, sequence).await?;
        }
        tx.commit().await?;
        if let (Some(group), Some(ticket)) = (applying.group, applying.ticket) {
            self.store.groups.keep(group_id, group, ticket);
        }
        Ok(())
    }
}
