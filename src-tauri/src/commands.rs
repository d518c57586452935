//! Tauri commands: each converts its arguments, calls the engine, and maps errors to
//! `{code, message, retryable}`.

use std::sync::Arc;

use arx_identity::LocalWallet;
use tauri::State;

use crate::{
    app::{parse_address, App},
    dto::{
        Account, AddFailure, AddMembersResult, AppInfo, ConversationView, CreateGroupResult,
        DeviceView, EngineEvent, ExternalSigninRequest, MemberView, MessagePage, MessageView,
        NetworkSetting, RevokeResult, Role, StartupMark, WalletKind,
    },
    error::{AppCode, CommandError, CommandResult},
    signature::command,
    signin::Outcome,
    views,
};

pub(crate) type AppState<'a> = State<'a, Arc<App>>;

pub(crate) fn group_id(conversation_id: &str) -> CommandResult<Vec<u8>> {
    hex::decode(conversation_id)
        .ok()
        .filter(|id| !id.is_empty() && id.len() <= 64)
        .ok_or_else(|| CommandError::input("not a conversation id"))
}

pub(crate) fn message_id(id: &str) -> CommandResult<i64> {
    id.parse()
        .map_err(|_| CommandError::input("not a message id"))
}

fn failures(list: Vec<(arx_identity::InstallationKey, String)>) -> Vec<AddFailure> {
    list.into_iter()
        .map(|(key, reason)| AddFailure {
            member: key.to_string(),
            code: arx_core::CoreCode::KeyPackageUnusable.into(),
            message: reason,
        })
        .collect()
}

fn parse_installation(installation_id: &str) -> CommandResult<arx_identity::InstallationKey> {
    installation_id
        .trim()
        .parse()
        .map_err(|_| CommandError::input("not an installation id (64 hex characters)"))
}

/// A wallet signature given by the UI: 65 bytes of hex.
fn parse_signature(signature_hex: &str) -> CommandResult<[u8; 65]> {
    hex::decode(signature_hex.trim().trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            CommandError::new(
                arx_identity::IdentityCode::SignatureInvalid,
                "the wallet's signature is not 65 bytes of hex",
            )
        })
}

command! {
pub async fn app_info(app: AppState<'_>) -> CommandResult<AppInfo> {
    app.ready().await;
    Ok(AppInfo {
        // The version the installers carry (tauri.conf.json), which the updater compares.
        version: app.handle.package_info().version.to_string(),
        profile: app.profile.clone(),
        network: match &app.node_override {
            Some(url) => NetworkSetting::Remote { url: url.clone() },
            None => app.network(),
        },
        account: app.account().await?,
        data_dir: app.profile_dir.display().to_string(),
        log_dir: app.log_dir.display().to_string(),
        notifications: app.notifications(),
        ipfs_url: std::env::var("ARX_IPFS_API").ok().or(app.settings().ipfs_url),
    })
}
}

command! {
/// The connection state now (the UI asks once its event listener is in place).
pub async fn connection_state(app: AppState<'_>) -> CommandResult<EngineEvent> {
    Ok(app.connection_state())
}
}

command! {
pub async fn create_builtin_account(app: AppState<'_>) -> CommandResult<Account> {
    app.inner().register_builtin(None).await
}
}

command! {
pub async fn import_builtin_key(
    app: AppState<'_>,
    private_key_hex: String,
) -> CommandResult<Account> {
    let bytes: [u8; 32] = hex::decode(private_key_hex.trim().trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CommandError::input("a private key is 32 bytes of hex (64 characters)"))?;
    let wallet = LocalWallet::from_bytes(&bytes)?;
    app.inner().register_builtin(Some(wallet)).await
}
}

command! {
pub async fn begin_external_signin(
    app: AppState<'_>,
    address: String,
) -> CommandResult<ExternalSigninRequest> {
    let address = parse_address(&address)?;
    let client = app.client().await?;
    let (text, pending) = crate::signin::begin(client, address).await?;
    let request_id = hex::encode(rand::random::<[u8; 16]>());
    app.signins
        .lock()
        .map_err(|_| CommandError::new(AppCode::Internal, "sign-in state unavailable"))?
        .insert(request_id.clone(), pending);
    Ok(ExternalSigninRequest {
        request_id,
        text_to_sign: text,
    })
}
}

