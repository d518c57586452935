//! 32-byte secrets (node keys, installation keys, built-in wallet keys) kept as hex in files
//! only their owner can read. Created on first use and never overwritten.

use std::{fs, io::Write, path::Path};

/// Why a secret file could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not 64 hex characters")]
    Malformed { path: String },
}

/// Loads the secret at `path`, or stores the one `create` makes when the file does not exist.
/// Returns the secret and whether it was created now.
pub fn load_or_create(
    path: &Path,
    create: impl FnOnce() -> [u8; 32],
) -> Result<([u8; 32], bool), SecretFileError> {
    let shown = path.display().to_string();
    match fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(SecretFileError::Malformed { path: shown })?;
            Ok((bytes, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = create();
            write_new(path, &hex::encode(secret)).map_err(|source| SecretFileError::Write {
                path: shown,
                source,
            })?;
            Ok((secret, true))
        }
        Err(source) => Err(SecretFileError::Read {
            path: shown,
            source,
        }),
    }
}

/// Loads the secret at `path`; `Ok(None)` when there is no such file.
pub fn load(path: &Path) -> Result<Option<[u8; 32]>, SecretFileError> {
    if !path.exists() {
        return Ok(None);
    }
    load_or_create(path, || [0; 32]).map(|(secret, _)| Some(secret))
}

/// Stores `secret` at `path`; fails if the file already exists (secrets are never replaced).
pub fn store(path: &Path, secret: &[u8; 32]) -> Result<(), SecretFileError> {
    write_new(path, &hex::encode(secret)).map_err(|source| SecretFileError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Creates `dir` (and its parents) if missing and makes it readable by its owner only (0700 on
/// Unix): data directories hold keys and message history.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Makes the file at `path` readable by its owner only (0600 on Unix), creating it empty if
/// it does not exist, so a database opened there afterwards (and the journal files SQLite
/// creates with the same mode) is private from the start.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn write_new(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_secret_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/key");
        let (first, created) = load_or_create(&path, || [7; 32]).unwrap();
        assert!(created);
        let (again, created) = load_or_create(&path, || [9; 32]).unwrap();
        assert_eq!((first, created), (again, false));
        assert_eq!(load(&path).unwrap(), Some([7; 32]));
        assert!(store(&path, &[1; 32]).is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn private_dirs_and_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        private_dir(&data).unwrap();
        let db = data.join("arx.db");
        fs::write(&db, b"kept").unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&db).unwrap();
        assert_eq!(
            fs::read(&db).unwrap(),
            b"kept",
            "an existing file keeps its content"
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&db), 0o600);
        let fresh = data.join("new.db");
        private_file(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn a_damaged_secret_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            load_or_create(&path, || [1; 32]),
            Err(SecretFileError::Malformed { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not hex");
    }
}
