//! The node's signing key: created on first start, kept in a file only the owner can read, so the
//! node id stays the same across restarts.

use std::path::Path;

use arx_identity::{secret_file, NodeKey};

pub use arx_identity::secret_file::SecretFileError as KeyFileError;

/// Loads the key at `path`, or creates it (and its directory) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<NodeKey, KeyFileError> {
    let (secret, _) = secret_file::load_or_create(path, || NodeKey::generate().to_bytes())?;
    Ok(NodeKey::from_bytes(&secret))
}
