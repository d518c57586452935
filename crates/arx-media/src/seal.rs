//! Sealing a file for IPFS: ChaCha20-Poly1305 in the STREAM construction (big-endian 32-bit
//! chunk counter and a last-chunk flag in the nonce), 64 KiB of plaintext per chunk, so a file
//! of any size is sealed and opened with two chunk buffers. Truncation, reordering and
//! splicing of chunks fail to open. A key is used for one file only.

use std::{
    io::{self, Read, Write},
    sync::{Arc, Mutex},
};

use chacha20poly1305::{
    aead::{
        stream::{DecryptorBE32, EncryptorBE32},
        KeyInit,
    },
    ChaCha20Poly1305,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::MediaError;

/// Plaintext bytes per chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Authentication tag added to each chunk.
pub const TAG_BYTES: usize = 16;
/// Key length.
pub const KEY_BYTES: usize = 32;
/// Nonce prefix length (the STREAM construction fills the other 5 of the 12 nonce bytes).
pub const NONCE_BYTES: usize = 7;

/// The key and nonce prefix of one file.
#[derive(Clone, PartialEq, Eq)]
pub struct FileKey {
    pub key: [u8; KEY_BYTES],
    pub nonce: [u8; NONCE_BYTES],
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

impl FileKey {
    /// A fresh random key and nonce prefix.
    pub fn random() -> Self {
        let mut key = [0u8; KEY_BYTES];
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        rand::thread_rng().fill_bytes(&mut nonce);
        Self { key, nonce }
    }

    /// From a message's bytes: exactly 32 and 7 bytes.
    pub fn from_slices(key: &[u8], nonce: &[u8]) -> Result<Self, MediaError> {
        let key = key
            .try_into()
            .map_err(|_| MediaError::InvalidAttachment(format!("a {}-byte key", key.len())))?;
        let nonce = nonce
            .try_into()
            .map_err(|_| MediaError::InvalidAttachment(format!("a {}-byte nonce", nonce.len())))?;
        Ok(Self { key, nonce })
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.key.into())
    }
}

/// Chunks a file of `len` plaintext bytes is sealed in (an empty file is one empty chunk).
pub fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK_BYTES as u64).max(1)
}

/// Size of the sealed form of `len` plaintext bytes.
pub fn sealed_len(len: u64) -> u64 {
    len + TAG_BYTES as u64 * chunk_count(len)
}

/// What a [`SealingReader`] has produced so far, shared with whoever waits for it.
#[derive(Default)]
pub struct SealState {
    hasher: Sha256,
    sealed: u64,
    digest: Option<[u8; 32]>,
}

impl SealState {
    /// Sealed bytes produced so far.
    pub fn sealed(&self) -> u64 {
        self.sealed
    }

    /// The SHA-256 of the sealed bytes, once the last chunk was produced.
    pub fn digest(&self) -> Option<[u8; 32]> {
        self.digest
    }
}

/// Reads plaintext from `inner` (exactly `len` bytes) and yields it sealed, one chunk at a time,
/// hashing what it yields. Fails if `inner` ends early (the file changed while it was sent).
pub struct SealingReader<R> {
    inner: R,
    remaining: u64,
    encryptor: Option<EncryptorBE32<ChaCha20Poly1305>>,
    plain: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    state: Arc<Mutex<SealState>>,
}

impl<R: Read> SealingReader<R> {
    pub fn new(inner: R, len: u64, key: &FileKey) -> Self {
        let encryptor = EncryptorBE32::from_aead(key.cipher(), &key.nonce.into());
        Self {
            inner,
            remaining: len,
            encryptor: Some(encryptor),
            plain: vec![0; CHUNK_BYTES],
            out: Vec::with_capacity(CHUNK_BYTES + TAG_BYTES),
            pos: 0,
            state: Arc::default(),
        }
    }

    /// The progress and, at the end, the digest.
    pub fn state(&self) -> Arc<Mutex<SealState>> {
        self.state.clone()
    }

    fn next_chunk(&mut self) -> io::Result<bool> {
        let Some(encryptor) = self.encryptor.as_mut() else {
            return Ok(false);
        };
        let n = usize::try_from(self.remaining.min(CHUNK_BYTES as u64)).unwrap_or(CHUNK_BYTES);
        self.inner.read_exact(&mut self.plain[..n]).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("the file changed while it was sealed: {e}"),
            )
        })?;
        self.remaining -= n as u64;
        // Sealed in place in the output buffer (no allocation per chunk).
        self.out.clear();
        self.out.extend_from_slice(&self.plain[..n]);
        let sealed = if self.remaining == 0 {
            let last = self
                .encryptor
                .take()
                .map(|e| e.encrypt_last_in_place(&[], &mut self.out));
            last.unwrap_or(Err(chacha20poly1305::aead::Error))
        } else {
            encryptor.encrypt_next_in_place(&[], &mut self.out)
        };
        sealed.map_err(|_| io::Error::other("sealing failed (more than 2^32 chunks)"))?;
        self.pos = 0;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.hasher.update(&self.out);
        state.sealed += self.out.len() as u64;
        if self.encryptor.is_none() {
            state.digest = Some(std::mem::take(&mut state.hasher).finalize().into());
        }
        Ok(true)
    }
}

