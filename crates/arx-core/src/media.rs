//! Files in conversations: sending them sealed to IPFS, fetching and opening them, and keeping
//! the cache of opened files to what stored messages still name.

use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use arx_media::{
    cache::DEFAULT_CACHE_BYTES, picture, transfer::STALL_TIMEOUT, MediaCache, MediaError,
    MediaStore, Progress, MAX_FILES_PER_MESSAGE, MAX_FILE_BYTES, MAX_NAME_BYTES,
};

use crate::{
    client::Client,
    content::{self, AttachmentInfo},
    conversation::ConversationHandle,
    db,
    error::CoreError,
    send::Outgoing,
};

/// Images up to this size are re-encoded (and stripped of metadata) before sending; larger
/// image files are refused rather than sent with their metadata.
const MAX_IMAGE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Where files go and where opened ones are kept.
pub struct Media {
    store: Arc<dyn MediaStore>,
    cache: MediaCache,
    stall: Duration,
}

/// A file to send: a path, or bytes with a name (pasted or dropped content).
pub enum FileSource {
    Path(PathBuf),
    Bytes { name: String, bytes: Vec<u8> },
}

impl Client {
    /// Sends and opens files through `store` (e.g. a [`arx_media::KuboStore`]), keeping opened
    /// files in `media/` of the data directory within `cache_bytes` (1 GiB when `None`); a
    /// download that receives nothing for `stall` (60 s when `None`) fails.
    pub fn use_media(
        &self,
        store: Arc<dyn MediaStore>,
        cache_bytes: Option<u64>,
        stall: Option<Duration>,
    ) -> Result<(), CoreError> {
        let cache = MediaCache::open(
            &self.data_dir().join("media"),
            cache_bytes.unwrap_or(DEFAULT_CACHE_BYTES),
        )?;
        let media = Media {
            store,
            cache,
            stall: stall.unwrap_or(STALL_TIMEOUT),
        };
        *self
            .media
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(media));
        Ok(())
    }

    /// Start-up upkeep: messages whose time is up go, and opened files no message names.
    pub async fn tidy_media(&self) -> Result<(), CoreError> {
        self.expire_messages().await?;
        self.sweep_media().await?;
        Ok(())
    }

    pub(crate) fn media(&self) -> Result<Arc<Media>, CoreError> {
        self.media
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(CoreError::MediaNotConfigured)
    }

    /// File `index` of message `id`, opened: fetched through IPFS, checked against the
    /// message's digest and opened into the cache (at once when cached). Returns its path in
    /// the cache.
    pub async fn open_attachment(
        &self,
        id: i64,
        index: usize,
        progress: Option<Progress>,
    ) -> Result<PathBuf, CoreError> {
        let attachment = self.attachment(id, index).await?;
        let media = self.media()?;
        let path = media.open_with(&attachment.sealed, progress).await?;
        Ok(path)
    }

    /// Saves file `index` of message `id` to `destination` (fetching it first if needed).
    pub async fn save_attachment(
        &self,
        id: i64,
        index: usize,
        destination: &Path,
        progress: Option<Progress>,
    ) -> Result<(), CoreError> {
        let opened = self.open_attachment(id, index, progress).await?;
        let destination = destination.to_owned();
        tokio::task::spawn_blocking(move || std::fs::copy(&opened, &destination))
            .await
            .map_err(|e| MediaError::Io(e.to_string()))?
            .map_err(|e| MediaError::Io(format!("saving the file: {e}")))?;
        Ok(())
    }

    /// File `index` of message `id`.
    pub async fn attachment(&self, id: i64, index: usize) -> Result<AttachmentInfo, CoreError> {
        let message = self.message(id).await?;
        message.attachments.get(index).cloned().ok_or_else(|| {
            CoreError::InvalidInput(format!(
                "message {id} has {} file(s); there is no file {index}",
                message.attachments.len()
            ))
        })
    }

    /// Removes opened files no stored message names any more (deleted or expired messages);
    /// returns how many were removed. Runs after deletes and at start-up.
    pub async fn sweep_media(&self) -> Result<usize, CoreError> {
        let Ok(media) = self.media() else {
            return Ok(0);
        };
        let wanted: std::collections::HashSet<String> = db::effects::wanted_digests(&self.db)
            .await?
            .iter()
            .map(hex::encode)
            .collect();
        let dir = media.cache.dir().to_owned();
        let removed = tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let is_cached = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
                if is_cached
                    && !wanted.contains(&name)
                    && std::fs::remove_file(entry.path()).is_ok()
                {
                    removed += 1;
                }
            }
            removed
        })
        .await
        .map_err(|e| MediaError::Io(e.to_string()))?;
        Ok(removed)
    }
}

