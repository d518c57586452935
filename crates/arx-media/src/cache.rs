//! Opened files on disk, named by the digest of their sealed form, with a size bound: when
//! the cache grows past it, the least recently used files go first (a file is "used" when it
//! is put in or read through [`MediaCache::get`]).

use std::{
    fs,
    path::{Path, PathBuf},
    time::SystemTime,
};

use tempfile::NamedTempFile;

use crate::MediaError;

/// The default bound: 1 GiB.
pub const DEFAULT_CACHE_BYTES: u64 = 1024 * 1024 * 1024;

pub struct MediaCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl MediaCache {
    /// The cache in `dir` (created owner-only when missing), bounded to `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, MediaError> {
        fs::create_dir_all(dir).map_err(|e| MediaError::io("creating the media cache", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| MediaError::io("securing the media cache", e))?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size bound.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn path_of(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(hex::encode(digest))
    }

    /// The opened file of `digest`, if cached (and marks it used).
    pub fn get(&self, digest: &[u8; 32]) -> Option<PathBuf> {
        let path = self.path_of(digest);
        let file = fs::File::options().append(true).open(&path).ok()?;
        // Best effort: a cache on a filesystem without settable times still works, it only
        // evicts by when files were put in.
        let _ = file.set_modified(SystemTime::now());
        Some(path)
    }

    /// A temporary file in the cache's folder (removed when dropped unless put in).
    pub fn temp_file(&self) -> Result<NamedTempFile, MediaError> {
        tempfile::Builder::new()
            .prefix(".part-")
            .tempfile_in(&self.dir)
            .map_err(|e| MediaError::io("creating a file in the media cache", e))
    }

    /// Puts an opened file in under `digest`, then evicts down to the bound (never this file).
    pub fn insert(&self, digest: &[u8; 32], file: NamedTempFile) -> Result<PathBuf, MediaError> {
        let path = self.path_of(digest);
        file.persist(&path)
            .map_err(|e| MediaError::io("keeping the opened file", e.error))?;
        self.evict(Some(&path))?;
        Ok(path)
    }

    /// Puts bytes in under `digest` (e.g. an image this device just sent).
    pub fn insert_bytes(&self, digest: &[u8; 32], bytes: &[u8]) -> Result<PathBuf, MediaError> {
        let mut file = self.temp_file()?;
        std::io::Write::write_all(&mut file, bytes)
            .map_err(|e| MediaError::io("writing the media cache", e))?;
        self.insert(digest, file)
    }

    /// Removes the opened file of `digest` (a deleted or expired message's file).
    pub fn remove(&self, digest: &[u8; 32]) -> Result<(), MediaError> {
        match fs::remove_file(self.path_of(digest)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(MediaError::io("removing a cached file", e)),
        }
    }

    fn entries(&self) -> Result<Vec<(PathBuf, u64, SystemTime)>, MediaError> {
        let mut out = Vec::new();
        let listing =
            fs::read_dir(&self.dir).map_err(|e| MediaError::io("listing the media cache", e))?;
        for entry in listing.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if let Ok(meta) = entry.metadata() {
                if meta.is_file() {
                    let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    out.push((entry.path(), meta.len(), used));
                }
            }
        }
        Ok(out)
    }

    /// Bytes held now.
    pub fn total_bytes(&self) -> Result<u64, MediaError> {
        Ok(self.entries()?.iter().map(|(_, len, _)| len).sum())
    }

    /// Removes the least recently used files until the total is within the bound; `keep` is
    /// never removed. Returns the bytes freed.
    pub fn evict(&self, keep: Option<&Path>) -> Result<u64, MediaError> {
        let mut entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort_by_key(|(_, _, used)| *used);
        let mut freed = 0;
        for (path, len, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            if Some(path.as_path()) == keep {
                continue;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
                freed += len;
            }
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_files_go_first_and_the_newest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let cache = MediaCache::open(dir.path(), 250).unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        for i in 0..3u8 {
            let path = cache.insert_bytes(&[i; 32], &[i; 100]).unwrap();
            // Put in over time: 0 is the oldest.
            let f = fs::File::options().append(true).open(&path).unwrap();
            f.set_modified(old + std::time::Duration::from_secs(u64::from(i) * 60))
                .unwrap();
        }
        // Three files of 100 bytes were over 250 by the third insert: the oldest went then.
        assert!(cache.get(&[0; 32]).is_none());
        // Using 1 makes 2 the least recently used.
        assert!(cache.get(&[1; 32]).is_some());
        cache.insert_bytes(&[3; 32], &[3; 100]).unwrap();
        assert!(cache.get(&[2; 32]).is_none());
        assert!(cache.get(&[1; 32]).is_some());
        assert!(cache.get(&[3; 32]).is_some());
        assert!(cache.total_bytes().unwrap() <= 250);
        cache.remove(&[3; 32]).unwrap();
        assert!(cache.get(&[3; 32]).is_none());
        cache.remove(&[3; 32]).unwrap();
    }
}
