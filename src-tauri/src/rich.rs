//! Commands for files, replies, reactions, edits, deletes and Requests. Each converts its
//! arguments, calls the engine, tells the UI what changed, and maps errors.

use std::{path::PathBuf, sync::Arc};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use tauri::Manager;

use crate::{
    app::App,
    commands::{group_id, message_id, AppState},
    dto::{ConversationView, EngineEvent, MessageView, TransferProgress},
    error::{CommandError, CommandResult},
    signature::command,
    views,
};

/// Largest pasted file (bytes come through the window; larger files are dropped or picked,
/// which passes their path).
const MAX_PASTED_BYTES: usize = 25 * 1024 * 1024;

/// Reports a transfer's progress to the UI, about every percent.
fn progress(app: &Arc<App>, transfer_id: String) -> arx_media::Progress {
    let app = app.clone();
    let last = std::sync::atomic::AtomicU64::new(0);
    Arc::new(move |done, total| {
        let step = (total / 100).max(64 * 1024);
        let previous = last.load(std::sync::atomic::Ordering::Relaxed);
        if done == total || done >= previous + step || done < previous {
            last.store(done, std::sync::atomic::Ordering::Relaxed);
            app.emit(EngineEvent::Transfer {
                progress: TransferProgress {
                    transfer_id: transfer_id.clone(),
                    done,
                    total,
                },
            });
        }
    })
}

/// The engine, message `message_id` and its conversation, for an action on that message.
async fn located(
    app: &App,
    message_id: &str,
) -> CommandResult<(Arc<arx_core::Client>, i64, Vec<u8>)> {
    let client = app.client().await?;
    let id = self::message_id(message_id)?;
    let group = client.message(id).await?.group_id;
    Ok((client, id, group))
}

/// The message as the UI shows it, also pushed as an event, with its conversation.
async fn changed(
    app: &App,
    client: &arx_core::Client,
    message: arx_core::StoredMessage,
) -> CommandResult<MessageView> {
    let group = message.group_id.clone();
    let view = views::message_view(client.message_overview(message).await?);
    app.emit(EngineEvent::Message {
        message: view.clone(),
    });
    app.emit_conversation(client, &group).await;
    Ok(view)
}

/// After an action on message `id`: the message it changed, as the UI shows it.
async fn target_changed(
    app: &App,
    client: &arx_core::Client,
    id: i64,
    sent: arx_core::Outgoing,
) -> CommandResult<MessageView> {
    if let Some(err) = &sent.failure {
        tracing::info!(code = %err.code(), "action not sent yet: {err}");
    }
    changed(app, client, client.message(id).await?).await
}

command! {
/// Sends files by path (picked or dropped) with a caption; `transfer_id` names the upload's
/// progress events.
pub async fn send_files(
    app: AppState<'_>,
    conversation_id: String,
    paths: Vec<String>,
    caption: String,
    transfer_id: String,
) -> CommandResult<MessageView> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    let files = paths
        .into_iter()
        .map(|p| arx_core::FileSource::Path(PathBuf::from(p)))
        .collect();
    let sent = client
        .conversation(&group)
        .send_files(files, &caption, false, Some(progress(app.inner(), transfer_id)))
        .await?;
    if let Some(err) = &sent.failure {
        tracing::info!(code = %err.code(), "message not sent yet: {err}");
    }
    changed(&app, &client, sent.message).await
}
}

command! {
/// Sends a pasted file (its bytes as base64, at most 25 MiB) with a caption.
pub async fn send_pasted(
    app: AppState<'_>,
    conversation_id: String,
    name: String,
    data_base64: String,
    caption: String,
    transfer_id: String,
) -> CommandResult<MessageView> {
    let client = app.client().await?;
    let group = group_id(&conversation_id)?;
    if data_base64.len() / 4 * 3 > MAX_PASTED_BYTES {
        return Err(CommandError::input(
            "a pasted file of more than 25 MiB: attach it from its folder instead",
        ));
    }
    let bytes = BASE64
        .decode(data_base64.trim())
        .map_err(|_| CommandError::input("the pasted data is not base64"))?;
    let sent = client
        .conversation(&group)
        .send_files(
            vec![arx_core::FileSource::Bytes { name, bytes }],
            &caption,
            false,
            Some(progress(app.inner(), transfer_id)),
        )
        .await?;
    changed(&app, &client, sent.message).await
}
}

command! {
/// The image of file `index` of a message as a data URL for the preview and the viewer
/// (fetched through IPFS, checked and opened first; progress events are named
/// `<message id>/<index>`).
pub async fn open_image(
    app: AppState<'_>,
    message_id: String,
    index: u32,
) -> CommandResult<String> {
    let client = app.client().await?;
    let id = self::message_id(&message_id)?;
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    let attachment = client.attachment(id, index).await?;
    if !attachment.is_image() {
        return Err(CommandError::input("this file is not an image"));
    }
    let transfer = format!("{message_id}/{index}");
    let path = client
        .open_attachment(id, index, Some(progress(app.inner(), transfer)))
        .await?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| CommandError::input(format!("the opened image cannot be read: {e}")))?;
    if !arx_media::picture::preview_is_acceptable(&bytes) {
        return Err(CommandError::input(
            "this image is too large or not in a format that can be shown",
        ));
    }
    let mime = match arx_media::picture::format_of(&bytes) {
        Some(arx_media::picture::ImageFormat::Png) => "image/png",
        Some(arx_media::picture::ImageFormat::Gif) => "image/gif",
        Some(arx_media::picture::ImageFormat::WebP) => "image/webp",
        _ => "image/jpeg",
    };
    Ok(format!("data:{mime};base64,{}", BASE64.encode(bytes)))
}
}

