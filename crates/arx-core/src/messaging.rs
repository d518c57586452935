//! Replies, reactions, edits, deletes and read receipts: what a person does to a message.
//! Each is a message of its own (see `content`), sent through the same intents as text, and
//! applied here at once (the sender sees it before the network has it) as every other member
//! applies it when it arrives.

use arx_identity::InboxId;

use crate::{
    content::{self, ContentId},
    conversation::ConversationHandle,
    db,
    error::CoreError,
    model::StoredMessage,
    send::Outgoing,
};

/// How many members reacted with one emoji to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: usize,
    /// Whether this person is one of them.
    pub mine: bool,
}

/// An earlier version of an edited message (kept on this device only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierVersion {
    pub text: String,
    pub replaced_at_ns: i64,
}

impl ConversationHandle<'_> {
    /// A message of this conversation, by its local id.
    async fn message_here(&self, id: i64) -> Result<StoredMessage, CoreError> {
        let message = self.client.message(id).await?;
        if message.group_id != self.group_id {
            return Err(CoreError::InvalidInput(format!(
                "message {id} is not in this conversation"
            )));
        }
        Ok(message)
    }

    /// The content id of message `id`, which must be in this conversation.
    async fn target(&self, id: i64) -> Result<ContentId, CoreError> {
        self.message_here(id).await?.content_id.ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "message {id} was sent by an older version and cannot be named"
            ))
        })
    }

    /// This person's own message `id`, not deleted (for edits and deletes).
    async fn own_target(&self, id: i64) -> Result<ContentId, CoreError> {
        let message = self.message_here(id).await?;
        let me = self.client.registration().await?.map(|r| r.inbox_id);
        if Some(message.sender_inbox) != me {
            return Err(CoreError::NotPermitted(
                "only its sender can edit or delete a message".into(),
            ));
        }
        if message.deleted {
            return Err(CoreError::InvalidInput(format!("message {id} is deleted")));
        }
        message
            .content_id
            .ok_or_else(|| CoreError::InvalidInput(format!("message {id} cannot be named")))
    }

    /// Answers message `to` with a text.
    pub async fn reply(&self, to: i64, text: &str, markdown: bool) -> Result<Outgoing, CoreError> {
        let target = self.target(to).await?;
        let inner = content::text_content(text, markdown)?;
        self.send_content(&content::reply_content(&target, inner))
            .await
    }

    /// Adds (or with `remove`, takes back) a reaction to message `to`.
    pub async fn react(&self, to: i64, emoji: &str, remove: bool) -> Result<Outgoing, CoreError> {
        let target = self.target(to).await?;
        let reaction = content::reaction_content(&target, emoji, remove)?;
        self.send_content(&reaction).await
    }

    /// Replaces the text of this person's own message `id` for everyone (text messages and
    /// text replies; earlier versions stay on this device).
    pub async fn edit(&self, id: i64, text: &str, markdown: bool) -> Result<Outgoing, CoreError> {
        let target = self.own_target(id).await?;
        let original = self.message_here(id).await?;
        if !original.attachments.is_empty() || original.is_fallback {
            return Err(CoreError::InvalidInput(
                "only text messages can be edited".into(),
            ));
        }
        self.send_content(&content::edit_content(&target, text, markdown)?)
            .await
    }

    /// Deletes this person's own message `id` for everyone: its content and files go from every
    /// member's device, leaving "This message was deleted".
    pub async fn delete_for_everyone(&self, id: i64) -> Result<Outgoing, CoreError> {
        let target = self.own_target(id).await?;
        let sent = self.send_content(&content::delete_content(&target)).await?;
        self.client.sweep_media().await?;
        Ok(sent)
    }

    /// Marks the conversation read and, when others' messages arrived since the last receipt,
    /// queues one receipt for the newest (a local write only: it leaves with the next send,
    /// sync or [`ConversationHandle::send_queued`]). Call it once per conversation view.
    pub async fn mark_read(&self) -> Result<(), CoreError> {
        db::conversations::mark_read(&self.client.db, &self.group_id).await?;
        let me = self.client.installation_key();
        let newest: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT m.id, m.content_id, c.receipt_sent_id FROM messages m \
             JOIN conversations c ON c.group_id = m.group_id \
             WHERE m.group_id = $1 AND m.hidden = 0 AND m.sender_installation <> $2 \
             AND m.content_id IS NOT NULL AND c.state = 'active' \
             ORDER BY m.id DESC LIMIT 1",
        )
        .bind(&self.group_id)
        .bind(me.as_bytes().as_slice())
        .fetch_optional(&self.client.db)
        .await?;
        let Some((id, content_id, sent)) = newest else {
            return Ok(());
        };
        let Ok(target) = ContentId::try_from(content_id.as_slice()) else {
            return Ok(());
        };
        if id <= sent {
            return Ok(());
        }
        sqlx::query("UPDATE conversations SET receipt_sent_id = $1 WHERE group_id = $2")
            .bind(id)
            .bind(&self.group_id)
            .execute(&self.client.db)
            .await?;
        let receipt = content::receipt_content(&target);
        self.queue_message(&receipt, false).await?;
        Ok(())
    }

    /// Reactions to message `id`, counted per emoji in the order first used.
    pub async fn reactions(&self, id: i64) -> Result<Vec<ReactionCount>, CoreError> {
        let Some(target) = self.message_here(id).await?.content_id else {
            return Ok(Vec::new());
        };
        let me = self.client.registration().await?.map(|r| r.inbox_id);
        let rows = db::effects::reactions(&self.client.db, &self.group_id, &target).await?;
        let mut out: Vec<ReactionCount> = Vec::new();
        for (emoji, reactor) in rows {
            let mine = me.is_some_and(|m| m.as_bytes().as_slice() == reactor.as_slice());
            match out.iter_mut().find(|r| r.emoji == emoji) {
                Some(r) => {
                    r.count += 1;
                    r.mine |= mine;
                }
                None => out.push(ReactionCount {
                    emoji,
                    count: 1,
                    mine,
                }),
            }
        }
        Ok(out)
    }

    /// Each other member's newest read message: (inbox, local message id).
    pub async fn read_receipts(&self) -> Result<Vec<(InboxId, i64)>, CoreError> {
        let rows = db::effects::receipts(&self.client.db, &self.group_id).await?;
        rows.into_iter()
            .map(|(inbox, id)| Ok((InboxId::from_slice(&inbox)?, id)))
            .collect()
    }

    /// Earlier versions of message `id`, oldest first.
    pub async fn earlier_versions(&self, id: i64) -> Result<Vec<EarlierVersion>, CoreError> {
        self.message_here(id).await?;
        let rows = db::effects::edits(&self.client.db, id).await?;
        Ok(rows
            .into_iter()
            .map(|(_, bytes, replaced_at_ns)| {
                let content = content::decode_content(&bytes);
                let text = match content::decode(&content) {
                    content::Decoded::Shown {
                        body: content::Body::Text { text, .. },
                        ..
                    } => text,
                    _ => content.fallback,
                };
                EarlierVersion {
                    text,
                    replaced_at_ns,
                }
            })
            .collect())
    }

    /// The message this conversation's message `id` answers, if it is here.
    pub async fn replied_message(&self, id: i64) -> Result<Option<StoredMessage>, CoreError> {
        let Some(target) = self.message_here(id).await?.reply_to else {
            return Ok(None);
        };
        let found = {
            let mut conn = self.client.db.acquire().await?;
            db::effects::find(&mut conn, &self.group_id, &target).await?
        };
        match found {
            Some((found, _)) => Ok(Some(self.client.message(found).await?)),
            None => Ok(None),
        }
    }
}

impl crate::Client {
    /// Deletes every message whose disappearing time is up, with its files in the cache, on
    /// this device; returns the (conversation, message id) of each. Runs at start-up, with
    /// every sync, and on the schedule [`crate::Client::next_expiry_ns`] gives.
    pub async fn expire_messages(&self) -> Result<Vec<(Vec<u8>, i64)>, CoreError> {
        let now = crate::client::now_ns();
        let expired = db::messages::expired(&self.db, now).await?;
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write_tx().await?;
        for (id, group, content_id) in &expired {
            db::effects::remove(&mut tx, *id, group, content_id.as_deref()).await?;
        }
        tx.commit().await?;
        self.sweep_media().await?;
        Ok(expired
            .into_iter()
            .map(|(id, group, _)| (group, id))
            .collect())
    }

    /// When the next message disappears (nanoseconds since the Unix epoch), if any will.
    pub async fn next_expiry_ns(&self) -> Result<Option<i64>, CoreError> {
        db::messages::next_expiry(&self.db).await
    }
}
