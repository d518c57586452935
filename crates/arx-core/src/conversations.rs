//! Group conversations: create with members, send, and sync (welcomes, then each group's
//! messages in order). Every leaf a commit or welcome brings in is checked: its credential names
//! an inbox whose verified association state lists the leaf's installation key.

use std::collections::{BTreeMap, HashMap};

use arx_identity::{
    client_envelope_hash, verify_originator_envelope, InboxId, InstallationKey, Topic,
};
use arx_proto::{
    client_envelope::Payload, ClientEnvelope, Cursor, EncodedContent, OriginatorEnvelope,
    QueryRequest, TextContent, TopicCursor,
};
use openmls::prelude::{
    tls_codec::Deserialize as _, BasicCredential, ContentType, Credential, GroupContext, GroupId,
    KeyPackage, LeafNodeIndex, MlsGroup, MlsGroupCreateConfig, MlsGroupJoinConfig,
    MlsMessageBodyIn, MlsMessageIn, ProcessedMessageContent, Proposal, ProtocolMessage,
    ProtocolVersion, Sender, StagedWelcome,
};
use openmls_traits::{storage::StorageProvider as _, OpenMlsProvider};
use prost::Message;
use rand::RngCore;
use sha2::{Digest as _, Sha256};

use crate::{
    client::Client,
    error::CoreError,
    intents::{
        data_message, encrypt_message, fail_intent, inboxes_data, message_data, record_attempt,
        retry_intent, role_data, IntentKind, IntentState, Prepared,
    },
    metadata::{check_commit, GroupMetadata, Role},
    mls::{self, MlsProvider},
    store::{Database, Ticket},
    transport::NodeIdentity,
};

/// Content type of text messages.
pub const TEXT_TYPE: &str = "arx.text/1";
/// Epochs back from which late application messages can still be decrypted.
const MAX_PAST_EPOCHS: usize = 5;
/// Longest text message accepted, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// A conversation as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub group_id: Vec<u8>,
    pub name: Option<String>,
    /// For a DM, the other person's inbox.
    pub dm_peer: Option<InboxId>,
    pub last_activity_ns: i64,
    /// Whether this installation is still in it: active, leaving, left or removed.
    pub state: String,
    /// Messages from others after the last one marked read.
    pub unread: i64,
    /// The newest message, if any.
    pub last_message: Option<StoredMessage>,
}

/// The group id of the DM between two inboxes: the same whoever computes it.
pub fn dm_group_id(a: &InboxId, b: &InboxId) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut hash = Sha256::new();
    hash.update(b"arx/v1/dm");
    hash.update(first.as_bytes());
    hash.update(second.as_bytes());
    hash.finalize()[..16].to_vec()
}

/// Delivery state of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sending,
    Sent,
    Failed,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: i64,
    pub group_id: Vec<u8>,
    pub sender_inbox: InboxId,
    pub sender_installation: InstallationKey,
    pub type_id: String,
    /// The text of a text message; for other types, the fallback.
    pub text: String,
    /// Whether the text is markdown.
    pub markdown: bool,
    /// Whether `text` is the fallback of a content type this version cannot show.
    pub is_fallback: bool,
    pub sent_at_ns: i64,
    pub delivery: Delivery,
}

/// Result of creating a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedGroup {
    pub group_id: Vec<u8>,
    /// Installations that could not be added, and why (the others were added).
    pub failed: Vec<(InstallationKey, String)>,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub groups_joined: usize,
    pub messages: usize,
    pub commits: usize,
    pub skipped: usize,
}

impl SyncSummary {
    fn add_counts(&mut self, other: &SyncSummary) {
        self.groups_joined += other.groups_joined;
        self.messages += other.messages;
        self.commits += other.commits;
        self.skipped += other.skipped;
    }
}

/// Envelopes of one group applied in one transaction (the group is loaded once for them).
pub(crate) const APPLY_BATCH: usize = 100;

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
        store: &Database,
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
        let (group, ticket) = store.take_group(tx, group_id).await?;
        self.ticket = Some(ticket);
        Ok(group)
    }
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .build()
}

pub(crate) fn mls_err(e: impl std::fmt::Display) -> CoreError {
    CoreError::Mls(e.to_string())
}

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

fn decode_payload(env: &OriginatorEnvelope) -> Result<Payload, CoreError> {
    ClientEnvelope::decode(env.client_envelope.as_slice())
        .ok()
        .and_then(|c| c.payload)
        .ok_or_else(|| CoreError::NodeInvalid("envelope without a payload".into()))
}

/// The inbox a leaf's credential names.
pub(crate) fn credential_inbox(credential: &Credential) -> Result<InboxId, CoreError> {
    let basic = BasicCredential::try_from(credential.clone()).map_err(mls_err)?;
    Ok(InboxId::from_slice(basic.identity())?)
}

impl Client {
    fn inbox(&self, registration: Option<crate::Registration>) -> Result<InboxId, CoreError> {
        registration
            .map(|r| r.inbox_id)
            .ok_or(CoreError::NotRegistered)
    }

    /// Checks that each `(credential inbox, installation key)` leaf is associated.
    async fn check_leaves(
        &self,
        node: &NodeIdentity,
        leaves: &[(InboxId, InstallationKey)],
    ) -> Result<(), CoreError> {
        let mut states = HashMap::new();
        for (inbox, key) in leaves {
            if !states.contains_key(inbox) {
                states.insert(*inbox, self.association_state_from(node, inbox).await?);
            }
            if !states[inbox].has_installation(key) {
                return Err(CoreError::Mls(format!(
                    "installation {key} is not associated with inbox {inbox}"
                )));
            }
        }
        Ok(())
    }

