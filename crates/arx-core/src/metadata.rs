//! A group's shared settings (profile, roles, policies, disappearing timer) and the rules for
//! changing them.
//!
//! The settings live in an MLS group context extension, so they change only through commits;
//! every member checks each commit against the settings in force before it ([`check_commit`]):
//! the policies say who adds and removes members and edits the profile (admins unless a super
//! admin said otherwise), only super admins change who is an admin and the policies, and anyone
//! may remove an inbox that asked to leave (a self-remove proposal). In a DM either person may
//! set the disappearing timer, and nothing else.

use std::collections::{BTreeSet, HashMap};

use arx_identity::InboxId;
use openmls::prelude::{
    Capabilities, Extension, ExtensionType, Extensions, GroupContext, LeafNodeIndex, MlsGroup,
    Proposal, RequiredCapabilitiesExtension, Sender, StagedCommit, UnknownExtension,
};
use prost::Message as _;

use crate::{error::CoreError, mls::credential_inbox};

/// Group context extension type of [`GroupMetadata`] (private-use range).
pub const METADATA_EXTENSION: u16 = 0xff0a;

/// Longest group name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest group description, in bytes of UTF-8.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Largest group image.
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// Shortest and longest disappearing timer.
pub const MIN_DISAPPEAR_MS: u64 = 10_000;
pub const MAX_DISAPPEAR_MS: u64 = 366 * 24 * 3600 * 1000;

/// Who may make a kind of change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    Everyone,
    #[default]
    Admins,
    SuperAdmins,
}

impl Policy {
    pub fn allows(self, role: Role) -> bool {
        match self {
            Self::Everyone => true,
            Self::Admins => role >= Role::Admin,
            Self::SuperAdmins => role == Role::SuperAdmin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Admins => "admins",
            Self::SuperAdmins => "super_admins",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "everyone" => Some(Self::Everyone),
            "admins" => Some(Self::Admins),
            "super_admins" | "super-admins" => Some(Self::SuperAdmins),
            _ => None,
        }
    }

    pub(crate) fn to_proto(self) -> arx_proto::Policy {
        match self {
            Self::Everyone => arx_proto::Policy::Everyone,
            Self::Admins => arx_proto::Policy::Admins,
            Self::SuperAdmins => arx_proto::Policy::SuperAdmins,
        }
    }

    pub(crate) fn from_proto(value: i32) -> Result<Self, CoreError> {
        match arx_proto::Policy::try_from(value) {
            Ok(arx_proto::Policy::Everyone) => Ok(Self::Everyone),
            Ok(arx_proto::Policy::Admins) => Ok(Self::Admins),
            Ok(arx_proto::Policy::SuperAdmins) => Ok(Self::SuperAdmins),
            Err(_) => Err(CoreError::InvalidGroupSettings(format!("policy {value}"))),
        }
    }
}

/// Who may add members, remove members and edit the profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policies {
    pub add_members: Policy,
    pub remove_members: Policy,
    pub update_profile: Policy,
}

/// What an inbox may do in a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    SuperAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::SuperAdmin => "super_admin",
        }
    }
}

/// A group's shared settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupMetadata {
    pub name: Option<String>,
    pub super_admins: BTreeSet<InboxId>,
    pub admins: BTreeSet<InboxId>,
    pub description: Option<String>,
    /// The group's image, sealed on IPFS.
    pub image: Option<crate::content::AttachmentInfo>,
    pub policies: Policies,
    /// Messages disappear this long after they were sent.
    pub disappear_after_ms: Option<u64>,
}

/// Leaf capabilities every ARX installation advertises (in key packages and as a group's
/// creator), so that groups may carry the metadata extension.
pub fn capabilities() -> Capabilities {
    Capabilities::builder()
        .extensions(vec![
            ExtensionType::Unknown(METADATA_EXTENSION),
            ExtensionType::LastResort,
        ])
        .build()
}

impl GroupMetadata {
    /// A new group's settings: its creator is the super admin.
    pub fn for_creator(name: Option<&str>, creator: InboxId) -> Self {
        Self {
            name: name.map(str::to_owned),
            super_admins: BTreeSet::from([creator]),
            ..Self::default()
        }
    }

    pub fn role(&self, inbox: &InboxId) -> Role {
        if self.super_admins.contains(inbox) {
            Role::SuperAdmin
        } else if self.admins.contains(inbox) {
            Role::Admin
        } else {
            Role::Member
        }
    }

    pub fn is_admin(&self, inbox: &InboxId) -> bool {
        self.role(inbox) >= Role::Admin
    }

