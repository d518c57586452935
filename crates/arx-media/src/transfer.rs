//! Sending and receiving a file: [`upload`] seals while it streams to the store; [`download`]
//! receives the sealed bytes (in memory when small, else in a temporary file) while hashing
//! them, checks length and digest, and only then opens them into the cache. Nothing unverified is ever opened or kept.

use std::{
    io::Read,
    sync::{Arc, PoisonError},
    time::Duration,
};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{
    cache::MediaCache,
    seal::{self, FileKey, SealingReader},
    store::{check_cid, MediaStore},
    MediaError, MAX_FILE_BYTES,
};

/// Called with (bytes done, bytes in all) as a transfer goes on.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Buffer of the cache files written and read while fetching and opening.
const IO_BUFFER: usize = 1024 * 1024;

/// How long a download may go without receiving a byte before it gives up.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A file as stored: what a message must carry for a receiver to fetch and open it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub cid: String,
    pub key: FileKey,
    /// SHA-256 of the sealed bytes.
    pub digest: [u8; 32],
    /// Plaintext size.
    pub size: u64,
}

/// A reader that reports progress as it is read (the store reads it as it uploads).
struct Reporting<R> {
    inner: R,
    done: u64,
    total: u64,
    progress: Option<Progress>,
}

impl<R: Read> Read for Reporting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if let Some(progress) = &self.progress {
            progress(self.done, self.total);
        }
        Ok(n)
    }
}

/// Seals `len` bytes of `source` with a fresh key while streaming them to `store`. Refuses a
/// file over [`MAX_FILE_BYTES`] before anything is sent.
pub async fn upload(
    store: &dyn MediaStore,
    name: &str,
    source: impl Read + Send + Sync + Unpin + 'static,
    len: u64,
    progress: Option<Progress>,
) -> Result<Sealed, MediaError> {
    if len > MAX_FILE_BYTES {
        return Err(MediaError::TooLarge {
            name: name.to_owned(),
            size: len,
            limit: MAX_FILE_BYTES,
        });
    }
    let key = FileKey::random();
    let reader = SealingReader::new(source, len, &key);
    let state = reader.state();
    let body = Reporting {
        inner: reader,
        done: 0,
        total: seal::sealed_len(len),
        progress,
    };
    let cid = store.add(Box::new(body)).await?;
    let state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let digest = state.digest().ok_or_else(|| MediaError::Unreadable {
        path: name.to_owned(),
        reason: "the file ended before it was sealed".into(),
    })?;
    Ok(Sealed {
        cid,
        key,
        digest,
        size: len,
    })
}

