//! What a person sees, made once in the engine for every front-end (the app, the CLI, agents):
//! a conversation's title, members and this person's role; who sent a message ("You", or the
//! sender's short wallet address). Front-ends render these and do not derive them again.

use std::collections::HashMap;

use arx_identity::{Address, InboxId};

use crate::{
    client::Client,
    conversation::ConversationHandle,
    error::CoreError,
    metadata::Role,
    model::{Conversation, StoredMessage},
};

/// At most this many other members name an unnamed group.
const TITLE_MEMBERS: usize = 3;

/// `0x1234…abcd` for a wallet address; any other text as it is.
pub fn short_address(text: &str) -> String {
    let is_address = text.len() == 42
        && text.starts_with("0x")
        && text[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if is_address {
        format!("{}…{}", &text[..6], &text[38..])
    } else {
        text.to_owned()
    }
}

/// A conversation as a list or a header shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    pub conversation: Conversation,
    /// The group's name; for an unnamed group its first members' short addresses; for a DM the
    /// other person's short address.
    pub title: String,
    /// For a DM, the other person's wallet address.
    pub peer_address: Option<Address>,
    /// Inboxes in the conversation (each counted once, whatever its installations).
    pub member_count: usize,
    pub my_role: Role,
    /// The newest message, as a list shows it.
    pub last_message: Option<MessageOverview>,
}

/// A message with who sent it, as a conversation shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageOverview {
    pub message: StoredMessage,
    /// Sent by this person (from any of their installations).
    pub is_mine: bool,
    /// "You", or the sender's short wallet address.
    pub sender_label: String,
    /// Reactions, counted per emoji.
    pub reactions: Vec<crate::ReactionCount>,
    /// The message this one answers, as quoted.
    pub reply: Option<ReplyQuote>,
    /// How many other members have read it (from their read receipts).
    pub read_by: usize,
}

/// The message a reply answers, as the reply quotes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyQuote {
    /// Its local id, when this device has it.
    pub message_id: Option<i64>,
    /// "You" or its sender's short address ("" when it is not here).
    pub sender_label: String,
    /// Its text (the first 200 characters), its file's name, or why it cannot be quoted.
    pub text: String,
}

/// At most this many characters of a quoted message.
const QUOTE_CHARS: usize = 200;

/// A member of a group as its member list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberOverview {
    pub inbox: InboxId,
    /// The inbox's first wallet, when its identity log could be read.
    pub address: Option<Address>,
    /// The short address, or the inbox id.
    pub label: String,
    pub role: Role,
    pub is_me: bool,
}

/// Wallet addresses of inboxes, remembered once read (an inbox's first wallet never changes).
#[derive(Default)]
pub(crate) struct Addresses(std::sync::Mutex<HashMap<InboxId, Address>>);

impl Addresses {
    fn get(&self, inbox: &InboxId) -> Option<Address> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(inbox)
            .copied()
    }

    fn put(&self, inbox: InboxId, address: Address) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(inbox, address);
    }
}

impl Client {
    /// The first wallet address of `inbox`, from its verified identity log (remembered); `None`
    /// when the log cannot be read now.
    pub async fn address_of(&self, inbox: &InboxId) -> Option<Address> {
        if let Some(known) = self.addresses.get(inbox) {
            return Some(known);
        }
        let address = self
            .association_state(inbox)
            .await
            .ok()?
            .wallets()
            .first()
            .copied()?;
        self.addresses.put(*inbox, address);
        Some(address)
    }

    /// How `inbox` is shown: its short wallet address, or its id.
    async fn label_of(&self, inbox: &InboxId) -> String {
        match self.address_of(inbox).await {
            Some(address) => short_address(&address.to_checksum(None)),
            None => inbox.to_string(),
        }
    }

    /// Every conversation this installation is still in and has allowed, as the list shows it,
    /// most recently active first (requests and hidden conversations are left out).
    pub async fn overviews(&self) -> Result<Vec<Overview>, CoreError> {
        self.overviews_with(crate::Consent::Allowed).await
    }

    /// Conversations waiting in Requests (someone not allowed brought this person in), most
    /// recently active first.
    pub async fn request_overviews(&self) -> Result<Vec<Overview>, CoreError> {
        self.overviews_with(crate::Consent::Unknown).await
    }

    async fn overviews_with(&self, consent: crate::Consent) -> Result<Vec<Overview>, CoreError> {
        let me = self.my_inbox().await?;
        let mut out = Vec::new();
        for conversation in self.conversations().await? {
            if !conversation.state.is_out() && conversation.consent == consent {
                out.push(self.overview_of(me, conversation).await?);
            }
        }
        Ok(out)
    }

    /// This installation's inbox, if registered (read once per view, not per item).
    async fn my_inbox(&self) -> Result<Option<InboxId>, CoreError> {
        Ok(self.registration().await?.map(|r| r.inbox_id))
    }

    /// A stored message with who sent it.
    pub async fn message_overview(
        &self,
        message: StoredMessage,
    ) -> Result<MessageOverview, CoreError> {
        let me = self.my_inbox().await?;
        Ok(self.message_overview_as(me, message).await)
    }

    /// [`Client::message_overview`] for this installation's inbox `me`.
    async fn message_overview_as(
        &self,
        me: Option<InboxId>,
        message: StoredMessage,
    ) -> MessageOverview {
        let receipts = self
            .conversation(&message.group_id)
            .read_receipts()
            .await
            .unwrap_or_default();
        self.message_overview_with(me, message, &receipts).await
    }