    /// Creates a group with this installation, the other installations of this inbox, and
    /// every installation of `members`. Installations whose key package is missing or invalid
    /// are reported in [`CreatedGroup::failed`]; the others are added.
    pub async fn create_group(
        &self,
        name: Option<&str>,
        members: &[InboxId],
    ) -> Result<CreatedGroup, CoreError> {
        let me = self.inbox(self.registration().await?)?;
        let node = self.node().await?;
        let mut group_id = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut group_id);
        self.create_local_group(&me, &group_id, name, None).await?;
        // Nobody else can commit to a group id only this installation knows; the welcome
        // leaves once the creation commit's echo is merged.
        let mut inboxes = vec![me];
        inboxes.extend(members.iter().filter(|m| **m != me));
        let failed = self
            .run_intent(
                &node,
                &group_id,
                IntentKind::AddMembers,
                &inboxes_data(&inboxes),
            )
            .await?;
        Ok(CreatedGroup { group_id, failed })
    }

    /// The valid key package of each wanted installation, and the reasons for the others.
    pub(crate) async fn fetch_key_packages(
        &self,
        node: &NodeIdentity,
        wanted: &[(InboxId, InstallationKey)],
    ) -> Result<
        (
            Vec<(InstallationKey, KeyPackage)>,
            Vec<(InstallationKey, String)>,
        ),
        CoreError,
    > {
        if wanted.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let found = self
            .transport
            .key_packages(wanted.iter().map(|(_, k)| k.as_bytes().to_vec()).collect())
            .await?;
        let crypto = openmls_rust_crypto::RustCrypto::default();
        let mut good = Vec::new();
        let mut failed = Vec::new();
        for ((inbox, key), env) in wanted.iter().zip(found) {
            let checked = (|| {
                let env = env.ok_or("no key package published")?;
                verify_originator_envelope(&env, &node.public_key)
                    .map_err(|_| "bad node signature")?;
                let Ok(Payload::KeyPackage(upload)) = decode_payload(&env) else {
                    return Err("not a key package");
                };
                let message = MlsMessageIn::tls_deserialize_exact(upload.mls_message.as_slice())
                    .map_err(|_| "undecodable key package")?;
                let MlsMessageBodyIn::KeyPackage(kp) = message.extract() else {
                    return Err("not a key package");
                };
                let kp = kp
                    .validate(&crypto, ProtocolVersion::Mls10)
                    .map_err(|_| "invalid or expired key package")?;
                let leaf = kp.leaf_node();
                if leaf.signature_key().as_slice() != key.as_bytes() {
                    return Err("key package of another installation");
                }
                if credential_inbox(leaf.credential()).ok() != Some(*inbox) {
                    return Err("key package names another inbox");
                }
                Ok(kp)
            })();
            match checked {
                Ok(kp) => good.push((*key, kp)),
                Err(reason) => failed.push((*key, reason.to_owned())),
            }
        }
        Ok((good, failed))
    }

    /// Sends a text message and waits for the attempt; returns its id. The message is stored
    /// as `sending`, then becomes `sent` when the node has it (or `failed`, with the error
    /// returned; a later sync sends it again when the error was retryable).
    pub async fn send_text(&self, group_id: &[u8], text: &str) -> Result<i64, CoreError> {
        let content = text_content(text, false)?;
        let lock = self.group_lock(group_id);
        let id = {
            let _guard = lock.lock().await;
            let (id, attempt) = self.queue_message(group_id, &content, true).await?;
            if let Some((intent, prepared)) = attempt {
                // Nothing was ahead of it: encrypted as it was queued, published now.
                self.publish_attempt(
                    group_id,
                    intent,
                    IntentKind::Message,
                    &message_data(id),
                    prepared,
                )
                .await?;
                return Ok(id);
            }
            id
        };
        // It waits its turn behind what is ahead of it.
        let node = self.node().await?;
        self.run_group(&node, group_id, &mut SyncSummary::default(), false)
            .await?;
        match self.intent_of_message(id).await? {
            IntentState::Failed { code, message } => Err(CoreError::IntentFailed { code, message }),
            _ => Ok(id),
        }
    }

    /// Stores a text message as `sending` with its intent, without sending it yet (the next
    /// run of the group's intents sends it). Returns its id.
    pub async fn queue_text(
        &self,
        group_id: &[u8],
        text: &str,
        markdown: bool,
    ) -> Result<i64, CoreError> {
        let content = text_content(text, markdown)?;
        Ok(self.queue_message(group_id, &content, false).await?.0)
    }

    /// Stores a message of this installation as `sending` with its intent, in one transaction.
    /// With `encrypt` (the caller holds the group's lock), a message with nothing ahead of it
    /// in the group (no intent to act on, no welcome to send) is also encrypted in that
    /// transaction, and its intent id and prepared attempt are returned with its id.
    async fn queue_message(
        &self,
        group_id: &[u8],
        content: &EncodedContent,
        encrypt: bool,
    ) -> Result<(i64, Option<(i64, Prepared)>), CoreError> {
        let now = crate::client::now_ns();
        // Until its first attempt is prepared, the message's hash is a random placeholder.
        let mut placeholder = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut placeholder);
        let mut tx = self.write_tx().await?;
        // The inner conditions are those of the indexes `intents_next` and `intents_welcomes`.
        let (inbox, state, busy): (Option<Vec<u8>>, Option<String>, bool) = sqlx::query_as(
            "SELECT (SELECT inbox_id FROM installation WHERE id = 1), \
             (SELECT state FROM conversations WHERE group_id = $1), \
             EXISTS (SELECT 1 FROM intents WHERE group_id = $1 AND (state = 'to_publish' \
             OR (state = 'published' AND kind <> 'message'))) \
             OR EXISTS (SELECT 1 FROM intents WHERE group_id = $1 AND state = 'committed' \
             AND welcome IS NOT NULL AND welcome_sent = 0)",
        )
        .bind(group_id)
        .fetch_one(&mut *tx)
        .await?;
        let me = InboxId::from_slice(&inbox.ok_or(CoreError::NotRegistered)?)?;
        check_active(state.as_deref())?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (group_id, sender_inbox, sender_installation, type_id, content, \
             fallback, sent_at_ns, payload_hash, delivery) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sending') RETURNING id",
        )
        .bind(group_id)
        .bind(me.as_bytes().as_slice())
        .bind(self.installation_key().as_bytes().as_slice())
        .bind(&content.type_id)
        .bind(&content.content)
        .bind(&content.fallback)
        .bind(now)
        .bind(placeholder.as_slice())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE conversations SET last_activity_ns = $1 WHERE group_id = $2")
            .bind(now)
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        let intent =
            Self::insert_intent(&mut tx, group_id, IntentKind::Message, &message_data(id)).await?;
        let mut kept = None;
        let attempt = if encrypt && !busy {
            let signer = mls::mls_signer(&self.installation);
            let (mut group, ticket) = self.store.take_group(&mut tx, group_id).await?;
            let (mls_message, epoch) =
                encrypt_message(&mut tx, &mut group, &signer, &content.encode_to_vec())?;
            kept = Some((group, ticket));
            let prepared = record_attempt(
                &mut tx,
                group_id,
                intent,
                Some(id),
                mls_message,
                epoch,
                None,
            )
            .await?;
            Some((intent, prepared))
        } else {
            None
        };
        tx.commit().await?;
        if let Some((group, ticket)) = kept {
            self.store.groups.keep(group_id, group, ticket);
        }
        Ok((id, attempt))
    }

    /// Where the intent of own message `id` is.
    async fn intent_of_message(&self, id: i64) -> Result<IntentState, CoreError> {
        let intent: i64 =
            sqlx::query_scalar("SELECT id FROM intents WHERE kind = 'message' AND data = $1")
                .bind(message_data(id))
                .fetch_one(&self.db)
                .await?;
        self.intent_state(intent).await
    }

    /// Records an intent, runs the group's intents, and reports how this one ended: for an add,
    /// the installations it could not reach.
    async fn run_intent(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        kind: IntentKind,
        data: &[u8],
    ) -> Result<Vec<(InstallationKey, String)>, CoreError> {
        let mut tx = self.write_tx().await?;
        let id = Self::insert_intent(&mut tx, group_id, kind, data).await?;
        tx.commit().await?;
        let mut reports = self
            .process_group(node, group_id, &mut SyncSummary::default())
            .await?;
        match self.intent_state(id).await? {
            IntentState::Committed => Ok(reports.remove(&id).unwrap_or_default()),
            IntentState::Failed { code, message } => Err(CoreError::IntentFailed { code, message }),
            IntentState::ToPublish | IntentState::Published => Err(CoreError::CommitInFlight),
        }
    }

    pub(crate) async fn cursor(&self, topic: &Topic) -> Result<Cursor, CoreError> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT originator_id, sequence_id FROM cursors WHERE topic = $1")
                .bind(topic.to_bytes())
                .fetch_all(&self.db)
                .await?;
        let mut cursor = Cursor::default();
        for (originator, seq) in rows {
            if let (Ok(o), Ok(s)) = (u32::try_from(originator), u64::try_from(seq)) {
                cursor.sequence_ids.insert(o, s);
            }
        }
        Ok(cursor)
    }

    /// The next page of `topic` after the stored cursor.
    async fn next_page(&self, topic: &Topic) -> Result<(Vec<OriginatorEnvelope>, bool), CoreError> {
        let cursor = self.cursor(topic).await?;
        let page = self
            .transport
            .query(QueryRequest {
                topics: vec![TopicCursor {
                    topic: Some(topic.to_proto()),
                    cursor: Some(cursor),
                }],
                limit: 0,
            })
            .await?;
        Ok((page.envelopes, page.has_more))
    }

    /// Reads welcomes, then every group's new messages, applying commits in order.
    pub async fn sync(&self) -> Result<SyncSummary, CoreError> {
        self.inbox(self.registration().await?)?;
        let node = self.node().await?;
        let mut summary = SyncSummary::default();
        let welcomes = Topic::welcomes(&self.installation_key());
        loop {
            let (page, more) = self.next_page(&welcomes).await?;
            for env in &page {
                verify_originator_envelope(env, &node.public_key)?;
                match self.join_from_welcome(&node, env, &welcomes).await {
                    Ok(true) => summary.groups_joined += 1,
                    Ok(false) => summary.skipped += 1,
                    Err(err) => {
                        tracing::warn!(code = %err.code(), "welcome refused: {err}");
                        summary.skipped += 1;
                        self.advance(&welcomes, env).await?;
                    }
                }
            }
            if !more {
                break;
            }
        }
        if summary.groups_joined > 0 {
            // A welcome used this installation's key package: publish a fresh one.
            self.rotate_key_package().await?;
        }
        // Every group, also those this installation is out of: their later envelopes are read
        // (and fail to decrypt) so cursors keep up and nothing is mistaken for missing.
        let groups: Vec<Vec<u8>> = sqlx::query_scalar("SELECT group_id FROM conversations")
            .fetch_all(&self.db)
            .await?;
        for group_id in groups {
            self.process_group(&node, &group_id, &mut summary).await?;
        }
        Ok(summary)
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
            for batch in page.chunks(APPLY_BATCH) {
                self.apply_batch(node, group_id, &topic, batch, summary)
                    .await?;
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// Applies envelopes of the group in order in one transaction. If one of them fails, that
    /// transaction is rolled back and they are applied again one per transaction, so everything
    /// before the failing envelope is kept, exactly as when each is applied alone.
    pub(crate) async fn apply_batch(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        topic: &Topic,
        batch: &[OriginatorEnvelope],
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        if batch.len() > 1 {
            let mut applied = SyncSummary::default();
            match self
                .apply_in_one_transaction(node, group_id, topic, batch, &mut applied)
                .await
            {
                Ok(()) => {
                    summary.add_counts(&applied);
                    return Ok(());
                }
                Err(err) => {
                    tracing::debug!(code = %err.code(), "batch rolled back; one at a time: {err}")
                }
            }
        }
        for env in batch {
            self.apply_in_one_transaction(
                node,
                group_id,
                topic,
                std::slice::from_ref(env),
                summary,
            )
            .await?;
        }
        Ok(())
    }

    async fn advance(&self, topic: &Topic, env: &OriginatorEnvelope) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        advance_cursor(&mut tx, topic, env).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The welcome a pointer names: the first envelope on the shared welcome topic whose bytes
    /// hash to the pointer's id (anything else there is ignored).
    async fn shared_welcome(&self, node: &NodeIdentity, id: &[u8]) -> Result<Vec<u8>, CoreError> {
        let topic = Topic::new(arx_identity::TopicKind::Welcomes, id.to_vec())?;
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
            verify_originator_envelope(env, &node.public_key)?;
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
        let message = MlsMessageIn::tls_deserialize_exact(bytes.as_slice()).map_err(mls_err)?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(CoreError::Mls("not a Welcome".into()));
        };
        let mut tx = self.write_tx().await?;
        let staged = {
            let provider = MlsProvider::new(&mut tx);
            StagedWelcome::new_from_welcome(&provider, &join_config(), welcome, None)
                .map_err(mls_err)?
        };
        let group_id = staged.group_context().group_id().as_slice().to_vec();
        let name = GroupMetadata::from_extensions(staged.group_context().extensions())?.name;
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM conversations WHERE group_id = $1")
                .bind(&group_id)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_some() {
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
        self.check_leaves(node, &leaves).await?;
        // A DM: exactly two inboxes and the group id both derive from them.
        let me = self.inbox(self.registration().await?)?;
        let mut inboxes: Vec<InboxId> = leaves.iter().map(|(i, _)| *i).collect();
        inboxes.sort();
        inboxes.dedup();
        let dm_peer = match inboxes.as_slice() {
            [a, b] if dm_group_id(a, b) == group_id => Some(if *a == me { *b } else { *a }),
            _ => None,
        };
        // A group joined again (after a removal) is a new state under the same id.
        self.store.groups.forget(&group_id);
        let epoch = {
            let provider = MlsProvider::new(&mut tx);
            staged
                .into_group(&provider)
                .map_err(mls_err)?
                .epoch()
                .as_u64()
        };
        let now = crate::client::now_ns();
        sqlx::query(
            "INSERT INTO conversations (group_id, kind, name, dm_peer, created_at_ns, \
             joined_epoch, last_activity_ns) VALUES ($1, $4, $6, $5, $2, $3, $2)",
        )
        .bind(&group_id)
        .bind(now)
        .bind(i64::try_from(epoch).map_err(mls_err)?)
        .bind(if dm_peer.is_some() { "dm" } else { "group" })
        .bind(dm_peer.map(|p| p.as_bytes().to_vec()))
        .bind(name.filter(|_| dm_peer.is_none()))
        .execute(&mut *tx)
        .await?;
        advance_cursor(&mut tx, topic, env).await?;
        tx.commit().await?;
        self.conversations_changed.send_modify(|n| *n += 1);
        Ok(true)
    }

    /// Applies envelopes of the group in order in one transaction: MLS state (the group loaded
    /// once for all of them), message rows, and the cursor past the last of them.
    async fn apply_in_one_transaction(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        topic: &Topic,
        envelopes: &[OriginatorEnvelope],
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        let joined_epoch: i64 =
            sqlx::query_scalar("SELECT joined_epoch FROM conversations WHERE group_id = $1")
                .bind(group_id)
                .fetch_one(&mut *tx)
                .await?;
        let mut applying = Applying::default();
        for env in envelopes {
            verify_originator_envelope(env, &node.public_key)?;
            self.apply_group_envelope(
                &mut tx,
                &mut applying,
                node,
                group_id,
                joined_epoch,
                env,
                summary,
            )
            .await?;
        }
        if let Some(at) = applying.last_activity {
            sqlx::query("UPDATE conversations SET last_activity_ns = $1 WHERE group_id = $2")
                .bind(at)
                .bind(group_id)
                .execute(&mut *tx)
                .await?;
        }
        // Past the newest envelope of each originator.
        let mut newest: BTreeMap<u32, &OriginatorEnvelope> = BTreeMap::new();
        for env in envelopes {
            let entry = newest.entry(env.originator_id).or_insert(env);
            if env.sequence_id > entry.sequence_id {
                *entry = env;
            }
        }
        for env in newest.values() {
            advance_cursor(&mut tx, topic, env).await?;
        }
        tx.commit().await?;
        if let (Some(group), Some(ticket)) = (applying.group, applying.ticket) {
            self.store.groups.keep(group_id, group, ticket);
        }
        Ok(())
    }

    /// Applies one envelope of the group inside the caller's transaction (which advances the
    /// cursor past it). Every change to the MLS group goes through `applying.group`, so the
    /// copy carried to the next envelope is always what the transaction holds.
    #[allow(clippy::too_many_arguments)]
    async fn apply_group_envelope(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        applying: &mut Applying,
        node: &NodeIdentity,
        group_id: &[u8],
        joined_epoch: i64,
        env: &OriginatorEnvelope,
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let hash = client_envelope_hash(&env.client_envelope);
        let own: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM own_payloads WHERE payload_hash = $1)",
        )
        .bind(hash.as_slice())
        .fetch_one(&mut **tx)
        .await?;
        if own {
            // The echo of an own attempt: the current one of an intent, or a superseded one.
            let current: Option<(i64, String, Vec<u8>, Option<i64>)> = sqlx::query_as(
                "SELECT id, kind, data, epoch FROM intents \
                 WHERE payload_hash = $1 AND state IN ('to_publish', 'published')",
            )
            .bind(hash.as_slice())
            .fetch_optional(&mut **tx)
            .await?;
            if let Some((intent, kind, data, epoch)) = current {
                let mut group = applying.take_group(&self.store, tx, group_id).await?;
                self.apply_own_echo(
                    tx, &mut group, group_id, env, intent, &kind, &data, epoch, summary,
                )
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
            summary.skipped += 1;
            return Ok(());
        };
        if message.content_type() == ContentType::Commit {
            // Another member's commit came before ours: ours loses, and its intent is rebuilt
            // on the epoch this commit makes (a DM's creation that lost is given up instead:
            // its author joins the other side's DM).
            let pending: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM intents WHERE group_id = $1 AND kind NOT IN ('message', 'leave') \
                 AND state IN ('to_publish', 'published') AND payload IS NOT NULL",
            )
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(intent) = pending {
                let mut group = applying.take_group(&self.store, tx, group_id).await?;
                let lost_dm_creation = group.epoch().as_u64() == 0;
                {
                    let provider = MlsProvider::new(tx);
                    group
                        .clear_pending_commit(provider.storage())
                        .map_err(mls_err)?;
                }
                applying.group = Some(group);
                if lost_dm_creation {
                    fail_intent(
                        tx,
                        intent,
                        "dm.converging",
                        "the other side created this DM first",
                    )
                    .await?;
                } else {
                    retry_intent(tx, intent).await?;
                }
            }
        }
        if i64::try_from(message.epoch().as_u64()).unwrap_or(i64::MAX) < joined_epoch {
            // Sent before this installation joined: not decryptable, not for it.
            summary.skipped += 1;
            return Ok(());
        }

        let mut group = applying.take_group(&self.store, tx, group_id).await?;
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
                Ok(processed) => Some(processed),
                Err(err) => {
                    tracing::warn!(error = %err, "message could not be processed; skipped");
                    None
                }
            }
        };
        let Some(processed) = processed else {
            // The group is loaded again for the next envelope: after a failure the copy in
            // memory need not match what is stored.
            summary.skipped += 1;
            return Ok(());
        };
        let sender_key = match processed.sender() {
            Sender::Member(index) => group
                .members()
                .find(|m| m.index == *index)
                .map(|m| m.signature_key.clone()),
            _ => None,
        };
        let sender_inbox = credential_inbox(processed.credential()).ok();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(app) => {
                if let (Some(sender_key), Some(sender_inbox)) = (sender_key, sender_inbox) {
                    let content = EncodedContent::decode(app.into_bytes().as_slice()).unwrap_or(
                        EncodedContent {
                            type_id: "arx.unknown/0".into(),
                            content: Vec::new(),
                            fallback: "(a message this version of ARX cannot read)".into(),
                        },
                    );
                    sqlx::query(
                        "INSERT INTO messages (group_id, sender_inbox, sender_installation, \
                         type_id, content, fallback, sent_at_ns, payload_hash, originator_id, \
                         sequence_id, delivery) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent')",
                    )
                    .bind(group_id)
                    .bind(sender_inbox.as_bytes().as_slice())
                    .bind(sender_key)
                    .bind(&content.type_id)
                    .bind(&content.content)
                    .bind(&content.fallback)
                    .bind(env.received_at_ns)
                    .bind(hash.as_slice())
                    .bind(i64::from(env.originator_id))
                    .bind(i64::try_from(env.sequence_id).map_err(mls_err)?)
                    .execute(&mut **tx)
                    .await?;
                    applying.last_activity = Some(env.received_at_ns);
                    summary.messages += 1;
                } else {
                    summary.skipped += 1;
                }
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                // The committer, its new leaf (if it updated it) and every added leaf must be
                // installations associated with the inbox their credential names.
                let mut leaves: Result<Vec<(InboxId, InstallationKey)>, CoreError> =
                    match (&sender_inbox, &sender_key) {
                        (Some(inbox), Some(key)) => InstallationKey::from_slice(key)
                            .map(|k| vec![(*inbox, k)])
                            .map_err(Into::into),
                        _ => Err(CoreError::Mls("commit from outside the group".into())),
                    };
                if let (Ok(list), Some(leaf)) = (&mut leaves, staged.update_path_leaf_node()) {
                    match (
                        credential_inbox(leaf.credential()),
                        InstallationKey::from_slice(leaf.signature_key().as_slice()),
                    ) {
                        (Ok(inbox), Ok(key)) => list.push((inbox, key)),
                        _ => {
                            leaves = Err(CoreError::Mls(
                                "committer leaf has no valid credential".into(),
                            ))
                        }
                    }
                }
                let leaves = leaves.and_then(|mut list| {
                    for add in staged.add_proposals() {
                        let leaf = add.add_proposal().key_package().leaf_node();
                        list.push((
                            credential_inbox(leaf.credential())?,
                            InstallationKey::from_slice(leaf.signature_key().as_slice())?,
                        ));
                    }
                    Ok(list)
                });
                let changes_members = staged.add_proposals().next().is_some()
                    || staged.remove_proposals().next().is_some();
                let is_dm: Option<String> =
                    sqlx::query_scalar("SELECT kind FROM conversations WHERE group_id = $1")
                        .bind(group_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                let before = GroupMetadata::of_group(&group);
                let valid = match (leaves, &sender_inbox, before) {
                    _ if changes_members && is_dm.as_deref() == Some("dm") => {
                        Err(CoreError::Mls("a DM's members cannot change".into()))
                    }
                    (Ok(leaves), Some(committer), Ok(before)) => {
                        match check_commit(&group, &before, committer, &staged) {
                            Ok(()) => self.check_leaves(node, &leaves).await,
                            Err(err) => Err(err),
                        }
                    }
                    (Err(err), _, _) | (_, _, Err(err)) => Err(err),
                    (_, None, _) => Err(CoreError::Mls("commit without a credential".into())),
                };
                match valid {
                    Ok(()) => {
                        let removed = staged.self_removed();
                        let after = {
                            let provider = MlsProvider::new(tx);
                            group
                                .merge_staged_commit(&provider, *staged)
                                .map_err(mls_err)?;
                            GroupMetadata::of_group(&group)?
                        };
                        summary.commits += 1;
                        self.after_commit(tx, group_id, &after, removed).await?;
                        crate::intents::fault_point("commit.applying");
                    }
                    Err(err) => {
                        tracing::warn!(code = %err.code(), "commit refused: {err}");
                        summary.skipped += 1;
                    }
                }
            }
            ProcessedMessageContent::ProposalMessage(proposal) => {
                // Only a member asking to leave (removing its own leaf) is kept, to be committed
                // by the member chosen for it; other proposals are not acted on.
                let self_remove = matches!(
                    (proposal.proposal(), proposal.sender()),
                    (Proposal::Remove(r), Sender::Member(l)) if r.removed() == *l
                );
                if self_remove {
                    let committer = {
                        let provider = MlsProvider::new(tx);
                        group
                            .store_pending_proposal(provider.storage(), *proposal)
                            .map_err(mls_err)?;
                        leave_committer(&group)?
                    };
                    let queued: Option<i64> = sqlx::query_scalar(
                        "SELECT 1 FROM intents WHERE group_id = $1 AND kind = 'commit_pending' \
                         AND state = 'to_publish'",
                    )
                    .bind(group_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if committer == Some(group.own_leaf_index()) && queued.is_none() {
                        Self::insert_intent(tx, group_id, IntentKind::CommitPending, &[]).await?;
                    }
                } else {
                    summary.skipped += 1;
                }
            }
            _ => summary.skipped += 1,
        }
        applying.group = Some(group);
        Ok(())
    }

    /// Applies the echo of an own attempt: a commit is merged (its welcome leaves after this
    /// transaction); a message is delivered if the group is still on the epoch it was encrypted
    /// for, and otherwise goes back to be encrypted again (members drop the stale copy).
    /// `group` is the group as the transaction holds it.
    #[allow(clippy::too_many_arguments)]
    async fn apply_own_echo(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        group: &mut MlsGroup,
        group_id: &[u8],
        env: &OriginatorEnvelope,
        intent: i64,
        kind: &str,
        data: &[u8],
        epoch: Option<i64>,
        summary: &mut SyncSummary,
    ) -> Result<(), CoreError> {
        let current = i64::try_from(group.epoch().as_u64()).map_err(mls_err)?;
        let pending = group.pending_commit().is_some();
        if epoch != Some(current) {
            retry_intent(tx, intent).await?;
            return Ok(());
        }
        if kind == IntentKind::Leave.as_str() {
            // Asked to leave: done when a commit removes this installation (after_commit).
            sqlx::query(
                "UPDATE intents SET state = 'published' WHERE id = $1 AND state = 'to_publish'",
            )
            .bind(intent)
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        if kind == IntentKind::Message.as_str() {
            sqlx::query(
                "UPDATE messages SET delivery = 'sent', originator_id = $1, sequence_id = $2 \
                 WHERE id = $3",
            )
            .bind(i64::from(env.originator_id))
            .bind(i64::try_from(env.sequence_id).map_err(mls_err)?)
            .bind(data_message(data)?)
            .execute(&mut **tx)
            .await?;
        } else if pending {
            let after = {
                let provider = MlsProvider::new(tx);
                group.merge_pending_commit(&provider).map_err(mls_err)?;
                GroupMetadata::of_group(group)?
            };
            summary.commits += 1;
            self.after_commit(tx, group_id, &after, false).await?;
            crate::intents::fault_point("commit.applying");
        } else {
            retry_intent(tx, intent).await?;
            return Ok(());
        }
        // Done: the payload is not needed any more (its hash stays for the echo's duplicates).
        sqlx::query(
            "UPDATE intents SET state = 'committed', payload = NULL \
             WHERE id = $1 AND state IN ('to_publish', 'published')",
        )
        .bind(intent)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records what a merged commit changed: the group's name, and whether this installation
    /// is out (then its open intents cannot complete). A pending leave whose proposal the commit
    /// did not carry is asked again on the new epoch.
    async fn after_commit(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        group_id: &[u8],
        after: &GroupMetadata,
        removed: bool,
    ) -> Result<(), CoreError> {
        sqlx::query("UPDATE conversations SET name = $2 WHERE group_id = $1 AND kind = 'group'")
            .bind(group_id)
            .bind(&after.name)
            .execute(&mut **tx)
            .await?;
        if removed {
            sqlx::query(
                "UPDATE conversations SET state = CASE state WHEN 'leaving' THEN 'left' \
                 ELSE 'removed' END WHERE group_id = $1",
            )
            .bind(group_id)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE intents SET state = 'committed' WHERE group_id = $1 AND kind = 'leave' \
                 AND state IN ('to_publish', 'published')",
            )
            .bind(group_id)
            .execute(&mut **tx)
            .await?;
            let open: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM intents WHERE group_id = $1 \
                 AND state IN ('to_publish', 'published')",
            )
            .bind(group_id)
            .fetch_all(&mut **tx)
            .await?;
            for id in open {
                fail_intent(tx, id, "group.not_a_member", "removed from the group first").await?;
            }
        } else {
            let leave: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM intents WHERE group_id = $1 AND kind = 'leave' \
                 AND state = 'published'",
            )
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(id) = leave {
                retry_intent(tx, id).await?;
            }
        }
        Ok(())
    }

    /// Adds every installation of `members` to the group. Returns installations that could not
    /// be added (missing or invalid key package); the others are added.
    pub async fn add_members(
        &self,
        group_id: &[u8],
        members: &[InboxId],
    ) -> Result<Vec<(InstallationKey, String)>, CoreError> {
        self.inbox(self.registration().await?)?;
        self.check_membership_change(group_id, members).await?;
        let node = self.node().await?;
        self.run_intent(
            &node,
            group_id,
            IntentKind::AddMembers,
            &inboxes_data(members),
        )
        .await
    }

    /// Removes every installation of `members` from the group; from the next epoch on they
    /// cannot read it.
    pub async fn remove_members(
        &self,
        group_id: &[u8],
        members: &[InboxId],
    ) -> Result<(), CoreError> {
        self.inbox(self.registration().await?)?;
        self.check_membership_change(group_id, members).await?;
        let present: Vec<InboxId> = self
            .members(group_id)
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        if !members.iter().any(|m| present.contains(m)) {
            return Err(CoreError::InvalidInput("none of them is a member".into()));
        }
        let node = self.node().await?;
        self.run_intent(
            &node,
            group_id,
            IntentKind::RemoveMembers,
            &inboxes_data(members),
        )
        .await?;
        Ok(())
    }

    /// Renames a group (admins only).
    pub async fn rename_group(&self, group_id: &[u8], name: &str) -> Result<(), CoreError> {
        let name = name.trim();
        if name.len() > crate::metadata::MAX_NAME_BYTES {
            return Err(CoreError::InvalidInput(format!(
                "a name of {} bytes (at most {})",
                name.len(),
                crate::metadata::MAX_NAME_BYTES
            )));
        }
        self.require_role(group_id, Role::Admin).await?;
        let node = self.node().await?;
        self.run_intent(&node, group_id, IntentKind::Rename, name.as_bytes())
            .await?;
        Ok(())
    }

    /// Makes `member` a member, admin or super admin of a group (super admins only).
    pub async fn set_role(
        &self,
        group_id: &[u8],
        member: &InboxId,
        role: Role,
    ) -> Result<(), CoreError> {
        self.require_role(group_id, Role::SuperAdmin).await?;
        if !self
            .members(group_id)
            .await?
            .iter()
            .any(|(inbox, _)| inbox == member)
        {
            return Err(CoreError::InvalidInput(format!(
                "{member} is not a member of this group"
            )));
        }
        let node = self.node().await?;
        self.run_intent(
            &node,
            group_id,
            IntentKind::SetRole,
            &role_data(member, role),
        )
        .await?;
        Ok(())
    }

    /// Leaves a group: asks the members to remove this installation (and the other
    /// installations of this inbox). The conversation stays `leaving` until a member commits
    /// it (the first admin online, else the first member), then `left`.
    pub async fn leave_group(&self, group_id: &[u8]) -> Result<(), CoreError> {
        self.inbox(self.registration().await?)?;
        if self.is_dm(group_id).await? {
            return Err(CoreError::InvalidInput(
                "a DM cannot be left; it can only be hidden".into(),
            ));
        }
        self.require_active(group_id).await?;
        let node = self.node().await?;
        let mut tx = self.write_tx().await?;
        let id = Self::insert_intent(&mut tx, group_id, IntentKind::Leave, &[]).await?;
        sqlx::query("UPDATE conversations SET state = 'leaving' WHERE group_id = $1")
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.process_group(&node, group_id, &mut SyncSummary::default())
            .await?;
        match self.intent_state(id).await? {
            IntentState::Failed { code, message } => Err(CoreError::IntentFailed { code, message }),
            _ => Ok(()),
        }
    }

    /// A group's settings as this installation last applied them.
    pub async fn group_settings(&self, group_id: &[u8]) -> Result<GroupMetadata, CoreError> {
        let mut conn = self.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        GroupMetadata::from_extensions(load_context(&provider, group_id)?.extensions())
    }

    /// Refuses unless this installation's inbox has at least `role` in the group.
    async fn require_role(&self, group_id: &[u8], role: Role) -> Result<(), CoreError> {
        let me = self.inbox(self.registration().await?)?;
        if self.is_dm(group_id).await? {
            return Err(CoreError::InvalidInput("a DM has no admins".into()));
        }
        self.require_active(group_id).await?;
        let mut settings = self.group_settings(group_id).await?;
        if settings.role(&me) < role {
            // Judge by the group's latest settings: the role may have just been given.
            let node = self.node().await?;
            self.process_group(&node, group_id, &mut SyncSummary::default())
                .await?;
            settings = self.group_settings(group_id).await?;
        }
        if settings.role(&me) < role {
            return Err(CoreError::NotPermitted(match role {
                Role::SuperAdmin => "only super admins may do this".into(),
                _ => "only admins may do this".into(),
            }));
        }
        Ok(())
    }

    /// Refuses unless this installation is still in the conversation.
    async fn require_active(&self, group_id: &[u8]) -> Result<(), CoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM conversations WHERE group_id = $1")
                .bind(group_id)
                .fetch_optional(&self.db)
                .await?;
        check_active(state.as_deref())
    }

    /// Refuses membership changes this installation may not ask for.
    async fn check_membership_change(
        &self,
        group_id: &[u8],
        members: &[InboxId],
    ) -> Result<(), CoreError> {
        if self.is_dm(group_id).await? {
            return Err(CoreError::InvalidInput(
                "a DM's members cannot change".into(),
            ));
        }
        self.require_active(group_id).await?;
        if members.is_empty() {
            return Err(CoreError::InvalidInput("no members given".into()));
        }
        self.require_role(group_id, Role::Admin).await
    }

    /// Conversations, most recently active first.
    pub async fn conversations(&self) -> Result<Vec<Conversation>, CoreError> {
        self.list_conversations(None).await
    }

    /// Every conversation, or only `only`.
    async fn list_conversations(
        &self,
        only: Option<&[u8]>,
    ) -> Result<Vec<Conversation>, CoreError> {
        let me = self.installation_key();
        /// group id, name, DM peer, last activity, state, unread, newest message id
        type ConversationRow = (
            Vec<u8>,
            Option<String>,
            Option<Vec<u8>>,
            i64,
            String,
            i64,
            Option<i64>,
        );
        let rows: Vec<ConversationRow> = sqlx::query_as(
            "SELECT c.group_id, c.name, c.dm_peer, c.last_activity_ns, c.state, \
             (SELECT COUNT(*) FROM messages m WHERE m.group_id = c.group_id \
              AND m.id > c.last_read_id AND m.sender_installation <> $1), \
             (SELECT MAX(m.id) FROM messages m WHERE m.group_id = c.group_id) \
             FROM conversations c WHERE $2 IS NULL OR c.group_id = $2 \
             ORDER BY c.last_activity_ns DESC",
        )
        .bind(me.as_bytes().as_slice())
        .bind(only)
        .fetch_all(&self.db)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (group_id, name, dm_peer, last_activity_ns, state, unread, newest) in rows {
            let last_message = match newest {
                Some(id) => Some(self.message(id).await?),
                None => None,
            };
            out.push(Conversation {
                group_id,
                name,
                dm_peer: dm_peer.map(|p| InboxId::from_slice(&p)).transpose()?,
                last_activity_ns,
                state,
                unread,
                last_message,
            });
        }
        Ok(out)
    }

    /// The group ids of every conversation.
    pub(crate) async fn conversation_ids(&self) -> Result<Vec<Vec<u8>>, CoreError> {
        Ok(sqlx::query_scalar("SELECT group_id FROM conversations")
            .fetch_all(&self.db)
            .await?)
    }

    /// One conversation as listed.
    pub async fn conversation(&self, group_id: &[u8]) -> Result<Conversation, CoreError> {
        self.list_conversations(Some(group_id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))
    }

    /// Marks every message of the conversation read.
    pub async fn mark_read(&self, group_id: &[u8]) -> Result<(), CoreError> {
        sqlx::query(
            "UPDATE conversations SET last_read_id = \
             (SELECT COALESCE(MAX(id), 0) FROM messages WHERE group_id = $1) WHERE group_id = $1",
        )
        .bind(group_id)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// One stored message.
    pub async fn message(&self, id: i64) -> Result<StoredMessage, CoreError> {
        let row: Option<MessageRow> = sqlx::query_as(&format!("{MESSAGE_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        stored_message(row.ok_or_else(|| CoreError::InvalidInput(format!("no message {id}")))?)
    }

    /// Up to `limit` messages of a conversation before message `before` (the newest when
    /// `None`), oldest first, and whether older ones remain.
    pub async fn messages_page(
        &self,
        group_id: &[u8],
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), CoreError> {
        let limit = i64::from(limit.clamp(1, 1000));
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "{MESSAGE_COLUMNS} WHERE group_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(group_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit + 1)
        .fetch_all(&self.db)
        .await?;
        let has_more = rows.len() as i64 > limit;
        let mut page = rows
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(stored_message)
            .collect::<Result<Vec<_>, _>>()?;
        page.reverse();
        Ok((page, has_more))
    }

    /// Sends an own message that failed again (a new attempt from its stored content).
    pub async fn retry_message(&self, id: i64) -> Result<(), CoreError> {
        let message = self.message(id).await?;
        if message.sender_installation != self.installation_key() {
            return Err(CoreError::InvalidInput(
                "not a message of this installation".into(),
            ));
        }
        if message.delivery != Delivery::Failed {
            return Ok(());
        }
        self.require_active(&message.group_id).await?;
        let mut tx = self.write_tx().await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM intents WHERE kind = 'message' AND data = $1 \
             AND state IN ('to_publish', 'published')",
        )
        .bind(message_data(id))
        .fetch_optional(&mut *tx)
        .await?;
        if open.is_none() {
            Self::insert_intent(
                &mut tx,
                &message.group_id,
                IntentKind::Message,
                &message_data(id),
            )
            .await?;
        }
        sqlx::query("UPDATE messages SET delivery = 'sending' WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.send_queued(&message.group_id).await
    }

    /// Sends what is queued for a group (messages first in order; changes wait their turn).
    pub async fn send_queued(&self, group_id: &[u8]) -> Result<(), CoreError> {
        let node = self.node().await?;
        self.run_group(&node, group_id, &mut SyncSummary::default(), false)
            .await?;
        Ok(())
    }

    /// The DM with `peer`, creating it if there is none. If both people create it at the same
    /// time, the creation the node ordered first wins and the other side joins it; until that
    /// side has joined, it gets the retryable `dm.converging`.
    pub async fn dm(&self, peer: &InboxId) -> Result<Vec<u8>, CoreError> {
        let me = self.inbox(self.registration().await?)?;
        if *peer == me {
            return Err(CoreError::InvalidInput("a DM needs another person".into()));
        }
        let group_id = dm_group_id(&me, peer);
        self.sync().await?;
        if self.has_conversation(&group_id).await? {
            return Ok(group_id);
        }
        let node = self.node().await?;
        // Created by the other side already: its welcome is on its way.
        let (existing, _) = self.next_page(&Topic::group(&group_id)?).await?;
        if !existing.is_empty() {
            return Err(CoreError::DmConverging);
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
            return Err(CoreError::Mls(format!(
                "inbox {peer} has no installation that can be reached"
            )));
        }
        self.create_local_group(&me, &group_id, None, Some(peer))
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
            Err(CoreError::IntentFailed { code, .. }) if code == "dm.converging" => {
                // The other side's DM came first: drop ours and join theirs.
                self.drop_local_group(&group_id).await?;
                self.sync().await?;
                if self.has_conversation(&group_id).await? {
                    Ok(group_id)
                } else {
                    Err(CoreError::DmConverging)
                }
            }
            Err(err) => {
                self.drop_local_group(&group_id).await?;
                Err(err)
            }
        }
    }

    async fn has_conversation(&self, group_id: &[u8]) -> Result<bool, CoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM conversations WHERE group_id = $1")
                .bind(group_id)
                .fetch_optional(&self.db)
                .await?;
        Ok(found.is_some())
    }

    /// Whether the conversation is a DM (whose membership never changes).
    async fn is_dm(&self, group_id: &[u8]) -> Result<bool, CoreError> {
        let kind: Option<String> =
            sqlx::query_scalar("SELECT kind FROM conversations WHERE group_id = $1")
                .bind(group_id)
                .fetch_optional(&self.db)
                .await?;
        Ok(kind.as_deref() == Some("dm"))
    }

    /// Creates the MLS group (this installation only, epoch 0) and its conversation row.
    async fn create_local_group(
        &self,
        me: &InboxId,
        group_id: &[u8],
        name: Option<&str>,
        dm_peer: Option<&InboxId>,
    ) -> Result<(), CoreError> {
        let signer = mls::mls_signer(&self.installation);
        let now = crate::client::now_ns();
        let mut tx = self.write_tx().await?;
        self.store.groups.forget(group_id);
        {
            let provider = MlsProvider::new(&mut tx);
            let mut config = MlsGroupCreateConfig::builder()
                .ciphersuite(mls::CIPHERSUITE)
                .use_ratchet_tree_extension(true)
                .max_past_epochs(MAX_PAST_EPOCHS)
                .capabilities(crate::metadata::capabilities());
            if dm_peer.is_none() {
                config = config.with_group_context_extensions(
                    GroupMetadata::for_creator(name, *me).to_extensions()?,
                );
            }
            let config = config.build();
            MlsGroup::new_with_group_id(
                &provider,
                &signer,
                &config,
                GroupId::from_slice(group_id),
                mls::credential(me, &self.installation),
            )
            .map_err(mls_err)?;
        }
        sqlx::query(
            "INSERT INTO conversations (group_id, kind, name, dm_peer, created_at_ns, \
             joined_epoch, last_activity_ns) VALUES ($1, $2, $3, $4, $5, 0, $5)",
        )
        .bind(group_id)
        .bind(if dm_peer.is_some() { "dm" } else { "group" })
        .bind(name)
        .bind(dm_peer.map(|p| p.as_bytes().to_vec()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.conversations_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Forgets a group this installation created but that lost (MLS state, row, cursors).
    async fn drop_local_group(&self, group_id: &[u8]) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        self.store.groups.forget(group_id);
        {
            let provider = MlsProvider::new(&mut tx);
            if let Some(mut group) =
                MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))
                    .map_err(mls_err)?
            {
                group.delete(provider.storage()).map_err(mls_err)?;
            }
        }
        for sql in [
            "DELETE FROM intents WHERE group_id = $1",
            "DELETE FROM messages WHERE group_id = $1",
            "DELETE FROM conversations WHERE group_id = $1",
        ] {
            sqlx::query(sql).bind(group_id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM cursors WHERE topic = $1")
            .bind(Topic::group(group_id)?.to_bytes())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Messages of a conversation in the order they were stored.
    pub async fn messages(&self, group_id: &[u8]) -> Result<Vec<StoredMessage>, CoreError> {
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "{MESSAGE_COLUMNS} WHERE group_id = $1 ORDER BY id"
        ))
        .bind(group_id)
        .fetch_all(&self.db)
        .await?;
        rows.into_iter().map(stored_message).collect()
    }

    /// Messages of every conversation stored after message id `after`.
    pub(crate) async fn messages_after(&self, after: i64) -> Result<Vec<StoredMessage>, CoreError> {
        let rows: Vec<MessageRow> =
            sqlx::query_as(&format!("{MESSAGE_COLUMNS} WHERE id > $1 ORDER BY id"))
                .bind(after)
                .fetch_all(&self.db)
                .await?;
        rows.into_iter().map(stored_message).collect()
    }

    /// Id of the newest stored message (0 when none).
    pub(crate) async fn last_message_id(&self) -> Result<i64, CoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM messages")
            .fetch_one(&self.db)
            .await?;
        Ok(id.unwrap_or(0))
    }

    /// The group's current MLS epoch.
    pub async fn epoch(&self, group_id: &[u8]) -> Result<u64, CoreError> {
        let mut conn = self.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        Ok(load_context(&provider, group_id)?.epoch().as_u64())
    }

    /// Members of a conversation: (inbox, installation) per leaf.
    pub async fn members(
        &self,
        group_id: &[u8],
    ) -> Result<Vec<(InboxId, InstallationKey)>, CoreError> {
        let mut conn = self.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        let group = MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))
            .map_err(mls_err)?
            .ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))?;
        let members: BTreeMap<_, _> = group
            .members()
            .filter_map(|m| {
                Some((
                    InstallationKey::from_slice(&m.signature_key).ok()?,
                    credential_inbox(&m.credential).ok()?,
                ))
            })
            .collect();
        Ok(members.into_iter().map(|(k, i)| (i, k)).collect())
    }
}