impl<R: Read> Read for SealingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() && !self.next_chunk()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Opens `len` plaintext bytes sealed with `key` from `sealed` into `out`. Fails on the first
/// chunk that does not open (what was written by then must be discarded by the caller).
pub fn open(
    mut sealed: impl Read,
    mut out: impl Write,
    len: u64,
    key: &FileKey,
) -> Result<(), MediaError> {
    let mut decryptor = Some(DecryptorBE32::from_aead(key.cipher(), &key.nonce.into()));
    let mut buf = vec![0u8; CHUNK_BYTES + TAG_BYTES];
    let mut remaining = len;
    for index in 0..chunk_count(len) {
        let n = usize::try_from(remaining.min(CHUNK_BYTES as u64)).unwrap_or(CHUNK_BYTES);
        let chunk = &mut buf[..n + TAG_BYTES];
        sealed
            .read_exact(chunk)
            .map_err(|_| MediaError::DecryptFailed)?;
        remaining -= n as u64;
        let plain = match decryptor.as_mut() {
            Some(d) if index + 1 < chunk_count(len) => d.decrypt_next(&*chunk),
            _ => match decryptor.take() {
                Some(d) => d.decrypt_last(&*chunk),
                None => return Err(MediaError::DecryptFailed),
            },
        }
        .map_err(|_| MediaError::DecryptFailed)?;
        out.write_all(&plain)
            .map_err(|e| MediaError::io("writing the opened file", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(plain: &[u8], key: &FileKey) -> (Vec<u8>, [u8; 32]) {
        let mut reader = SealingReader::new(plain, plain.len() as u64, key);
        let state = reader.state();
        let mut sealed = Vec::new();
        reader.read_to_end(&mut sealed).unwrap();
        let digest = state.lock().unwrap().digest().unwrap();
        (sealed, digest)
    }

    #[test]
    fn sealed_files_of_every_chunk_boundary_open_to_the_same_bytes() {
        let key = FileKey::random();
        for len in [
            0,
            1,
            CHUNK_BYTES - 1,
            CHUNK_BYTES,
            CHUNK_BYTES + 1,
            3 * CHUNK_BYTES + 7,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (sealed, digest) = seal_all(&plain, &key);
            assert_eq!(sealed.len() as u64, sealed_len(len as u64), "len {len}");
            assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&sealed)));
            let mut opened = Vec::new();
            open(sealed.as_slice(), &mut opened, len as u64, &key).unwrap();
            assert_eq!(opened, plain, "len {len}");
        }
    }

    #[test]
    fn a_flipped_byte_a_cut_or_another_key_does_not_open() {
        let key = FileKey::random();
        let plain = vec![7u8; 2 * CHUNK_BYTES + 10];
        let (sealed, _) = seal_all(&plain, &key);
        let len = plain.len() as u64;
        let mut flipped = sealed.clone();
        flipped[CHUNK_BYTES + 3] ^= 1;
        assert!(matches!(
            open(flipped.as_slice(), io::sink(), len, &key),
            Err(MediaError::DecryptFailed)
        ));
        // The last chunk dropped, and the file claimed to end after two chunks.
        let cut = &sealed[..2 * (CHUNK_BYTES + TAG_BYTES)];
        assert!(open(cut, io::sink(), 2 * CHUNK_BYTES as u64, &key).is_err());
        assert!(open(sealed.as_slice(), io::sink(), len, &FileKey::random()).is_err());
    }

    #[test]
    fn a_file_shorter_than_announced_is_an_error_not_a_short_seal() {
        let key = FileKey::random();
        let mut reader = SealingReader::new(&[1u8; 10][..], 20, &key);
        let mut sealed = Vec::new();
        assert!(reader.read_to_end(&mut sealed).is_err());
    }

    #[test]
    fn keys_of_the_wrong_size_are_refused() {
        assert!(FileKey::from_slices(&[0; 31], &[0; 7]).is_err());
        assert!(FileKey::from_slices(&[0; 32], &[0; 12]).is_err());
        assert!(FileKey::from_slices(&[0; 32], &[0; 7]).is_ok());
    }
}