    pub fn to_extensions(&self) -> Result<Extensions<GroupContext>, CoreError> {
        let proto = arx_proto::GroupMetadata {
            name: self.name.clone().unwrap_or_default(),
            super_admins: self
                .super_admins
                .iter()
                .map(|i| i.as_bytes().to_vec())
                .collect(),
            admins: self.admins.iter().map(|i| i.as_bytes().to_vec()).collect(),
            description: self.description.clone().unwrap_or_default(),
            image: self.image.as_ref().map(crate::content::wire_attachment),
            add_members: self.policies.add_members.to_proto().into(),
            remove_members: self.policies.remove_members.to_proto().into(),
            update_profile: self.policies.update_profile.to_proto().into(),
            disappear_after_ms: self.disappear_after_ms.unwrap_or(0),
        };
        // Every member must support the settings extension for commits that change it.
        let required = RequiredCapabilitiesExtension::new(
            &[ExtensionType::Unknown(METADATA_EXTENSION)],
            &[],
            &[],
        );
        Extensions::from_vec(vec![
            Extension::RequiredCapabilities(required),
            Extension::Unknown(METADATA_EXTENSION, UnknownExtension(proto.encode_to_vec())),
        ])
        .map_err(|e| CoreError::MlsOperation(e.to_string()))
    }

    /// The settings in a group context's extensions (none: a group without settings, where
    /// nobody is an admin, such as a DM).
    pub fn from_extensions(extensions: &Extensions<GroupContext>) -> Result<Self, CoreError> {
        let Some(ext) = extensions.unknown(METADATA_EXTENSION) else {
            return Ok(Self::default());
        };
        let proto = arx_proto::GroupMetadata::decode(ext.0.as_slice())
            .map_err(|e| CoreError::InvalidGroupSettings(e.to_string()))?;
        if proto.name.len() > MAX_NAME_BYTES {
            return Err(CoreError::InvalidGroupSettings("name too long".into()));
        }
        if proto.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(CoreError::InvalidGroupSettings(
                "description too long".into(),
            ));
        }
        let timer = proto.disappear_after_ms;
        if timer != 0 && !(MIN_DISAPPEAR_MS..=MAX_DISAPPEAR_MS).contains(&timer) {
            return Err(CoreError::InvalidGroupSettings(format!(
                "a disappearing timer of {timer} ms"
            )));
        }
        let image = match proto.image {
            None => None,
            Some(image) => Some(
                crate::content::attachment_info(image)
                    .filter(|i| i.size <= MAX_IMAGE_BYTES)
                    .ok_or_else(|| CoreError::InvalidGroupSettings("a bad group image".into()))?,
            ),
        };
        let inboxes = |list: &[Vec<u8>]| {
            list.iter()
                .map(|b| InboxId::from_slice(b).map_err(CoreError::from))
                .collect::<Result<BTreeSet<_>, _>>()
        };
        Ok(Self {
            name: Some(proto.name).filter(|n| !n.is_empty()),
            super_admins: inboxes(&proto.super_admins)?,
            admins: inboxes(&proto.admins)?,
            description: Some(proto.description).filter(|d| !d.is_empty()),
            image,
            policies: Policies {
                add_members: Policy::from_proto(proto.add_members)?,
                remove_members: Policy::from_proto(proto.remove_members)?,
                update_profile: Policy::from_proto(proto.update_profile)?,
            },
            disappear_after_ms: Some(timer).filter(|t| *t != 0),
        })
    }

    pub fn of_group(group: &MlsGroup) -> Result<Self, CoreError> {
        Self::from_extensions(group.extensions())
    }
}

/// The settings `before` with `change` applied (values checked as `from_extensions` does).
pub(crate) fn apply_change(
    before: &GroupMetadata,
    change: &arx_proto::SettingsChange,
) -> Result<GroupMetadata, CoreError> {
    let mut after = before.clone();
    if let Some(name) = &change.name {
        after.name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    }
    if let Some(description) = &change.description {
        after.description = Some(description.trim().to_owned()).filter(|d| !d.is_empty());
    }
    if change.clear_image {
        after.image = None;
    }
    if let Some(image) = &change.image {
        after.image = Some(
            crate::content::attachment_info(image.clone())
                .ok_or_else(|| CoreError::InvalidInput("a bad group image".into()))?,
        );
    }
    if let Some(p) = change.add_members {
        after.policies.add_members = Policy::from_proto(p)?;
    }
    if let Some(p) = change.remove_members {
        after.policies.remove_members = Policy::from_proto(p)?;
    }
    if let Some(p) = change.update_profile {
        after.policies.update_profile = Policy::from_proto(p)?;
    }
    if let Some(ms) = change.disappear_after_ms {
        after.disappear_after_ms = Some(ms).filter(|t| *t != 0);
    }
    // The same limits every reader applies.
    GroupMetadata::from_extensions(&after.to_extensions()?)
        .map_err(|e| CoreError::InvalidInput(e.to_string()))?;
    Ok(after)
}

fn refused(why: &str) -> CoreError {
    CoreError::NotPermitted(why.into())
}