command! {
/// Saves file `index` of a message into the Downloads folder (never over an existing file)
/// and returns where.
pub async fn save_attachment(
    app: AppState<'_>,
    message_id: String,
    index: u32,
) -> CommandResult<String> {
    let client = app.client().await?;
    let id = self::message_id(&message_id)?;
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    let attachment = client.attachment(id, index).await?;
    let folder = app
        .handle
        .path()
        .download_dir()
        .map_err(|e| CommandError::input(format!("no Downloads folder: {e}")))?;
    let destination = free_name(&folder, &attachment.name);
    let transfer = format!("{message_id}/{index}");
    client
        .save_attachment(
            id,
            index,
            &destination,
            Some(progress(app.inner(), transfer)),
        )
        .await?;
    Ok(destination.display().to_string())
}
}

/// `folder/name`, or `folder/name (2)` … when taken.
fn free_name(folder: &std::path::Path, name: &str) -> PathBuf {
    let first = folder.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    (2..10_000)
        .map(|n| folder.join(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

command! {
pub async fn reply(
    app: AppState<'_>,
    message_id: String,
    text: String,
    markdown: bool,
) -> CommandResult<MessageView> {
    let (client, id, group) = located(&app, &message_id).await?;
    let sent = client.conversation(&group).reply(id, &text, markdown).await?;
    changed(&app, &client, sent.message).await
}
}

command! {
/// Adds a reaction, or takes it back with `remove`.
pub async fn react(
    app: AppState<'_>,
    message_id: String,
    emoji: String,
    remove: bool,
) -> CommandResult<MessageView> {
    let (client, id, group) = located(&app, &message_id).await?;
    let sent = client.conversation(&group).react(id, &emoji, remove).await?;
    target_changed(&app, &client, id, sent).await
}
}

command! {
pub async fn edit_message(
    app: AppState<'_>,
    message_id: String,
    text: String,
    markdown: bool,
) -> CommandResult<MessageView> {
    let (client, id, group) = located(&app, &message_id).await?;
    let sent = client.conversation(&group).edit(id, &text, markdown).await?;
    target_changed(&app, &client, id, sent).await
}
}

command! {
/// Deletes one of this person's messages for everyone.
pub async fn delete_message(app: AppState<'_>, message_id: String) -> CommandResult<MessageView> {
    let (client, id, group) = located(&app, &message_id).await?;
    let sent = client.conversation(&group).delete_for_everyone(id).await?;
    target_changed(&app, &client, id, sent).await
}
}

command! {
/// Conversations waiting in Requests, most recently active first.
pub async fn list_requests(app: AppState<'_>) -> CommandResult<Vec<ConversationView>> {
    let client = app.client().await?;
    Ok(client
        .request_overviews()
        .await?
        .into_iter()
        .map(views::conversation_view)
        .collect())
}
}

/// What the person decided about a conversation in Requests.
enum Decision {
    Accept,
    Block,
    Delete,
}

/// Applies a consent decision to a conversation and tells the UI.
async fn decide(app: &App, conversation_id: &str, decision: Decision) -> CommandResult<()> {
    let client = app.client().await?;
    let group = group_id(conversation_id)?;
    let conversation = client.conversation(&group);
    match decision {
        Decision::Accept => conversation.accept().await?,
        Decision::Block => conversation.block().await?,
        Decision::Delete => conversation.delete_request().await?,
    }
    app.emit_conversation(&client, &group).await;
    Ok(())
}

command! {
/// Accepts a request: the conversation moves to the list.
pub async fn accept_request(app: AppState<'_>, conversation_id: String) -> CommandResult<()> {
    decide(&app, &conversation_id, Decision::Accept).await
}
}

command! {
/// Blocks the conversation's other person (a DM) or inviter (a group): it and everything
/// else from them is hidden.
pub async fn block_conversation(app: AppState<'_>, conversation_id: String) -> CommandResult<()> {
    decide(&app, &conversation_id, Decision::Block).await
}
}

command! {
/// Deletes a request: the conversation is hidden.
pub async fn delete_request(app: AppState<'_>, conversation_id: String) -> CommandResult<()> {
    decide(&app, &conversation_id, Decision::Delete).await
}
}

command! {
/// Sends files through the Kubo RPC API at `url` (`null`: the app's own IPFS daemon).
pub async fn set_ipfs_url(app: AppState<'_>, url: Option<String>) -> CommandResult<()> {
    app.inner().set_ipfs_url(url).await
}
}

/// Every command of this module, for the generated TypeScript.
pub fn signatures() -> Vec<crate::signature::Signature> {
    vec![
        send_files::signature(),
        send_pasted::signature(),
        open_image::signature(),
        save_attachment::signature(),
        reply::signature(),
        react::signature(),
        edit_message::signature(),
        delete_message::signature(),
        list_requests::signature(),
        accept_request::signature(),
        block_conversation::signature(),
        delete_request::signature(),
        set_ipfs_url::signature(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_never_replaces_one_already_there() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(free_name(dir.path(), "a.pdf"), dir.path().join("a.pdf"));
        std::fs::write(dir.path().join("a.pdf"), b"x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(free_name(dir.path(), "a.pdf"), dir.path().join("a (2).pdf"));
        std::fs::write(dir.path().join("noext"), b"x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(free_name(dir.path(), "noext"), dir.path().join("noext (2)"));
    }
}