/// Refuses unless a conversation in `state` (`None`: there is none) is one this installation is
/// still in.
fn check_active(state: Option<&str>) -> Result<(), CoreError> {
    match state {
        None => Err(CoreError::InvalidInput("no such conversation".into())),
        Some("active") => Ok(()),
        Some(_) => Err(CoreError::NotAMember),
    }
}

/// The content of a text message, after checking its length.
fn text_content(text: &str, markdown: bool) -> Result<EncodedContent, CoreError> {
    if text.trim().is_empty() {
        return Err(CoreError::InvalidInput("an empty message".into()));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(CoreError::InvalidInput(format!(
            "a message of {} bytes (at most {MAX_TEXT_BYTES})",
            text.len()
        )));
    }
    Ok(EncodedContent {
        type_id: TEXT_TYPE.into(),
        content: TextContent {
            text: text.into(),
            markdown,
        }
        .encode_to_vec(),
        fallback: text.into(),
    })
}

/// The member that commits the pending leave requests of a group: the first admin by leaf
/// index that is not leaving, else the first member that is not leaving.
fn leave_committer(group: &MlsGroup) -> Result<Option<LeafNodeIndex>, CoreError> {
    let settings = GroupMetadata::of_group(group)?;
    let inbox_of = |leaf: LeafNodeIndex| {
        group
            .members()
            .find(|m| m.index == leaf)
            .and_then(|m| credential_inbox(&m.credential).ok())
    };
    let leaving: Vec<InboxId> = group
        .pending_proposals()
        .filter_map(|p| match (p.proposal(), p.sender()) {
            (Proposal::Remove(r), Sender::Member(l)) if r.removed() == *l => inbox_of(*l),
            _ => None,
        })
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

pub(crate) fn load_group(
    provider: &MlsProvider<'_>,
    group_id: &[u8],
) -> Result<MlsGroup, CoreError> {
    MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))
        .map_err(mls_err)?
        .ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))
}