    /// [`Client::message_overview_as`] with the conversation's read receipts read once.
    async fn message_overview_with(
        &self,
        me: Option<InboxId>,
        message: StoredMessage,
        receipts: &[(InboxId, i64)],
    ) -> MessageOverview {
        let is_mine = message.sender_installation == self.installation_key()
            || Some(message.sender_inbox) == me;
        let sender_label = if is_mine {
            "You".to_owned()
        } else {
            self.label_of(&message.sender_inbox).await
        };
        let mut message = message;
        if let Some(line) = &message.system {
            let mut subjects = Vec::with_capacity(line.subjects.len());
            for inbox in &line.subjects {
                subjects.push(if Some(*inbox) == me {
                    "you".to_owned()
                } else {
                    self.label_of(inbox).await
                });
            }
            message.text = crate::system::render(&sender_label, &subjects, &line.kind, &line.value);
        }
        let conversation = self.conversation(&message.group_id);
        let reactions = conversation.reactions(message.id).await.unwrap_or_default();
        let reply = match message.reply_to {
            None => None,
            Some(_) => Some(match conversation.replied_message(message.id).await {
                Ok(Some(quoted)) => {
                    let quoted_mine = quoted.sender_installation == self.installation_key()
                        || Some(quoted.sender_inbox) == me;
                    let text = match quoted.attachments.first() {
                        _ if quoted.deleted => quoted.text.clone(),
                        Some(file) if quoted.text.trim().is_empty() => file.name.clone(),
                        _ => quoted.text.chars().take(QUOTE_CHARS).collect(),
                    };
                    ReplyQuote {
                        message_id: Some(quoted.id),
                        sender_label: if quoted_mine {
                            "You".to_owned()
                        } else {
                            self.label_of(&quoted.sender_inbox).await
                        },
                        text,
                    }
                }
                _ => ReplyQuote {
                    message_id: None,
                    sender_label: String::new(),
                    text: "(a message that is not on this device)".into(),
                },
            }),
        };
        let read_by = receipts
            .iter()
            .filter(|(inbox, last)| *last >= message.id && Some(*inbox) != me)
            .count();
        MessageOverview {
            message,
            is_mine,
            sender_label,
            reactions,
            reply,
            read_by,
        }
    }

    async fn overview_of(
        &self,
        me: Option<InboxId>,
        conversation: Conversation,
    ) -> Result<Overview, CoreError> {
        let handle = self.conversation(&conversation.group_id);
        let mut inboxes: Vec<InboxId> = handle
            .members()
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        inboxes.sort();
        inboxes.dedup();
        let (title, peer_address, my_role) = match &conversation.dm_peer {
            Some(peer) => {
                let address = self.address_of(peer).await;
                (self.label_of(peer).await, address, Role::Member)
            }
            None => {
                let settings = handle.settings().await?;
                let role = me.map_or(Role::Member, |m| settings.role(&m));
                let title = match &conversation.name {
                    Some(name) => name.clone(),
                    None => {
                        let mut names = Vec::new();
                        let others = inboxes.iter().filter(|i| Some(**i) != me);
                        for inbox in others.take(TITLE_MEMBERS) {
                            names.push(self.label_of(inbox).await);
                        }
                        if names.is_empty() {
                            "New group".to_owned()
                        } else {
                            names.join(", ")
                        }
                    }
                };
                (title, None, role)
            }
        };
        let last_message = match conversation.last_message.clone() {
            Some(m) => Some(self.message_overview_as(me, m).await),
            None => None,
        };
        Ok(Overview {
            conversation,
            title,
            peer_address,
            member_count: inboxes.len(),
            my_role,
            last_message,
        })
    }
}

impl ConversationHandle<'_> {
    /// The conversation as a list or a header shows it.
    pub async fn overview(&self) -> Result<Overview, CoreError> {
        let conversation = self.summary().await?;
        let me = self.client.my_inbox().await?;
        self.client.overview_of(me, conversation).await
    }

    /// Up to `limit` messages before message `before` (the newest when `None`), oldest first,
    /// each with who sent it, and whether older ones remain.
    pub async fn message_overviews(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<MessageOverview>, bool), CoreError> {
        let (page, more) = self.messages_page(before, limit).await?;
        let me = self.client.my_inbox().await?;
        let receipts = self.read_receipts().await?;
        let mut out = Vec::with_capacity(page.len());
        for message in page {
            out.push(
                self.client
                    .message_overview_with(me, message, &receipts)
                    .await,
            );
        }
        Ok((out, more))
    }

    /// The group's members (each inbox once) with their roles, as its member list shows them.
    pub async fn member_overviews(&self) -> Result<Vec<MemberOverview>, CoreError> {
        let me = self.client.my_inbox().await?;
        let settings = self.settings().await?;
        let mut inboxes: Vec<InboxId> = self.members().await?.into_iter().map(|(i, _)| i).collect();
        inboxes.sort();
        inboxes.dedup();
        let mut out = Vec::with_capacity(inboxes.len());
        for inbox in inboxes {
            out.push(MemberOverview {
                address: self.client.address_of(&inbox).await,
                label: self.client.label_of(&inbox).await,
                role: settings.role(&inbox),
                is_me: Some(inbox) == me,
                inbox,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_address_is_shortened_and_anything_else_is_kept() {
        assert_eq!(
            short_address("0x1234567890abcdef1234567890abcdef1234abcd"),
            "0x1234…abcd"
        );
        assert_eq!(short_address("Hikers"), "Hikers");
        assert_eq!(short_address("0x1234"), "0x1234");
        assert_eq!(
            short_address(&format!("0x{}", "g".repeat(40))),
            format!("0x{}", "g".repeat(40))
        );
    }
}
