//! Building the commit (or, to leave, the proposal) of a membership or settings intent.

use arx_identity::{InboxId, InstallationKey};
use openmls::prelude::{
    tls_codec::Serialize as _, KeyPackage, LeafNodeIndex, MlsGroup, MlsMessageOut,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider as _;
use prost::Message as _;

use super::data_inboxes;
use crate::{
    db::intents::{IntentKind, OpenIntent},
    error::CoreError,
    metadata::{GroupMetadata, Role},
    mls::{credential_inbox, epoch_of, mls_op, mls_storage, MlsProvider},
    sync::{inbox_at, leave_requests},
};

/// MLS message, the epoch it was built on, and a welcome with its targets.
pub(crate) type Built = (Vec<u8>, i64, Option<(Vec<u8>, Vec<u8>)>);

fn serialized(message: &MlsMessageOut) -> Result<Vec<u8>, CoreError> {
    message.tls_serialize_detached().map_err(mls_op)
}

fn not_permitted(what: &str) -> CoreError {
    CoreError::NotPermitted(format!("the group's settings do not allow you to {what}"))
}

/// Builds the commit (or, to leave, the proposal) of a membership or settings intent on the
/// group's current epoch, after checking this installation may make it. `None`: there is
/// nothing left to do.
pub(super) fn build_change(
    provider: &MlsProvider<'_>,
    signer: &SignatureKeyPair,
    group: &mut MlsGroup,
    me: &InboxId,
    intent: &OpenIntent,
    key_packages: Vec<(InstallationKey, KeyPackage)>,
) -> Result<Option<Built>, CoreError> {
    let settings = GroupMetadata::of_group(group)?;
    let epoch = epoch_of(group)?;
    match intent.kind {
        IntentKind::Message => Err(CoreError::StateConflict("a message built as a change")),
        IntentKind::AddMembers => {
            // The creation commit of a group (epoch 0) is the creator's own.
            if epoch > 0 && !settings.policies.add_members.allows(settings.role(me)) {
                return Err(not_permitted("add members"));
            }
            if key_packages.is_empty() {
                return Ok(None);
            }
            let targets: Vec<u8> = key_packages
                .iter()
                .flat_map(|(k, _)| k.as_bytes().to_vec())
                .collect();
            let kps: Vec<KeyPackage> = key_packages.into_iter().map(|(_, kp)| kp).collect();
            if epoch == 0 {
                let claim = crate::dm::creation_claim(group.group_id().as_slice(), signer)?;
                group.set_aad(claim);
            }
            let (commit, welcome, _) = group.add_members(provider, signer, &kps).map_err(mls_op)?;
            Ok(Some((
                serialized(&commit)?,
                epoch,
                Some((serialized(&welcome)?, targets)),
            )))
        }
        IntentKind::RemoveMembers => {
            let leaves = removal_leaves(group, &settings, me, &data_inboxes(&intent.data)?)?;
            if leaves.is_empty() {
                return Ok(None);
            }
            let (commit, _, _) = group
                .remove_members(provider, signer, &leaves)
                .map_err(mls_op)?;
            Ok(Some((serialized(&commit)?, epoch, None)))
        }
        IntentKind::UpdateSettings => {
            let change = arx_proto::SettingsChange::decode(intent.data.as_slice())
                .map_err(|e| CoreError::corrupt("intents.data", e.to_string()))?;
            let is_dm = group.group_id().as_slice().len() == crate::dm::DM_ID_LEN;
            let after = crate::metadata::apply_change(&settings, &change)?;
            crate::metadata::check_settings_change(&settings, &after, settings.role(me), is_dm)?;
            if after == settings {
                return Ok(None);
            }
            let (commit, _, _) = group
                .update_group_context_extensions(provider, after.to_extensions()?, signer)
                .map_err(mls_op)?;
            Ok(Some((serialized(&commit)?, epoch, None)))
        }
        IntentKind::Rename | IntentKind::SetRole => {
            let after = changed_settings(&settings, me, intent)?;
            if after == settings {
                return Ok(None);
            }
            let (commit, _, _) = group
                .update_group_context_extensions(provider, after.to_extensions()?, signer)
                .map_err(mls_op)?;
            Ok(Some((serialized(&commit)?, epoch, None)))
        }
        IntentKind::Leave => {
            let proposal = group.leave_group(provider, signer).map_err(mls_op)?;
            Ok(Some((serialized(&proposal)?, epoch, None)))
        }
        IntentKind::CommitPending => {
            let revoked = data_installations(&intent.data)?;
            commit_pending_removals(provider, signer, group, epoch, &revoked)
        }
    }
}

/// The leaves of every installation of `inboxes`, after checking this installation may remove
/// them.
fn removal_leaves(
    group: &MlsGroup,
    settings: &GroupMetadata,
    me: &InboxId,
    inboxes: &[InboxId],
) -> Result<Vec<LeafNodeIndex>, CoreError> {
    if !settings.policies.remove_members.allows(settings.role(me)) {
        return Err(not_permitted("remove members"));
    }
    if inboxes.iter().any(|i| settings.role(i) == Role::SuperAdmin)
        && settings.role(me) != Role::SuperAdmin
    {
        return Err(CoreError::NotPermitted(
            "only a super admin may remove a super admin".into(),
        ));
    }
    Ok(group
        .members()
        .filter(|m| credential_inbox(&m.credential).is_ok_and(|i| inboxes.contains(&i)))
        .map(|m| m.index)
        .collect())
}

/// The settings a rename or role change asks for, after checking this installation may.
fn changed_settings(
    settings: &GroupMetadata,
    me: &InboxId,
    intent: &OpenIntent,
) -> Result<GroupMetadata, CoreError> {
    let mut after = settings.clone();
    if intent.kind == IntentKind::Rename {
        if !settings.policies.update_profile.allows(settings.role(me)) {
            return Err(not_permitted("edit its profile"));
        }
        let name = String::from_utf8(intent.data.clone())
            .map_err(|_| CoreError::InvalidInput("a name that is not UTF-8".into()))?;
        after.name = Some(name).filter(|n| !n.is_empty());
        return Ok(after);
    }
    if settings.role(me) != Role::SuperAdmin {
        return Err(CoreError::NotPermitted(
            "only super admins may change who is an admin".into(),
        ));
    }
    let (inbox, role) = data_role(&intent.data)?;
    after.admins.remove(&inbox);
    after.super_admins.remove(&inbox);
    match role {
        Role::SuperAdmin => after.super_admins.insert(inbox),
        Role::Admin => after.admins.insert(inbox),
        Role::Member => false,
    };
    if after.super_admins.is_empty() {
        return Err(CoreError::NotPermitted(
            "a group keeps at least one super admin".into(),
        ));
    }
    Ok(after)
}

/// Commits the members' requests to leave, with every other installation of each leaving inbox.
/// Commits the pending removals: the members' requests to leave (with every other
/// installation of each leaving inbox), and the leaves of `revoked` installations. Any member
/// may commit them.
fn commit_pending_removals(
    provider: &MlsProvider<'_>,
    signer: &SignatureKeyPair,
    group: &mut MlsGroup,
    epoch: i64,
    revoked: &[InstallationKey],
) -> Result<Option<Built>, CoreError> {
    let requested = leave_requests(group);
    let revoked_leaves: Vec<LeafNodeIndex> = group
        .members()
        .filter(|m| {
            !requested.contains(&m.index)
                && revoked
                    .iter()
                    .any(|k| k.as_bytes().as_slice() == m.signature_key.as_slice())
        })
        .map(|m| m.index)
        .collect();
    if requested.is_empty() && revoked_leaves.is_empty() {
        return Ok(None);
    }
    let leaving: Vec<InboxId> = requested
        .iter()
        .filter_map(|l| inbox_at(group, *l))
        .collect();
    let mut also: Vec<LeafNodeIndex> = group
        .members()
        .filter(|m| {
            !requested.contains(&m.index)
                && credential_inbox(&m.credential).is_ok_and(|i| leaving.contains(&i))
        })
        .map(|m| m.index)
        .collect();
    for leaf in revoked_leaves {
        if !also.contains(&leaf) {
            also.push(leaf);
        }
    }
    let bundle = group
        .commit_builder()
        .propose_removals(also)
        .consume_proposal_store(true)
        .load_psks(provider.storage())
        .map_err(mls_storage)?
        .build(provider.rand(), provider.crypto(), signer, |_| true)
        .map_err(mls_op)?
        .stage_commit(provider)
        .map_err(mls_op)?;
    let (commit, _, _) = bundle.into_contents();
    Ok(Some((serialized(&commit)?, epoch, None)))
}

/// The data of a pending-removals intent: the revoked installation keys, 32 bytes each.
pub(crate) fn installations_data(keys: &[InstallationKey]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.as_bytes().to_vec()).collect()
}