/// Fetches a sealed file into the cache and returns the path of the opened file (at once when
/// it is cached already). The sealed bytes must be exactly as long as `wanted.size` implies
/// and hash to `wanted.digest`, or nothing is opened; the opened file is kept only if every
/// chunk authenticates. (Pinning it, so this daemon serves it too, is the caller's choice.)
pub async fn download(
    store: &dyn MediaStore,
    cache: &MediaCache,
    wanted: &Sealed,
    progress: Option<Progress>,
    stall: Duration,
) -> Result<std::path::PathBuf, MediaError> {
    if let Some(path) = cache.get(&wanted.digest) {
        return Ok(path);
    }
    check_cid(&wanted.cid)?;
    if wanted.size > MAX_FILE_BYTES {
        return Err(MediaError::InvalidAttachment(format!(
            "a file of {} bytes (at most {MAX_FILE_BYTES})",
            wanted.size
        )));
    }
    let expected = seal::sealed_len(wanted.size);
    let mut sealed = if expected <= IN_MEMORY_BYTES {
        Received::Memory(Vec::with_capacity(expected as usize))
    } else {
        let file = cache.temp_file()?;
        // Large buffers: each write to a tokio file is a hop to a blocking thread.
        let writer = tokio::io::BufWriter::with_capacity(
            IO_BUFFER,
            tokio::fs::File::from_std(
                file.reopen()
                    .map_err(|e| MediaError::io("opening a cache file", e))?,
            ),
        );
        Received::Disk { file, writer }
    };
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut stream = store.cat(&wanted.cid);
    loop {
        let next = tokio::time::timeout(stall, stream.next())
            .await
            .map_err(|_| MediaError::Unavailable {
                url: store.location(),
                reason: format!(
                    "sent nothing for {} s (the file may be on no reachable peer)",
                    stall.as_secs()
                ),
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk?;
        received += chunk.len() as u64;
        if received > expected {
            return Err(MediaError::DigestMismatch(format!(
                "more than the {expected} bytes the message announces"
            )));
        }
        hasher.update(&chunk);
        sealed.write(&chunk).await?;
        if let Some(progress) = &progress {
            progress(received, expected);
        }
    }
    let sealed = sealed.finish().await?;
    if received != expected {
        return Err(MediaError::DigestMismatch(format!(
            "{received} bytes where the message announces {expected}"
        )));
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if digest != wanted.digest {
        return Err(MediaError::DigestMismatch("its SHA-256 differs".into()));
    }
    let opened = cache.temp_file()?;
    let key = wanted.key.clone();
    let size = wanted.size;
    let opened = tokio::task::spawn_blocking(move || -> Result<_, MediaError> {
        let mut output = std::io::BufWriter::with_capacity(
            IO_BUFFER,
            opened
                .reopen()
                .map_err(|e| MediaError::io("writing a cache file", e))?,
        );
        match sealed {
            Finished::Memory(bytes) => seal::open(bytes.as_slice(), &mut output, size, &key)?,
            Finished::Disk(file) => {
                let input = std::io::BufReader::with_capacity(
                    IO_BUFFER,
                    file.reopen()
                        .map_err(|e| MediaError::io("reading a cache file", e))?,
                );
                seal::open(input, &mut output, size, &key)?;
            }
        }
        std::io::Write::flush(&mut output)
            .map_err(|e| MediaError::io("writing the opened file", e))?;
        Ok(opened)
    })
    .await
    .map_err(|e| MediaError::io("opening the file", e))??;
    cache.insert(&wanted.digest, opened)
}

/// Sealed files up to this size are received in memory and reach the disk only once opened;
/// larger ones go through a temporary file, so a download's memory stays bounded.
const IN_MEMORY_BYTES: u64 = 8 * 1024 * 1024;

/// Where the sealed bytes of a download go while they arrive and are hashed.
enum Received {
    Memory(Vec<u8>),
    Disk {
        file: tempfile::NamedTempFile,
        writer: tokio::io::BufWriter<tokio::fs::File>,
    },
}

/// The sealed bytes once all arrived (the temporary file is removed when dropped).
enum Finished {
    Memory(Vec<u8>),
    Disk(tempfile::NamedTempFile),
}

impl Received {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), MediaError> {
        match self {
            Self::Memory(bytes) => {
                bytes.extend_from_slice(chunk);
                Ok(())
            }
            Self::Disk { writer, .. } => writer
                .write_all(chunk)
                .await
                .map_err(|e| MediaError::io("writing a cache file", e)),
        }
    }

    async fn finish(self) -> Result<Finished, MediaError> {
        match self {
            Self::Memory(bytes) => Ok(Finished::Memory(bytes)),
            Self::Disk { file, mut writer } => {
                writer
                    .flush()
                    .await
                    .map_err(|e| MediaError::io("writing a cache file", e))?;
                Ok(Finished::Disk(file))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;

    use super::*;
    use crate::store::ByteStream;

    /// A store in memory that can be told to corrupt what it serves (unit tests only; the
    /// scenario tests use real Kubo daemons).
    #[derive(Default)]
    struct MemoryStore {
        files: Mutex<Vec<Vec<u8>>>,
        flip: Mutex<Option<usize>>,
    }

    #[async_trait::async_trait]
    impl MediaStore for MemoryStore {
        fn location(&self) -> String {
            "memory".into()
        }
        async fn add(
            &self,
            mut body: Box<dyn Read + Send + Sync + Unpin>,
        ) -> Result<String, MediaError> {
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes)
                .map_err(|e| MediaError::io("reading", e))?;
            let mut files = self.files.lock().unwrap();
            files.push(bytes);
            Ok(format!("m{}", files.len() - 1))
        }
        fn cat(&self, cid: &str) -> ByteStream {
            let index: usize = cid[1..].parse().unwrap();
            let mut bytes = self.files.lock().unwrap()[index].clone();
            if let Some(at) = *self.flip.lock().unwrap() {
                bytes[at] ^= 1;
            }
            let chunks: Vec<Result<Bytes, MediaError>> = bytes
                .chunks(10_000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Box::pin(futures::stream::iter(chunks))
        }
        async fn pin(&self, _: &str) -> Result<(), MediaError> {
            Ok(())
        }
        async fn unpin(&self, _: &str) -> Result<(), MediaError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_small_file_goes_up_sealed_and_comes_down_identical_and_a_flipped_byte_is_refused() {
        round_trip_and_tampering(300_000).await;
    }

    #[tokio::test]
    async fn a_file_received_through_a_temporary_file_is_checked_the_same_way() {
        round_trip_and_tampering(IN_MEMORY_BYTES as usize + 100_000).await;
    }

    async fn round_trip_and_tampering(len: usize) {
        let store = MemoryStore::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = MediaCache::open(dir.path(), 1 << 30).unwrap();
        let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let seen = Arc::new(Mutex::new(0u64));
        let seen2 = seen.clone();
        let progress: Progress = Arc::new(move |done, _| *seen2.lock().unwrap() = done);
        let sealed = upload(
            &store,
            "f",
            std::io::Cursor::new(plain.clone()),
            len as u64,
            Some(progress),
        )
        .await
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), seal::sealed_len(len as u64));
        // Only ciphertext reached the store.
        let stored = store.files.lock().unwrap()[0].clone();
        assert!(!stored[..stored.len().min(1 << 20)]
            .windows(64)
            .any(|w| plain.windows(64).take(1000).any(|p| p == w)));

        *store.flip.lock().unwrap() = Some(12_345);
        let refused = download(&store, &cache, &sealed, None, STALL_TIMEOUT).await;
        assert!(
            matches!(refused, Err(MediaError::DigestMismatch(_))),
            "{refused:?}"
        );
        assert_eq!(cache.total_bytes().unwrap(), 0, "nothing kept");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temp file left"
        );

        *store.flip.lock().unwrap() = None;
        let path = download(&store, &cache, &sealed, None, STALL_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(std::fs::read(path).unwrap(), plain);

        // A message that names the right digest but the wrong key opens nothing.
        let mut wrong = sealed.clone();
        wrong.key = FileKey::random();
        cache.remove(&wrong.digest).unwrap();
        let refused = download(&store, &cache, &wrong, None, STALL_TIMEOUT).await;
        assert!(
            matches!(refused, Err(MediaError::DecryptFailed)),
            "{refused:?}"
        );
        assert_eq!(cache.total_bytes().unwrap(), 0);
    }

    #[tokio::test]
    async fn an_oversized_file_is_refused_before_anything_is_read() {
        let store = MemoryStore::default();
        let refused = upload(
            &store,
            "big.bin",
            std::io::empty(),
            MAX_FILE_BYTES + 1,
            None,
        )
        .await;
        assert!(matches!(refused, Err(MediaError::TooLarge { .. })));
        assert!(store.files.lock().unwrap().is_empty());
    }
}
