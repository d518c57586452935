//! A group's shared settings (name, super admins, admins) and the rules for changing it.
//!
//! The settings live in an MLS group context extension, so they change only through commits;
//! every member checks each commit against the settings in force before it ([`check_commit`]):
//! only admins add or remove members and rename the group, only super admins change who is an
//! admin, and anyone may remove an inbox that asked to leave (a self-remove proposal).

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
            admins: BTreeSet::new(),
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
        let inboxes = |list: &[Vec<u8>]| {
            list.iter()
                .map(|b| InboxId::from_slice(b).map_err(CoreError::from))
                .collect::<Result<BTreeSet<_>, _>>()
        };
        Ok(Self {
            name: Some(proto.name).filter(|n| !n.is_empty()),
            super_admins: inboxes(&proto.super_admins)?,
            admins: inboxes(&proto.admins)?,
        })
    }

    pub fn of_group(group: &MlsGroup) -> Result<Self, CoreError> {
        Self::from_extensions(group.extensions())
    }
}

fn refused(why: &str) -> CoreError {
    CoreError::NotPermitted(why.into())
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
) -> Result<(), CoreError> {
    let inbox_of: HashMap<LeafNodeIndex, InboxId> = group
        .members()
        .filter_map(|m| Some((m.index, credential_inbox(&m.credential).ok()?)))
        .collect();
    let admin = before.is_admin(committer);
    // Inboxes that asked to leave: a remove proposal a leaf sent about itself.
    let leaving: BTreeSet<InboxId> = staged
        .remove_proposals()
        .filter(|r| matches!(r.sender(), Sender::Member(l) if *l == r.remove_proposal().removed()))
        .filter_map(|r| inbox_of.get(&r.remove_proposal().removed()).copied())
        .collect();
    if staged.add_proposals().next().is_some() && !admin {
        return Err(refused("only admins may add members"));
    }
    for remove in staged.remove_proposals() {
        let removed = inbox_of
            .get(&remove.remove_proposal().removed())
            .ok_or_else(|| refused("removes a leaf that is not a member"))?;
        if leaving.contains(removed) || revoked.contains(&remove.remove_proposal().removed()) {
            continue;
        }
        if !admin {
            return Err(refused("only admins may remove members"));
        }
        if before.role(removed) == Role::SuperAdmin && before.role(committer) != Role::SuperAdmin {
            return Err(refused("only a super admin may remove a super admin"));
        }
    }
    let changes_settings = staged
        .queued_proposals()
        .any(|p| matches!(p.proposal(), Proposal::GroupContextExtensions(_)));
    if changes_settings {
        let after = GroupMetadata::from_extensions(staged.group_context().extensions())?;
        if after.name != before.name && !admin {
            return Err(refused("only admins may rename the group"));
        }
        if (after.admins != before.admins || after.super_admins != before.super_admins)
            && before.role(committer) != Role::SuperAdmin
        {
            return Err(refused("only super admins may change who is an admin"));
        }
        if after.super_admins.is_empty() {
            return Err(refused("a group keeps at least one super admin"));
        }
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
