//! Commands for a conversation's settings: the group profile (description, image), roles,
//! policies and the disappearing timer.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};

use crate::{
    commands::{group_id, AppState},
    dto::{GroupSettingsView, PoliciesView, PolicyView, Role},
    error::{CommandError, CommandResult},
    signature::command,
};

fn policy_view(p: arx_core::Policy) -> PolicyView {
    match p {
        arx_core::Policy::Everyone => PolicyView::Everyone,
        arx_core::Policy::Admins => PolicyView::Admins,
        arx_core::Policy::SuperAdmins => PolicyView::SuperAdmins,
    }
}

fn policy(p: PolicyView) -> arx_core::Policy {
    match p {
        PolicyView::Everyone => arx_core::Policy::Everyone,
        PolicyView::Admins => arx_core::Policy::Admins,
        PolicyView::SuperAdmins => arx_core::Policy::SuperAdmins,
    }
}

command! {
/// The conversation's settings and what this person may change.
pub async fn group_settings(
    app: AppState<'_>,
    conversation_id: String,
) -> CommandResult<GroupSettingsView> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let conversation = client.conversation(&group);
    let settings = conversation.settings().await?;
    let is_dm = conversation.summary().await?.dm_peer.is_some();
    let me = client
        .registration()
        .await?
        .map(|r| r.inbox_id)
        .ok_or_else(|| CommandError::from(arx_core::CoreError::NotRegistered))?;
    let role = settings.role(&me);
    let p = settings.policies;
    Ok(GroupSettingsView {
        conversation_id,
        is_dm,
        name: settings.name.clone(),
        description: settings.description.clone(),
        has_image: settings.image.is_some(),
        policies: PoliciesView {
            add_members: policy_view(p.add_members),
            remove_members: policy_view(p.remove_members),
            update_profile: policy_view(p.update_profile),
        },
        disappear_after_secs: settings.disappear_after_ms.map(|ms| ms / 1000),
        my_role: Role::from(role),
        can_edit_profile: is_dm || p.update_profile.allows(role),
        can_add_members: !is_dm && p.add_members.allows(role),
        can_remove_members: !is_dm && p.remove_members.allows(role),
        can_manage_admins: !is_dm && role == arx_core::Role::SuperAdmin,
    })
}
}

command! {
pub async fn set_group_description(
    app: AppState<'_>,
    conversation_id: String,
    description: String,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client.conversation(&group).set_description(&description).await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
/// Sets the group image from an image file's bytes (base64; re-encoded without metadata).
pub async fn set_group_image(
    app: AppState<'_>,
    conversation_id: String,
    data_base64: String,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    if data_base64.len() / 4 * 3 > 25 * 1024 * 1024 {
        return Err(CommandError::input("an image of more than 25 MiB"));
    }
    let bytes = BASE64
        .decode(data_base64.trim())
        .map_err(|_| CommandError::input("the image data is not base64"))?;
    client
        .conversation(&group)
        .set_group_image(arx_core::FileSource::Bytes {
            name: "group".into(),
            bytes,
        })
        .await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
pub async fn clear_group_image(app: AppState<'_>, conversation_id: String) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client.conversation(&group).clear_group_image().await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
/// The group image as a data URL (fetched through IPFS and checked first), if it has one.
pub async fn group_image(
    app: AppState<'_>,
    conversation_id: String,
) -> CommandResult<Option<String>> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let Some(path) = client.conversation(&group).open_group_image().await? else {
        return Ok(None);
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| CommandError::input(format!("the group image cannot be read: {e}")))?;
    if !arx_media::picture::preview_is_acceptable(&bytes) {
        return Err(CommandError::input("the group image cannot be shown"));
    }
    let mime = match arx_media::picture::format_of(&bytes) {
        Some(arx_media::picture::ImageFormat::Png) => "image/png",
        _ => "image/jpeg",
    };
    Ok(Some(format!("data:{mime};base64,{}", BASE64.encode(bytes))))
}
}

command! {
/// Sets who may add members, remove members and edit the profile (super admins).
pub async fn set_group_policies(
    app: AppState<'_>,
    conversation_id: String,
    policies: PoliciesView,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client
        .conversation(&group)
        .set_policies(arx_core::Policies {
            add_members: policy(policies.add_members),
            remove_members: policy(policies.remove_members),
            update_profile: policy(policies.update_profile),
        })
        .await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
/// Makes a member a `member`, `admin` or `super_admin` (super admins).
pub async fn set_member_role(
    app: AppState<'_>,
    conversation_id: String,
    inbox_id: String,
    role: Role,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let inbox = client.resolve_member(&inbox_id).await?;
    let role = match role {
        Role::SuperAdmin => arx_core::Role::SuperAdmin,
        Role::Admin => arx_core::Role::Admin,
        Role::Member => arx_core::Role::Member,
    };
    client.conversation(&group).set_role(&inbox, role).await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
/// Makes messages sent from now on disappear `seconds` after they were sent (`null`: never).
pub async fn set_disappearing(
    app: AppState<'_>,
    conversation_id: String,
    seconds: Option<u32>,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client
        .conversation(&group)
        .set_disappearing(seconds.map(|s| std::time::Duration::from_secs(u64::from(s))))
        .await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

/// Every command of this module, for the generated TypeScript.
pub fn signatures() -> Vec<crate::signature::Signature> {
    vec![
        group_settings::signature(),
        set_group_description::signature(),
        set_group_image::signature(),
        clear_group_image::signature(),
        group_image::signature(),
        set_group_policies::signature(),
        set_member_role::signature(),
        set_disappearing::signature(),
    ]
}
