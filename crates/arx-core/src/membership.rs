//! Changing a conversation: members, name, roles, leaving. Each is an intent, run at once.

use arx_identity::{InboxId, InstallationKey};

use crate::{
    client::Client,
    conversation::ConversationHandle,
    db::{self, intents::IntentKind, IntentState},
    error::CoreError,
    intents::{inboxes_data, insert_intent, role_data},
    metadata::Role,
    model::SyncSummary,
    transport::NodeIdentity,
};

impl Client {
    /// Records an intent, runs the group's intents, and reports how this one ended: for an add,
    /// the installations it could not reach.
    pub(crate) async fn run_intent(
        &self,
        node: &NodeIdentity,
        group_id: &[u8],
        kind: IntentKind,
        data: &[u8],
    ) -> Result<Vec<(InstallationKey, String)>, CoreError> {
        let mut tx = self.write_tx().await?;
        let id = insert_intent(&mut tx, group_id, kind, data).await?;
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
}

impl ConversationHandle<'_> {
    /// Records and runs an intent of this conversation.
    pub(crate) async fn change(
        &self,
        kind: IntentKind,
        data: &[u8],
    ) -> Result<Vec<(InstallationKey, String)>, CoreError> {
        let node = self.client.node().await?;
        self.client
            .run_intent(&node, &self.group_id, kind, data)
            .await
    }

    /// Adds every installation of `members` to the group. Returns installations that could not
    /// be added (missing or invalid key package); the others are added.
    pub async fn add_members(
        &self,
        members: &[InboxId],
    ) -> Result<Vec<(InstallationKey, String)>, CoreError> {
        self.client.inbox().await?;
        self.check_membership_change(members, true).await?;
        self.change(IntentKind::AddMembers, &inboxes_data(members))
            .await
    }

    /// Removes every installation of `members` from the group; from the next epoch on they
    /// cannot read it.
    pub async fn remove_members(&self, members: &[InboxId]) -> Result<(), CoreError> {
        self.client.inbox().await?;
        self.check_membership_change(members, false).await?;
        let present: Vec<InboxId> = self.members().await?.into_iter().map(|(i, _)| i).collect();
        if !members.iter().any(|m| present.contains(m)) {
            return Err(CoreError::InvalidInput("none of them is a member".into()));
        }
        self.change(IntentKind::RemoveMembers, &inboxes_data(members))
            .await?;
        Ok(())
    }

    /// Renames the group (as the group's policy allows: admins unless a super admin said
    /// otherwise).
    pub async fn rename(&self, name: &str) -> Result<(), CoreError> {
        let name = name.trim();
        if name.len() > crate::metadata::MAX_NAME_BYTES {
            return Err(CoreError::InvalidInput(format!(
                "a name of {} bytes (at most {})",
                name.len(),
                crate::metadata::MAX_NAME_BYTES
            )));
        }
        self.require(
            |s, me| s.policies.update_profile.allows(s.role(me)),
            "edit its profile",
        )
        .await?;
        self.change(IntentKind::Rename, name.as_bytes()).await?;
        Ok(())
    }

    /// Makes `member` a member, admin or super admin of the group (super admins only).
    pub async fn set_role(&self, member: &InboxId, role: Role) -> Result<(), CoreError> {
        self.require_role(Role::SuperAdmin).await?;
        if !self
            .members()
            .await?
            .iter()
            .any(|(inbox, _)| inbox == member)
        {
            return Err(CoreError::InvalidInput(format!(
                "{member} is not a member of this group"
            )));
        }
        self.change(IntentKind::SetRole, &role_data(member, role))
            .await?;
        Ok(())
    }

    /// Leaves the group: asks the members to remove this installation (and the other
    /// installations of this inbox). The conversation stays `leaving` until a member commits
    /// it (the first admin online, else the first member), then `left`.
    pub async fn leave(&self) -> Result<(), CoreError> {
        let client = self.client;
        client.inbox().await?;
        if self.is_dm().await? {
            return Err(CoreError::InvalidInput(
                "a DM cannot be left; it can only be hidden".into(),
            ));
        }
        self.require_active().await?;
        let node = client.node().await?;
        let mut tx = client.write_tx().await?;
        let id = insert_intent(&mut tx, &self.group_id, IntentKind::Leave, &[]).await?;
        db::conversations::mark_leaving(&mut *tx, &self.group_id)
            .await?
            .required("the conversation to leave")?;
        tx.commit().await?;
        client
            .process_group(&node, &self.group_id, &mut SyncSummary::default())
            .await?;
        match client.intent_state(id).await? {
            IntentState::Failed { code, message } => Err(CoreError::IntentFailed { code, message }),
            _ => Ok(()),
        }
    }

    /// Refuses unless this installation's inbox has at least `role` in the group.
    async fn require_role(&self, role: Role) -> Result<(), CoreError> {
        let what = match role {
            Role::SuperAdmin => "do this (only super admins may)",
            _ => "do this (only admins may)",
        };
        self.require(move |s, me| s.role(me) >= role, what).await
    }

    /// Refuses, unless the group's settings let this person do `what` (`allowed`). Judged by
    /// the group's latest settings: a role or policy may have just changed.
    pub(crate) async fn require(
        &self,
        allowed: impl Fn(&crate::GroupMetadata, &InboxId) -> bool,
        what: &str,
    ) -> Result<(), CoreError> {
        let me = self.client.inbox().await?;
        if self.is_dm().await? {
            return Err(CoreError::InvalidInput(
                "a DM has no admins or settings".into(),
            ));
        }
        self.require_active().await?;
        let mut settings = self.settings().await?;
        if !allowed(&settings, &me) {
            let node = self.client.node().await?;
            self.client
                .process_group(&node, &self.group_id, &mut SyncSummary::default())
                .await?;
            settings = self.settings().await?;
        }
        if !allowed(&settings, &me) {
            return Err(CoreError::NotPermitted(format!(
                "the group's settings do not allow you to {what}"
            )));
        }
        Ok(())
    }

    /// Refuses membership changes this installation may not ask for.
    async fn check_membership_change(
        &self,
        members: &[InboxId],
        adding: bool,
    ) -> Result<(), CoreError> {
        if self.is_dm().await? {
            return Err(CoreError::InvalidInput(
                "a DM's members cannot change".into(),
            ));
        }
        self.require_active().await?;
        if members.is_empty() {
            return Err(CoreError::InvalidInput("no members given".into()));
        }
        if adding {
            self.require(
                |s, me| s.policies.add_members.allows(s.role(me)),
                "add members",
            )
            .await
        } else {
            self.require(
                |s, me| s.policies.remove_members.allows(s.role(me)),
                "remove members",
            )
            .await
        }
    }
}
