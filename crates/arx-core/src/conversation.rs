//! A conversation handle (`client.conversation(id)`): what one person does with one
//! conversation (read it, send to it, change its members and settings), and the listing of
//! every conversation.

use std::collections::BTreeMap;

use arx_identity::{InboxId, InstallationKey};
use openmls::prelude::GroupId;
use openmls_traits::OpenMlsProvider as _;

use crate::{
    client::Client,
    content::stored_message,
    db::{self, ConversationKind, ConversationState},
    error::CoreError,
    metadata::GroupMetadata,
    mls::{credential_inbox, load_context, mls_storage, MlsProvider},
    model::{Conversation, StoredMessage},
};

/// One conversation of a client. Cheap to make: nothing is read until a method is called.
#[derive(Clone)]
pub struct ConversationHandle<'a> {
    pub(crate) client: &'a Client,
    pub(crate) group_id: Vec<u8>,
}

impl Client {
    /// The conversation whose group id is `group_id` (whether it exists is checked by each
    /// call on it).
    pub fn conversation(&self, group_id: &[u8]) -> ConversationHandle<'_> {
        ConversationHandle {
            client: self,
            group_id: group_id.to_vec(),
        }
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
        let rows = db::conversations::list(&self.db, me.as_bytes(), only).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let last_message = match row.newest_message {
                Some(id) => Some(self.message(id).await?),
                None => None,
            };
            out.push(Conversation {
                group_id: row.group_id,
                kind: row.kind,
                name: row.name,
                dm_peer: row.dm_peer,
                last_activity_ns: row.last_activity_ns,
                state: row.state,
                unread: row.unread,
                consent: row.consent,
                last_message,
            });
        }
        Ok(out)
    }

    /// One stored message.
    pub async fn message(&self, id: i64) -> Result<StoredMessage, CoreError> {
        let row = db::messages::get(&self.db, id)
            .await?
            .ok_or_else(|| CoreError::InvalidInput(format!("no message {id}")))?;
        Ok(stored_message(row))
    }

    /// What changed after message id `after`: each new shown message (`false`), and each
    /// message an action (reaction, receipt, edit, delete) changed (`true`), once.
    pub(crate) async fn messages_after(
        &self,
        after: i64,
    ) -> Result<Vec<(StoredMessage, bool)>, CoreError> {
        let rows = db::messages::after(&self.db, after).await?;
        let mut out: Vec<(StoredMessage, bool)> = Vec::with_capacity(rows.len());
        let mut conn = self.db.acquire().await?;
        for row in rows {
            let target = match crate::content::decode(&row.content) {
                crate::content::Decoded::Shown { .. } => {
                    out.push((stored_message(row), false));
                    continue;
                }
                crate::content::Decoded::Reaction { target, .. }
                | crate::content::Decoded::Receipt { target }
                | crate::content::Decoded::Edit { target, .. }
                | crate::content::Decoded::Delete { target } => target,
            };
            let Some((id, _)) = db::effects::find(&mut conn, &row.group_id, &target).await? else {
                continue;
            };
            if out.iter().any(|(m, changed)| *changed && m.id == id) {
                continue;
            }
            if let Some(found) = db::messages::get(&mut *conn, id).await? {
                out.push((stored_message(found), true));
            }
        }
        Ok(out)
    }

    /// Id of the newest stored message (0 when none).
    pub(crate) async fn last_message_id(&self) -> Result<i64, CoreError> {
        db::messages::last_id(&self.db).await
    }

    /// The group ids of every conversation.
    pub(crate) async fn conversation_ids(&self) -> Result<Vec<Vec<u8>>, CoreError> {
        db::conversations::ids(&self.db).await
    }
}

impl ConversationHandle<'_> {
    /// The conversation's group id.
    pub fn id(&self) -> &[u8] {
        &self.group_id
    }

    /// The conversation as listed.
    pub async fn summary(&self) -> Result<Conversation, CoreError> {
        self.client
            .list_conversations(Some(&self.group_id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::InvalidInput("no such conversation".into()))
    }

    /// Messages people sent in the conversation, in the order they were stored (system lines
    /// are in [`ConversationHandle::messages_page`], as a conversation view shows them).
    pub async fn messages(&self) -> Result<Vec<StoredMessage>, CoreError> {
        let rows = db::messages::of_conversation(&self.client.db, &self.group_id).await?;
        Ok(rows.into_iter().map(stored_message).collect())
    }

    /// Up to `limit` messages before message `before` (the newest when `None`), oldest first,
    /// and whether older ones remain.
    pub async fn messages_page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), CoreError> {
        let limit = i64::from(limit.clamp(1, 1000));
        let rows = db::messages::newest_before(
            &self.client.db,
            &self.group_id,
            before.unwrap_or(i64::MAX),
            limit + 1,
        )
        .await?;
        let has_more = rows.len() as i64 > limit;
        let mut page: Vec<StoredMessage> = rows
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(stored_message)
            .collect();
        page.reverse();
        Ok((page, has_more))
    }

    /// The group's current MLS epoch.
    pub async fn epoch(&self) -> Result<u64, CoreError> {
        let mut conn = self.client.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        Ok(load_context(&provider, &self.group_id)?.epoch().as_u64())
    }

    /// The group's settings as this installation last applied them.
    pub async fn settings(&self) -> Result<GroupMetadata, CoreError> {
        let mut conn = self.client.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        GroupMetadata::from_extensions(load_context(&provider, &self.group_id)?.extensions())
    }

    /// Members of the conversation: (inbox, installation) per leaf.
    pub async fn members(&self) -> Result<Vec<(InboxId, InstallationKey)>, CoreError> {
        let mut conn = self.client.db.acquire().await?;
        let provider = MlsProvider::new(&mut conn);
        let group = openmls::prelude::MlsGroup::load(
            provider.storage(),
            &GroupId::from_slice(&self.group_id),
        )
        .map_err(mls_storage)?
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

    /// Whether the conversation is a DM (whose membership never changes).
    pub(crate) async fn is_dm(&self) -> Result<bool, CoreError> {
        Ok(
            db::conversations::kind(&self.client.db, &self.group_id).await?
                == Some(ConversationKind::Dm),
        )
    }

    /// Refuses unless this installation is still in the conversation.
    pub(crate) async fn require_active(&self) -> Result<(), CoreError> {
        check_active(db::conversations::state(&self.client.db, &self.group_id).await?)
    }
}

/// Refuses unless a conversation in `state` (`None`: there is none) is one this installation is
/// still in.
pub(crate) fn check_active(state: Option<ConversationState>) -> Result<(), CoreError> {
    match state {
        None => Err(CoreError::InvalidInput("no such conversation".into())),
        Some(ConversationState::Active) => Ok(()),
        Some(_) => Err(CoreError::NotAMember),
    }
}