command! {
pub async fn complete_external_signin(
    app: AppState<'_>,
    request_id: String,
    signature_hex: String,
) -> CommandResult<Account> {
    let pending = app
        .signins
        .lock()
        .map_err(|_| CommandError::new(AppCode::Internal, "sign-in state unavailable"))?
        .remove(&request_id)
        .ok_or_else(|| CommandError::input("no such sign-in (start again)"))?;
    let signature = parse_signature(&signature_hex)?;
    match pending.sign(signature).await {
        Ok(Ok(Outcome::Registered)) => app.inner().registered(WalletKind::External).await,
        Ok(Ok(Outcome::Revoked(_))) => Err(CommandError::input(
            "that request was a device revocation (finish it with complete_external_revoke)",
        )),
        Ok(Err(err)) => Err(err.into()),
        Err(_) => Err(CommandError::new(
            AppCode::Internal,
            "the sign-in task ended",
        )),
    }
}
}

command! {
pub async fn list_conversations(app: AppState<'_>) -> CommandResult<Vec<ConversationView>> {
    let client = app.client().await?;
    let overviews = client.overviews().await?;
    Ok(overviews
        .into_iter()
        .map(views::conversation_view)
        .collect())
}
}

command! {
pub async fn open_dm(app: AppState<'_>, peer: String) -> CommandResult<ConversationView> {
    let client = app.client().await?;
    let inbox = app.resolve(&client, &peer).await?;
    let group = client.dm(&inbox).await?;
    let view = views::conversation_view(client.conversation(&group).overview().await?);
    app.emit(EngineEvent::Conversation {
        conversation: view.clone(),
    });
    Ok(view)
}
}

command! {
pub async fn create_group(
    app: AppState<'_>,
    name: String,
    members: Vec<String>,
) -> CommandResult<CreateGroupResult> {
    let client = app.client().await?;
    let mut inboxes = Vec::with_capacity(members.len());
    for member in &members {
        inboxes.push(app.resolve(&client, member).await?);
    }
    let name = name.trim();
    let created = client
        .create_group((!name.is_empty()).then_some(name), &inboxes)
        .await?;
    let conversation =
        views::conversation_view(client.conversation(&created.group_id).overview().await?);
    app.emit(EngineEvent::Conversation {
        conversation: conversation.clone(),
    });
    Ok(CreateGroupResult {
        conversation,
        failures: failures(created.failed),
    })
}
}

command! {
pub async fn add_members(
    app: AppState<'_>,
    conversation_id: String,
    members: Vec<String>,
) -> CommandResult<AddMembersResult> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let mut inboxes = Vec::with_capacity(members.len());
    for member in &members {
        inboxes.push(app.resolve(&client, member).await?);
    }
    let failed = client.conversation(&group).add_members(&inboxes).await?;
    app.emit_conversation(&client, &group).await;
    Ok(AddMembersResult {
        failures: failures(failed),
    })
}
}

command! {
pub async fn remove_members(
    app: AppState<'_>,
    conversation_id: String,
    members: Vec<String>,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let mut inboxes = Vec::with_capacity(members.len());
    for member in &members {
        inboxes.push(app.resolve(&client, member).await?);
    }
    client.conversation(&group).remove_members(&inboxes).await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
pub async fn leave_group(app: AppState<'_>, conversation_id: String) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client.conversation(&group).leave().await?;
    app.emit(EngineEvent::ConversationRemoved { conversation_id });
    Ok(())
}
}

command! {
pub async fn group_members(
    app: AppState<'_>,
    conversation_id: String,
) -> CommandResult<Vec<MemberView>> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let members = client.conversation(&group).member_overviews().await?;
    Ok(members
        .into_iter()
        .map(|m| MemberView {
            address: match m.address {
                Some(address) => address.to_checksum(None),
                None => m.inbox.to_string(),
            },
            inbox_id: m.inbox.to_string(),
            label: m.label,
            role: Role::from(m.role),
            is_me: m.is_me,
        })
        .collect())
}
}

command! {
pub async fn rename_group(
    app: AppState<'_>,
    conversation_id: String,
    name: String,
) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client.conversation(&group).rename(&name).await?;
    app.emit_conversation(&client, &group).await;
    Ok(())
}
}

