//! Consent: whose conversations reach the list. A conversation someone this person has not
//! allowed brought them into waits in Requests; accepting it allows its inviter, blocking hides
//! it and everything else from that inbox (messages and invitations alike), deleting hides
//! only it. Starting a conversation with people, or answering in one, allows them.

use arx_identity::InboxId;

use crate::{
    client::{now_ns, Client},
    conversation::ConversationHandle,
    db::{self, Consent},
    error::CoreError,
};

impl Client {
    /// This person's consent for `inbox` (`Unknown` when never given).
    pub async fn consent_of(&self, inbox: &InboxId) -> Result<Consent, CoreError> {
        db::consent::of_inbox(&self.db, inbox).await
    }

    /// Allows `inbox`: its invitations reach the list, and those waiting in Requests move there.
    pub async fn allow_inbox(&self, inbox: &InboxId) -> Result<(), CoreError> {
        self.set_inbox_consent(inbox, Consent::Allowed).await
    }

    /// Blocks `inbox`: its conversations with this person (a DM, the groups it invited them to)
    /// are hidden, and nothing from it reaches the list or notifications.
    pub async fn block_inbox(&self, inbox: &InboxId) -> Result<(), CoreError> {
        if self.registration().await?.map(|r| r.inbox_id) == Some(*inbox) {
            return Err(CoreError::InvalidInput("you cannot block yourself".into()));
        }
        self.set_inbox_consent(inbox, Consent::Denied).await
    }

    async fn set_inbox_consent(&self, inbox: &InboxId, consent: Consent) -> Result<(), CoreError> {
        let mut tx = self.write_tx().await?;
        db::consent::set_inbox(&mut tx, inbox, consent, now_ns()).await?;
        tx.commit().await?;
        self.conversations_changed.send_modify(|n| *n += 1);
        Ok(())
    }
}

impl ConversationHandle<'_> {
    /// The inbox a conversation's consent follows: the DM's other person, or whoever invited
    /// this person into the group.
    async fn consent_inbox(&self) -> Result<Option<InboxId>, CoreError> {
        let (_, invited_by) = db::consent::of_conversation(&self.client.db, &self.group_id).await?;
        let summary = self.summary().await?;
        let me = self.client.registration().await?.map(|r| r.inbox_id);
        let inbox = match summary.dm_peer {
            Some(peer) => Some(peer),
            None => invited_by
                .map(|b| InboxId::from_slice(&b))
                .transpose()?
                .filter(|i| Some(*i) != me),
        };
        Ok(inbox)
    }

    /// Accepts a request: the conversation moves to the list and its inviter is allowed.
    pub async fn accept(&self) -> Result<(), CoreError> {
        let inbox = self.consent_inbox().await?;
        let mut tx = self.client.write_tx().await?;
        db::consent::set_conversation(&mut *tx, &self.group_id, Consent::Allowed).await?;
        if let Some(inbox) = inbox {
            db::consent::set_inbox(&mut tx, &inbox, Consent::Allowed, now_ns()).await?;
        }
        tx.commit().await?;
        self.client.conversations_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Blocks the conversation's inbox (the DM's other person, the group's inviter): this
    /// conversation and every other from it are hidden.
    pub async fn block(&self) -> Result<(), CoreError> {
        let inbox = self.consent_inbox().await?;
        let mut tx = self.client.write_tx().await?;
        db::consent::set_conversation(&mut *tx, &self.group_id, Consent::Denied).await?;
        if let Some(inbox) = inbox {
            db::consent::set_inbox(&mut tx, &inbox, Consent::Denied, now_ns()).await?;
        }
        tx.commit().await?;
        self.client.conversations_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Deletes a request: this conversation is hidden (its inviter is neither allowed nor
    /// blocked).
    pub async fn delete_request(&self) -> Result<(), CoreError> {
        db::consent::set_conversation(&self.client.db, &self.group_id, Consent::Denied).await?;
        self.client.conversations_changed.send_modify(|n| *n += 1);
        Ok(())
    }
}