fn data_installations(data: &[u8]) -> Result<Vec<InstallationKey>, CoreError> {
    if !data.len().is_multiple_of(32) {
        return Err(CoreError::corrupt("intents.data", hex::encode(data)));
    }
    data.chunks(32)
        .map(|k| {
            InstallationKey::from_slice(k)
                .map_err(|_| CoreError::corrupt("intents.data", hex::encode(k)))
        })
        .collect()
}

/// The data of a role intent: the inbox id, then one byte for the role.
pub(crate) fn role_data(inbox: &InboxId, role: Role) -> Vec<u8> {
    let mut data = inbox.as_bytes().to_vec();
    data.push(match role {
        Role::Member => 0,
        Role::Admin => 1,
        Role::SuperAdmin => 2,
    });
    data
}

fn data_role(data: &[u8]) -> Result<(InboxId, Role), CoreError> {
    let (inbox, role) = data
        .split_at_checked(32)
        .ok_or_else(|| CoreError::corrupt("intents.data", "a role intent too short"))?;
    let role = match role {
        [0] => Role::Member,
        [1] => Role::Admin,
        [2] => Role::SuperAdmin,
        _ => {
            return Err(CoreError::corrupt(
                "intents.data",
                "a role intent with an unknown role",
            ))
        }
    };
    Ok((InboxId::from_slice(inbox)?, role))
}