command! {
pub async fn list_messages(
    app: AppState<'_>,
    conversation_id: String,
    before_id: Option<String>,
    limit: u32,
) -> CommandResult<MessagePage> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let before = before_id.as_deref().map(message_id).transpose()?;
    let (page, has_more) = client
        .conversation(&group)
        .message_overviews(before, limit)
        .await?;
    let messages = page.into_iter().map(views::message_view).collect();
    Ok(MessagePage { messages, has_more })
}
}

command! {
pub async fn send_text(
    app: AppState<'_>,
    conversation_id: String,
    text: String,
    markdown: bool,
) -> CommandResult<MessageView> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    // Stored, then published at once: a failure leaves the message `failed`, and the engine
    // sends it again (retryable failures) on its next sync, as on reconnect.
    let sent = client.conversation(&group).send(&text, markdown).await?;
    if let Some(err) = &sent.failure {
        tracing::info!(code = %err.code(), "message not sent yet: {err}");
    }
    app.emit_conversation(&client, &group).await;
    Ok(views::message_view(
        client.message_overview(sent.message).await?,
    ))
}
}

command! {
pub async fn retry_message(app: AppState<'_>, message_id: String) -> CommandResult<()> {
    let client = app.client().await?;
    let id = self::message_id(&message_id)?;
    let result = client.retry_message(id).await;
    if let Ok(m) = client.message(id).await {
        if let Ok(m) = client.message_overview(m).await {
            app.emit(EngineEvent::Message {
                message: views::message_view(m),
            });
        }
    }
    Ok(result?)
}
}

command! {
pub async fn mark_read(app: AppState<'_>, conversation_id: String) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    client.conversation(&group).mark_read().await?;
    app.emit_conversation(&client, &group).await;
    // The read receipt (if one was queued) leaves now, without holding up the view.
    let sender = client.clone();
    tokio::spawn(async move {
        if let Err(err) = sender.conversation(&group).send_queued().await {
            tracing::info!(code = %err.code(), "read receipt waits for the next sync: {err}");
        }
    });
    Ok(())
}
}

command! {
/// Opens a link from a message in the browser (http, https and mailto only).
pub async fn open_link(app: AppState<'_>, url: String) -> CommandResult<()> {
    use tauri_plugin_opener::OpenerExt;
    let url = crate::desktop::checked_link(&url)?;
    app.handle
        .opener()
        .open_url(url, None::<&str>)
        .map_err(|e| CommandError::new(AppCode::OpenLink, e.to_string()))
}
}

command! {
/// The UI shows its first interactive screen: logs the time since the process started with the
/// page's own marks (milliseconds since it began loading) and, when `ARX_READY_FILE` names a
/// file, writes the time there (for the start-up benchmark).
pub async fn ui_ready(app: AppState<'_>, marks: Vec<StartupMark>) -> CommandResult<()> {
    let elapsed = app.started.elapsed();
    let page = marks
        .iter()
        .take(16)
        .map(|m| {
            let name: String = m
                .name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(24)
                .collect();
            format!("{name}={:.0}", m.ms)
        })
        .collect::<Vec<_>>()
        .join(" ");
    tracing::info!(ms = elapsed.as_millis() as u64, page = %page, "first screen ready");
    if let Some(path) = std::env::var_os("ARX_READY_FILE") {
        std::fs::write(path, format!("{}\n", elapsed.as_millis()))
            .map_err(|e| CommandError::new(AppCode::ReadyFile, e.to_string()))?;
    }
    Ok(())
}
}

command! {
pub async fn set_notifications(app: AppState<'_>, enabled: bool) -> CommandResult<()> {
    app.set_notifications(enabled)
}
}

command! {
/// This account's devices (installations), this one first.
pub async fn list_devices(app: AppState<'_>) -> CommandResult<Vec<DeviceView>> {
    let client = app.client().await?;
    let mut devices = client.devices().await?;
    devices.sort_by_key(|d| !d.this_device);
    Ok(devices
        .into_iter()
        .map(|d| {
            let id = d.installation.to_string();
            DeviceView {
                label: format!("{}…{}", &id[..8], &id[id.len() - 4..]),
                installation_id: id,
                this_device: d.this_device,
            }
        })
        .collect())
}
}