/// A file name cut to the wire limit (at a character boundary, keeping the extension).
fn wire_name(name: &str) -> String {
    let name = content::safe_file_name(name);
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 16);
    let room = MAX_NAME_BYTES - ext.map_or(0, |e| e.len() + 1);
    let mut cut = String::new();
    for c in name.chars() {
        if cut.len() + c.len_utf8() > room {
            break;
        }
        cut.push(c);
    }
    match ext {
        Some(ext) => format!("{cut}.{ext}"),
        None => cut,
    }
}

fn mime_of(name: &str) -> String {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// A file checked before anything is uploaded: its name, size and how to read it.
struct Checked {
    name: String,
    size: u64,
    source: FileSource,
}

fn check(source: FileSource) -> Result<Checked, CoreError> {
    let (name, size) = match &source {
        FileSource::Path(path) => {
            let meta = std::fs::metadata(path).map_err(|e| MediaError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            if !meta.is_file() {
                return Err(MediaError::Unreadable {
                    path: path.display().to_string(),
                    reason: "not a file".into(),
                }
                .into());
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into());
            (name, meta.len())
        }
        FileSource::Bytes { name, bytes } => (name.clone(), bytes.len() as u64),
    };
    let name = wire_name(&name);
    if size > MAX_FILE_BYTES {
        return Err(MediaError::TooLarge {
            name,
            size,
            limit: MAX_FILE_BYTES,
        }
        .into());
    }
    Ok(Checked { name, size, source })
}

/// The first bytes of a file (to recognize images).
fn head(source: &FileSource) -> Result<Vec<u8>, CoreError> {
    match source {
        FileSource::Bytes { bytes, .. } => Ok(bytes.iter().take(64).copied().collect()),
        FileSource::Path(path) => {
            let mut file = std::fs::File::open(path).map_err(|e| MediaError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let mut head = vec![0u8; 64];
            let n = file.read(&mut head).map_err(|e| MediaError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            head.truncate(n);
            Ok(head)
        }
    }
}

fn read_all(source: FileSource) -> Result<Vec<u8>, CoreError> {
    match source {
        FileSource::Bytes { bytes, .. } => Ok(bytes),
        FileSource::Path(path) => std::fs::read(&path).map_err(|e| {
            MediaError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
            .into()
        }),
    }
}

impl ConversationHandle<'_> {
    /// Sends files (one to ten) with an optional caption. Every file is checked before any is
    /// uploaded (size, count, readable); images are re-encoded without their metadata and get
    /// a thumbnail; each file is sealed with its own key while it streams to IPFS. `progress`
    /// reports (bytes sealed and uploaded, bytes in all) over every file.
    pub async fn send_files(
        &self,
        files: Vec<FileSource>,
        caption: &str,
        markdown: bool,
        progress: Option<Progress>,
    ) -> Result<Outgoing, CoreError> {
        self.require_active().await?;
        if files.is_empty() {
            return Err(CoreError::InvalidInput("no files to send".into()));
        }
        if files.len() > MAX_FILES_PER_MESSAGE {
            return Err(MediaError::TooMany { count: files.len() }.into());
        }
        let media = self.client.media()?;
        let checked: Vec<Checked> = files.into_iter().map(check).collect::<Result<_, _>>()?;
        let total: u64 = checked
            .iter()
            .map(|c| arx_media::seal::sealed_len(c.size))
            .sum();
        let mut done_before = 0u64;
        let mut attachments = Vec::with_capacity(checked.len());
        for file in checked {
            let base = done_before;
            let overall = progress.clone().map(|p| -> Progress {
                Arc::new(move |done, _| p((base + done).min(total), total))
            });
            let sealed_len = arx_media::seal::sealed_len(file.size);
            let attachment = upload_one(&media, file, overall).await?;
            done_before += sealed_len;
            attachments.push(attachment);
        }
        let content = content::attachments_content(&attachments, caption, markdown)?;
        self.send_content(&content).await
    }
}

impl ConversationHandle<'_> {
    /// Forwards files already on IPFS (from a message here or in another conversation) without
    /// uploading them again: the receivers fetch the same sealed bytes and check the same
    /// digest.
    pub async fn forward_files(
        &self,
        attachments: &[AttachmentInfo],
        caption: &str,
        markdown: bool,
    ) -> Result<Outgoing, CoreError> {
        if attachments.len() > MAX_FILES_PER_MESSAGE {
            return Err(MediaError::TooMany {
                count: attachments.len(),
            }
            .into());
        }
        let content = content::attachments_content(attachments, caption, markdown)?;
        self.send_content(&content).await
    }
}

impl Media {
    /// Fetches and opens a sealed file into the cache.
    pub(crate) async fn open(&self, sealed: &arx_media::Sealed) -> Result<PathBuf, CoreError> {
        self.open_with(sealed, None).await
    }

    /// [`Media::open`] with progress. A file fetched now is pinned in the background, so this
    /// device's daemon serves it to others too.
    async fn open_with(
        &self,
        sealed: &arx_media::Sealed,
        progress: Option<Progress>,
    ) -> Result<PathBuf, CoreError> {
        let cached = self.cache.get(&sealed.digest).is_some();
        let path = arx_media::download(
            self.store.as_ref(),
            &self.cache,
            sealed,
            progress,
            self.stall,
        )
        .await?;
        if !cached {
            let (store, cid) = (self.store.clone(), sealed.cid.clone());
            tokio::spawn(async move {
                if let Err(e) = store.pin(&cid).await {
                    tracing::info!(error = %e, "a fetched file could not be pinned");
                }
            });
        }
        Ok(path)
    }
}

/// Re-encodes an image without its metadata and uploads it sealed (the sender keeps the
/// opened image in its cache).
pub(crate) async fn upload_image(
    media: &Media,
    name: String,
    bytes: Vec<u8>,
) -> Result<AttachmentInfo, CoreError> {
    upload_one(
        media,
        Checked {
            name: wire_name(&name),
            size: bytes.len() as u64,
            source: FileSource::Bytes { name, bytes },
        },
        None,
    )
    .await
}

async fn upload_one(
    media: &Media,
    file: Checked,
    progress: Option<Progress>,
) -> Result<AttachmentInfo, CoreError> {
    let store = media.store.as_ref();
    let is_image = picture::format_of(&head(&file.source)?).is_some();
    if is_image {
        if file.size > MAX_IMAGE_FILE_BYTES {
            return Err(MediaError::InvalidImage(format!(
                "{} is an image of {} bytes; images are sent re-encoded (without their \
                 metadata) and can be at most {MAX_IMAGE_FILE_BYTES} bytes",
                file.name, file.size
            ))
            .into());
        }
        let bytes = read_all(file.source)?;
        let prepared = tokio::task::spawn_blocking(move || picture::prepare(&bytes))
            .await
            .map_err(|e| MediaError::Io(e.to_string()))??
            .ok_or_else(|| MediaError::InvalidImage(file.name.clone()))?;
        let name = match prepared.mime {
            "image/png" => with_extension(&file.name, "png"),
            _ => with_extension(&file.name, "jpg"),
        };
        let len = prepared.bytes.len() as u64;
        let plain = prepared.bytes;
        let sealed = arx_media::upload(
            store,
            &name,
            std::io::Cursor::new(plain.clone()),
            len,
            progress,
        )
        .await?;
        // The sender sees its own image without fetching it back.
        if let Err(e) = media.cache.insert_bytes(&sealed.digest, &plain) {
            tracing::warn!(error = %e, "a sent image could not be cached");
        }
        return Ok(AttachmentInfo {
            mime_type: prepared.mime.to_owned(),
            size: len,
            width: Some(prepared.width),
            height: Some(prepared.height),
            thumbnail: Some(prepared.thumbnail),
            sealed,
            name,
        });
    }
    let mime_type = mime_of(&file.name);
    let sealed = match file.source {
        FileSource::Bytes { bytes, .. } => {
            arx_media::upload(
                store,
                &file.name,
                std::io::Cursor::new(bytes),
                file.size,
                progress,
            )
            .await?
        }
        FileSource::Path(path) => {
            let reader = std::fs::File::open(&path).map_err(|e| MediaError::Unreadable {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let reader = std::io::BufReader::with_capacity(256 * 1024, reader);
            arx_media::upload(store, &file.name, reader, file.size, progress).await?
        }
    };
    Ok(AttachmentInfo {
        name: file.name,
        mime_type,
        size: sealed.size,
        width: None,
        height: None,
        thumbnail: None,
        sealed,
    })
}

/// `name` with its extension replaced by `ext` (re-encoded images change format).
fn with_extension(name: &str, ext: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    wire_name(&format!("{stem}.{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_keeping_their_extension_and_images_are_renamed() {
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = wire_name(&long);
        assert!(cut.len() <= MAX_NAME_BYTES);
        assert!(cut.ends_with(".pdf"));
        assert_eq!(
            with_extension("IMG_0001.HEIC.webp", "jpg"),
            "IMG_0001.HEIC.jpg"
        );
        assert_eq!(with_extension("photo", "png"), "photo.png");
        assert_eq!(mime_of("a.pdf"), "application/pdf");
        assert_eq!(mime_of("noext"), "application/octet-stream");
    }
}
