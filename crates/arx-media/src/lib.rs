//! ARX media: what happens to a file between the person who sends it and the people who open
//! it, with IPFS in between seeing only ciphertext.
//!
//! - [`seal`]: a fresh key per file; the file is sealed in 64 KiB chunks (ChaCha20-Poly1305 in
//!   the STREAM construction), streamed, never held whole; the SHA-256 digest of the sealed
//!   bytes is what a receiver checks before opening anything.
//! - [`picture`]: images are decoded within pixel limits, turned upright, re-encoded (which
//!   drops EXIF, GPS and every other metadata block) and given an inline thumbnail.
//! - [`store`]: the [`MediaStore`] trait, and [`KuboStore`], the one implementation, over
//!   the Kubo RPC API.
//! - [`cache`]: opened files on disk, keyed by digest, within a size bound.
//! - [`transfer`]: sending ([`transfer::upload`]) and receiving ([`transfer::download`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cache;
pub mod picture;
pub mod seal;
pub mod store;
pub mod transfer;

pub use cache::MediaCache;
pub use store::{KuboStore, MediaStore};
pub use transfer::{download, upload, Progress, Sealed};

arx_identity::codes! {
    /// Media codes.
    pub enum MediaCode {
        TooLarge = "media.too_large": "A file over the size limit; nothing was uploaded.",
        TooMany = "media.too_many": "More files in one message than allowed.",
        Unreadable = "media.unreadable": "A local file that cannot be read (missing, a folder, no permission).",
        ImageTooLarge = "media.image_too_large":
            "An image whose pixel count is over the limit (a decompression bomb is refused).",
        InvalidImage = "media.invalid_image": "An image that cannot be decoded.",
        Unavailable = "media.unavailable":
            "The IPFS daemon cannot be reached or did not deliver the file (retryable).",
        DigestMismatch = "media.digest_mismatch":
            "Downloaded bytes whose SHA-256 digest is not the one the message names; nothing was opened.",
        DecryptFailed = "media.decrypt_failed":
            "Downloaded bytes that do not open with the message's key; nothing was kept.",
        InvalidAttachment = "media.invalid_attachment":
            "An attachment description that breaks the wire rules (a bad key, CID or size).",
        Io = "media.io": "The media cache or a destination file could not be written.",
    }
}

/// Largest file that may be sent (plaintext bytes).
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Most files in one message.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// Longest file name carried, in bytes of UTF-8 (longer names are shortened when sending).
pub const MAX_NAME_BYTES: usize = 255;
/// Longest MIME type carried.
pub const MAX_MIME_BYTES: usize = 127;
/// Longest CID accepted from a message.
pub const MAX_CID_BYTES: usize = 128;

/// What went wrong with a file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{name} is {size} bytes; files are at most {limit} bytes (100 MiB)")]
    TooLarge { name: String, size: u64, limit: u64 },
    #[error("{count} files in one message; at most {MAX_FILES_PER_MESSAGE}")]
    TooMany { count: usize },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("an image of {width}×{height} pixels; images are at most {limit} pixels")]
    ImageTooLarge { width: u32, height: u32, limit: u64 },
    #[error("not a readable image: {0}")]
    InvalidImage(String),
    #[error("the IPFS daemon at {url} {reason}")]
    Unavailable { url: String, reason: String },
    #[error(
        "the downloaded file does not match the digest in the message ({0}); nothing was opened"
    )]
    DigestMismatch(String),
    #[error("the downloaded file does not open with its key; nothing was kept")]
    DecryptFailed,
    #[error("invalid attachment: {0}")]
    InvalidAttachment(String),
    #[error("media storage failed: {0}")]
    Io(String),
}

impl MediaError {
    pub fn code(&self) -> MediaCode {
        match self {
            Self::TooLarge { .. } => MediaCode::TooLarge,
            Self::TooMany { .. } => MediaCode::TooMany,
            Self::Unreadable { .. } => MediaCode::Unreadable,
            Self::ImageTooLarge { .. } => MediaCode::ImageTooLarge,
            Self::InvalidImage(_) => MediaCode::InvalidImage,
            Self::Unavailable { .. } => MediaCode::Unavailable,
            Self::DigestMismatch(_) => MediaCode::DigestMismatch,
            Self::DecryptFailed => MediaCode::DecryptFailed,
            Self::InvalidAttachment(_) => MediaCode::InvalidAttachment,
            Self::Io(_) => MediaCode::Io,
        }
    }

    /// Whether trying again later may work (the daemon was down or slow).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    pub(crate) fn io(what: &str, error: impl std::fmt::Display) -> Self {
        Self::Io(format!("{what}: {error}"))
    }
}