command! {
/// Revokes another device with the built-in wallet, and removes it from every conversation.
pub async fn revoke_device(app: AppState<'_>, installation_id: String) -> CommandResult<RevokeResult> {
    let installation = parse_installation(&installation_id)?;
    let wallet = arx_identity::LocalWallet::from_bytes(&app.builtin_key()?)?;
    let client = app.client().await?;
    let revoked = client
        .revoke_installation(&arx_core::LocalWalletSigner(wallet), &installation)
        .await?;
    Ok(RevokeResult::from(&revoked))
}
}

command! {
/// Starts revoking a device with the external wallet: returns the text it must sign.
pub async fn begin_external_revoke(
    app: AppState<'_>,
    installation_id: String,
) -> CommandResult<ExternalSigninRequest> {
    let installation = parse_installation(&installation_id)?;
    let client = app.client().await?;
    let address = client
        .registration()
        .await?
        .ok_or_else(|| CommandError::new(arx_core::CoreCode::NotRegistered, "not signed in"))?
        .wallet;
    let (text, pending) = crate::signin::begin_revoke(client, address, installation).await?;
    let request_id = hex::encode(rand::random::<[u8; 16]>());
    app.signins
        .lock()
        .map_err(|_| CommandError::new(AppCode::Internal, "wallet request state unavailable"))?
        .insert(request_id.clone(), pending);
    Ok(ExternalSigninRequest {
        request_id,
        text_to_sign: text,
    })
}
}

command! {
/// Finishes a revocation started by `begin_external_revoke` with the wallet's signature.
pub async fn complete_external_revoke(
    app: AppState<'_>,
    request_id: String,
    signature_hex: String,
) -> CommandResult<RevokeResult> {
    let pending = app
        .signins
        .lock()
        .map_err(|_| CommandError::new(AppCode::Internal, "wallet request state unavailable"))?
        .remove(&request_id)
        .ok_or_else(|| CommandError::input("no such request (start again)"))?;
    let signature = parse_signature(&signature_hex)?;
    match pending.sign(signature).await {
        Ok(Ok(Outcome::Revoked(revoked))) => Ok(RevokeResult::from(&revoked)),
        Ok(Ok(Outcome::Registered)) => Err(CommandError::input(
            "that request was a sign-in (finish it with complete_external_signin)",
        )),
        Ok(Err(err)) => Err(err.into()),
        Err(_) => Err(CommandError::new(AppCode::Internal, "the revocation task ended")),
    }
}
}

command! {
/// The built-in wallet's private key (hex), for the person to write down.
pub async fn export_builtin_key(app: AppState<'_>) -> CommandResult<String> {
    Ok(format!("0x{}", hex::encode(app.builtin_key()?)))
}
}

command! {
pub async fn set_network(app: AppState<'_>, network: NetworkSetting) -> CommandResult<()> {
    app.inner().set_network(network).await
}
}

/// Every command's signature, in the order of `generate_handler!` (the TypeScript `Commands` map
/// is made from it: a command missing here cannot be called from the UI's typed `call`).
pub fn signatures() -> Vec<crate::signature::Signature> {
    vec![
        app_info::signature(),
        connection_state::signature(),
        create_builtin_account::signature(),
        import_builtin_key::signature(),
        begin_external_signin::signature(),
        complete_external_signin::signature(),
        list_conversations::signature(),
        open_dm::signature(),
        create_group::signature(),
        add_members::signature(),
        remove_members::signature(),
        leave_group::signature(),
        group_members::signature(),
        rename_group::signature(),
        list_messages::signature(),
        send_text::signature(),
        retry_message::signature(),
        mark_read::signature(),
        open_link::signature(),
        ui_ready::signature(),
        set_notifications::signature(),
        export_builtin_key::signature(),
        list_devices::signature(),
        revoke_device::signature(),
        begin_external_revoke::signature(),
        complete_external_revoke::signature(),
        set_network::signature(),
    ]
    .into_iter()
    .chain(crate::rich::signatures())
    .chain(crate::group::signatures())
    .chain(crate::updates::signatures())
    .chain(crate::links::signatures())
    .collect()
}
