//! The node's signing key: created on first start, kept in a file only the owner can read, so the
//! node id stays the same across restarts.

use std::{fs, io::Write, path::Path};

use arx_identity::NodeKey;

/// Why the node key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read node key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write node key {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("node key {path} is not 64 hex characters")]
    Malformed { path: String },
}

/// Loads the key at `path`, or creates it (and its directory) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<NodeKey, KeyFileError> {
    let shown = path.display().to_string();
    match fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(KeyFileError::Malformed { path: shown })?;
            Ok(NodeKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = NodeKey::generate();
            write_new(path, &hex::encode(key.to_bytes())).map_err(|source| {
                KeyFileError::Write {
                    path: shown,
                    source,
                }
            })?;
            Ok(key)
        }
        Err(source) => Err(KeyFileError::Read {
            path: shown,
            source,
        }),
    }
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