/// The group's context as stored (its epoch and its settings): one read, where loading the
/// group reads and decodes its whole tree and secrets as well.
pub(crate) fn load_context(
    provider: &MlsProvider<'_>,
    group_id: &[u8],
) -> Result<GroupContext, CoreError> {
    let context: Option<GroupContext> = provider
        .storage()
        .group_context(&GroupId::from_slice(group_id))
        .map_err(mls_err)?;
    context.ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))
}

async fn advance_cursor(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    topic: &Topic,
    env: &OriginatorEnvelope,
) -> Result<(), CoreError> {
    sqlx::query(
        "INSERT INTO cursors (topic, originator_id, sequence_id) VALUES ($1, $2, $3) \
         ON CONFLICT (topic, originator_id) DO UPDATE SET sequence_id = \
         MAX(cursors.sequence_id, excluded.sequence_id)",
    )
    .bind(topic.to_bytes())
    .bind(i64::from(env.originator_id))
    .bind(i64::try_from(env.sequence_id).map_err(mls_err)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The columns of a [`MessageRow`], to be followed by a WHERE clause.
const MESSAGE_COLUMNS: &str = "SELECT id, group_id, sender_inbox, sender_installation, type_id, \
     content, fallback, sent_at_ns, delivery FROM messages";

/// id, group, sender inbox, sender installation, type, content, fallback, sent at, delivery
type MessageRow = (
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    String,
    Vec<u8>,
    String,
    i64,
    String,
);

fn stored_message(row: MessageRow) -> Result<StoredMessage, CoreError> {
    let (id, group_id, inbox, installation, type_id, content, fallback, sent_at_ns, delivery) = row;
    let text = (type_id == TEXT_TYPE)
        .then(|| TextContent::decode(content.as_slice()).ok())
        .flatten();
    let (text, markdown, is_fallback) = match text {
        Some(t) => (t.text, t.markdown, false),
        None => (fallback, false, true),
    };
    Ok(StoredMessage {
        id,
        group_id,
        sender_inbox: InboxId::from_slice(&inbox)?,
        sender_installation: InstallationKey::from_slice(&installation)?,
        type_id,
        text,
        markdown,
        is_fallback,
        sent_at_ns,
        delivery: match delivery.as_str() {
            "sending" => Delivery::Sending,
            "sent" => Delivery::Sent,
            _ => Delivery::Failed,
        },
    })
}
