//! Sending: a message is stored with its intent in one transaction and, with nothing ahead of
//! it in its group, encrypted in that same transaction and published at once.

use arx_proto::EncodedContent;
use prost::Message as _;
use rand::RngCore;

use crate::{
    client::{now_ns, Client},
    content::text_content,
    conversation::{check_active, ConversationHandle},
    db::{self, intents::IntentKind, Delivery, IntentState},
    error::CoreError,
    intents::{encrypt_message, insert_intent, message_data, record_attempt, Prepared},
    mls,
    model::{StoredMessage, SyncSummary},
};

/// An own message after its first attempt: stored, and sent unless `failure` says why not (a
/// retryable failure is sent again by the next sync, and so on reconnect).
#[derive(Debug)]
pub struct Outgoing {
    pub message: StoredMessage,
    pub failure: Option<CoreError>,
}

impl ConversationHandle<'_> {
    /// Sends a text message: stores it with its intent and, with nothing ahead of it in the
    /// group, encrypts it in the same transaction and publishes it at once (otherwise it waits
    /// its turn behind what is ahead of it). Refused (`Err`, nothing stored) only for what can
    /// never be sent: an empty or too long text, a conversation this installation is not in.
    /// The one send path of the engine: the CLI and the app both call it.
    pub async fn send(&self, text: &str, markdown: bool) -> Result<Outgoing, CoreError> {
        self.send_content(&text_content(text, markdown)?).await
    }

    /// Sends any content the engine made (text, files, a reply, an action on a message).
    pub(crate) async fn send_content(
        &self,
        content: &EncodedContent,
    ) -> Result<Outgoing, CoreError> {
        let client = self.client;
        let lock = client.group_lock(&self.group_id);
        let guard = lock.lock().await;
        let (id, attempt) = self.queue_message(content, true).await?;
        let outcome = match attempt {
            // Nothing was ahead of it: encrypted as it was queued, published now.
            Some((intent, prepared)) => {
                let data = message_data(id);
                let kind = IntentKind::Message;
                let published = client
                    .publish_attempt(&self.group_id, intent, kind, &data, prepared)
                    .await;
                drop(guard);
                published
            }
            None => {
                drop(guard);
                self.send_waiting(id).await
            }
        };
        Ok(Outgoing {
            message: client.message(id).await?,
            failure: outcome.err(),
        })
    }

    /// Sends a text message and waits for the attempt; returns its id, or why it was not sent
    /// (the message is stored as `failed` then, and a retryable failure is sent again later).
    pub async fn send_text(&self, text: &str) -> Result<i64, CoreError> {
        let sent = self.send(text, false).await?;
        match sent.failure {
            Some(failure) => Err(failure),
            None => Ok(sent.message.id),
        }
    }

    /// Runs the group's intents until message `id`'s turn has come and gone.
    async fn send_waiting(&self, id: i64) -> Result<(), CoreError> {
        let client = self.client;
        let node = client.node().await?;
        client
            .run_group(&node, &self.group_id, &mut SyncSummary::default(), false)
            .await?;
        let intent = db::intents::of_message(&client.db, &message_data(id)).await?;
        match client.intent_state(intent).await? {
            IntentState::Failed { code, message } => Err(CoreError::IntentFailed { code, message }),
            _ => Ok(()),
        }
    }

    /// Stores a text message as `sending` with its intent, without sending it yet (the next
    /// run of the group's intents sends it). Returns its id.
    pub async fn queue_text(&self, text: &str, markdown: bool) -> Result<i64, CoreError> {
        let content = text_content(text, markdown)?;
        Ok(self.queue_message(&content, false).await?.0)
    }

    /// Sends what is queued for the group (messages first in order; changes wait their turn).
    /// Every sync does this too, so what was queued while offline leaves on reconnect.
    pub async fn send_queued(&self) -> Result<(), CoreError> {
        let node = self.client.node().await?;
        self.client
            .run_group(&node, &self.group_id, &mut SyncSummary::default(), false)
            .await?;
        Ok(())
    }

    /// Stores a message of this installation as `sending` with its intent, in one transaction.
    /// With `encrypt` (the caller holds the group's lock), a message with nothing ahead of it
    /// in the group (no intent to act on, no welcome to send) is also encrypted in that
    /// transaction, and its intent id and prepared attempt are returned with its id.
    pub(crate) async fn queue_message(
        &self,
        content: &EncodedContent,
        encrypt: bool,
    ) -> Result<(i64, Option<(i64, Prepared)>), CoreError> {
        let client = self.client;
        let group_id = self.group_id.as_slice();
        let now = now_ns();
        // Until its first attempt is prepared, the message's hash is a random placeholder.
        let mut placeholder = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut placeholder);
        let mut tx = client.write_tx().await?;
        let (inbox, state, busy) = db::intents::send_context(&mut *tx, group_id).await?;
        let me = inbox.ok_or(CoreError::NotRegistered)?;
        check_active(state)?;
        let sender = (&me, &client.installation_key());
        let decoded = crate::content::decode(content);
        let hidden = !decoded.is_shown();
        let id = db::messages::insert_own(
            &mut *tx,
            group_id,
            sender,
            content,
            now,
            &placeholder,
            hidden,
        )
        .await?;
        let action = db::effects::Action {
            group_id,
            sender: &me,
            message_id: id,
            at_ns: now,
        };
        db::effects::apply(&mut tx, &action, &decoded).await?;
        if !hidden {
            db::conversations::set_last_activity(&mut *tx, group_id, now).await?;
            // Answering in a request accepts it.
            let (consent, invited_by) = db::consent::of_conversation(&mut *tx, group_id).await?;
            if consent == db::Consent::Unknown {
                db::consent::set_conversation(&mut *tx, group_id, db::Consent::Allowed).await?;
                if let Some(inviter) = invited_by {
                    let inviter = arx_identity::InboxId::from_slice(&inviter)?;
                    db::consent::set_inbox(&mut tx, &inviter, db::Consent::Allowed, now).await?;
                }
            }
        }
        let intent =
            insert_intent(&mut tx, group_id, IntentKind::Message, &message_data(id)).await?;
        let mut kept = None;
        let attempt = if encrypt && !busy {
            let signer = mls::mls_signer(&client.installation);
            let (mut group, ticket) = client.store.take_group(&mut tx, group_id).await?;
            let (mls_message, epoch) =
                encrypt_message(&mut tx, &mut group, &signer, &content.encode_to_vec())?;
            kept = Some((group, ticket));
            let built = (mls_message, epoch, None);
            let prepared = record_attempt(&mut tx, group_id, intent, Some(id), built).await?;
            Some((intent, prepared))
        } else {
            None
        };
        tx.commit().await?;
        if let Some((group, ticket)) = kept {
            client.store.groups.keep(group_id, group, ticket);
        }
        Ok((id, attempt))
    }
}

impl Client {
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
        let conversation = self.conversation(&message.group_id);
        conversation.require_active().await?;
        let mut tx = self.write_tx().await?;
        let data = message_data(id);
        if !db::intents::message_is_open(&mut *tx, &data).await? {
            insert_intent(&mut tx, &message.group_id, IntentKind::Message, &data).await?;
        }
        let _ = db::messages::mark_sending(&mut *tx, id).await?;
        tx.commit().await?;
        conversation.send_queued().await
    }
}