/// Whether an inbox with `role` may change the settings `before` into `after` (`is_dm`: only
/// the disappearing timer may change, by either person).
pub(crate) fn check_settings_change(
    before: &GroupMetadata,
    after: &GroupMetadata,
    role: Role,
    is_dm: bool,
) -> Result<(), CoreError> {
    if is_dm {
        let timer_only = GroupMetadata {
            disappear_after_ms: before.disappear_after_ms,
            ..after.clone()
        };
        if timer_only != GroupMetadata::default() {
            return Err(refused("a DM has no settings but its disappearing timer"));
        }
        return Ok(());
    }
    let profile_changed = after.name != before.name
        || after.description != before.description
        || after.image != before.image
        || after.disappear_after_ms != before.disappear_after_ms;
    if profile_changed && !before.policies.update_profile.allows(role) {
        return Err(refused(
            "the group's settings do not allow you to edit its profile",
        ));
    }
    if (after.admins != before.admins || after.super_admins != before.super_admins)
        && role != Role::SuperAdmin
    {
        return Err(refused("only super admins may change who is an admin"));
    }
    if after.policies != before.policies && role != Role::SuperAdmin {
        return Err(refused("only super admins may change who may do what"));
    }
    if after.super_admins.is_empty() {
        return Err(refused("a group keeps at least one super admin"));
    }
    Ok(())
}

/// Checks that `committer` may make the changes `staged` makes to `group` (whose settings in
/// force are `before`). Any member may remove a leaf whose installation was revoked
/// (`revoked`, judged at the commit's point by the caller).
pub(crate) fn check_commit(
    group: &MlsGroup,
    before: &GroupMetadata,
    committer: &InboxId,
    staged: &StagedCommit,
    revoked: &BTreeSet<LeafNodeIndex>,
    is_dm: bool,
) -> Result<(), CoreError> {
    let inbox_of: HashMap<LeafNodeIndex, InboxId> = group
        .members()
        .filter_map(|m| Some((m.index, credential_inbox(&m.credential).ok()?)))
        .collect();
    let role = before.role(committer);
    // Inboxes that asked to leave: a remove proposal a leaf sent about itself.
    let leaving: BTreeSet<InboxId> = staged
        .remove_proposals()
        .filter(|r| matches!(r.sender(), Sender::Member(l) if *l == r.remove_proposal().removed()))
        .filter_map(|r| inbox_of.get(&r.remove_proposal().removed()).copied())
        .collect();
    if staged.add_proposals().next().is_some() && !before.policies.add_members.allows(role) {
        return Err(refused(
            "the group's settings do not allow you to add members",
        ));
    }
    for remove in staged.remove_proposals() {
        let removed = inbox_of
            .get(&remove.remove_proposal().removed())
            .ok_or_else(|| refused("removes a leaf that is not a member"))?;
        if leaving.contains(removed) || revoked.contains(&remove.remove_proposal().removed()) {
            continue;
        }
        if !before.policies.remove_members.allows(role) {
            return Err(refused(
                "the group's settings do not allow you to remove members",
            ));
        }
        if before.role(removed) == Role::SuperAdmin && role != Role::SuperAdmin {
            return Err(refused("only a super admin may remove a super admin"));
        }
    }
    let changes_settings = staged
        .queued_proposals()
        .any(|p| matches!(p.proposal(), Proposal::GroupContextExtensions(_)));
    if changes_settings {
        let after = GroupMetadata::from_extensions(staged.group_context().extensions())?;
        check_settings_change(before, &after, role, is_dm)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn inbox(byte: u8) -> InboxId {
        InboxId::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn settings_survive_the_extension_and_give_each_inbox_its_role() {
        let mut settings = GroupMetadata::for_creator(Some("Plans"), inbox(1));
        settings.admins.insert(inbox(2));
        let back = GroupMetadata::from_extensions(&settings.to_extensions().unwrap()).unwrap();
        assert_eq!(back, settings);
        assert_eq!(back.role(&inbox(1)), Role::SuperAdmin);
        assert_eq!(back.role(&inbox(2)), Role::Admin);
        assert_eq!(back.role(&inbox(3)), Role::Member);
        assert!(back.is_admin(&inbox(1)) && back.is_admin(&inbox(2)));
        assert!(!back.is_admin(&inbox(3)));
    }

    #[test]
    fn a_group_without_settings_has_no_admins_and_bad_settings_are_refused() {
        let none = GroupMetadata::from_extensions(&Extensions::empty()).unwrap();
        assert_eq!(none, GroupMetadata::default());
        assert!(!none.is_admin(&inbox(1)));
        let bad = Extensions::single(Extension::Unknown(
            METADATA_EXTENSION,
            UnknownExtension(vec![0xff, 0xff, 0xff]),
        ))
        .unwrap();
        assert!(GroupMetadata::from_extensions(&bad).is_err());
        let long = arx_proto::GroupMetadata {
            name: "x".repeat(MAX_NAME_BYTES + 1),
            ..Default::default()
        };
        let long = Extensions::single(Extension::Unknown(
            METADATA_EXTENSION,
            UnknownExtension(long.encode_to_vec()),
        ))
        .unwrap();
        assert!(GroupMetadata::from_extensions(&long).is_err());
    }
}
