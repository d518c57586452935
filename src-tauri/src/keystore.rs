//! Where the built-in wallet key is kept: the OS keychain where the OS has one (Secret Service
//! on Linux, Keychain on macOS, Credential Manager on Windows), otherwise a file in the profile
//! readable by its owner only. The profile's settings remember which, so the key is read back
//! from where it was put.

use std::path::Path;

use arx_identity::secret_file;
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, CommandResult};

/// The keychain service name (the app's identifier).
const SERVICE: &str = "network.arx.messenger";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStore {
    Keychain,
    File,
}

/// The OS keychain, as far as the key store needs it.
pub trait Keychain {
    fn set(&self, account: &str, secret: &[u8]) -> Result<(), String>;
    fn get(&self, account: &str) -> Result<Option<Vec<u8>>, String>;
}

/// The keychain of this OS (through the `keyring` crate).
pub struct OsKeychain;

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
impl Keychain for OsKeychain {
    fn set(&self, account: &str, secret: &[u8]) -> Result<(), String> {
        keyring::Entry::new(SERVICE, account)
            .and_then(|entry| entry.set_secret(secret))
            .map_err(|e| e.to_string())
    }

    fn get(&self, account: &str) -> Result<Option<Vec<u8>>, String> {
        match keyring::Entry::new(SERVICE, account).and_then(|entry| entry.get_secret()) {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(err.to_string()),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
impl Keychain for OsKeychain {
    fn set(&self, _account: &str, _secret: &[u8]) -> Result<(), String> {
        Err("this OS has no keychain ARX can use".into())
    }

    fn get(&self, _account: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

/// The keychain entry of a profile: one per profile directory, so two profiles (or two data
/// roots) never share a key.
fn account(profile_dir: &Path) -> String {
    format!("wallet-key {}", profile_dir.display())
}

fn file(profile_dir: &Path) -> std::path::PathBuf {
    profile_dir.join("wallet.key")
}

fn storage_error(err: impl std::fmt::Display) -> CommandError {
    CommandError::new(crate::error::AppCode::KeyStore, err.to_string())
}

/// Keeps `secret` in the keychain if it takes it and gives it back, otherwise in the
/// owner-only file. Returns where it went.
pub fn store(
    keychain: &dyn Keychain,
    profile_dir: &Path,
    secret: &[u8; 32],
) -> CommandResult<KeyStore> {
    let account = account(profile_dir);
    let kept = keychain
        .set(&account, secret)
        .and_then(|()| keychain.get(&account))
        .map(|back| back.as_deref() == Some(secret.as_slice()));
    match kept {
        Ok(true) => return Ok(KeyStore::Keychain),
        Ok(false) => tracing::warn!("the OS keychain did not keep the wallet key; using a file"),
        Err(reason) => tracing::info!("no OS keychain ({reason}); the wallet key goes to a file"),
    }
    // Only an account that never finished signing in replaces its key.
    let path = file(profile_dir);
    if path.exists() {
        std::fs::remove_file(&path).map_err(storage_error)?;
    }
    secret_file::store(&path, secret).map_err(storage_error)?;
    Ok(KeyStore::File)
}

/// The key kept by [`store`], if any.
pub fn load(
    keychain: &dyn Keychain,
    profile_dir: &Path,
    store: KeyStore,
) -> CommandResult<Option<[u8; 32]>> {
    match store {
        KeyStore::Keychain => match keychain.get(&account(profile_dir)).map_err(storage_error)? {
            None => Ok(None),
            Some(bytes) => bytes.try_into().map(Some).map_err(|_| {
                CommandError::new(
                    crate::error::AppCode::KeyStore,
                    "the keychain's wallet key is not 32 bytes",
                )
            }),
        },
        KeyStore::File => secret_file::load(&file(profile_dir)).map_err(storage_error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::{cell::RefCell, collections::HashMap};

    use super::*;

    #[derive(Default)]
    struct FakeKeychain {
        entries: RefCell<HashMap<String, Vec<u8>>>,
        broken: bool,
    }

    impl Keychain for FakeKeychain {
        fn set(&self, account: &str, secret: &[u8]) -> Result<(), String> {
            if self.broken {
                return Err("no secret service".into());
            }
            self.entries
                .borrow_mut()
                .insert(account.to_owned(), secret.to_vec());
            Ok(())
        }

        fn get(&self, account: &str) -> Result<Option<Vec<u8>>, String> {
            if self.broken {
                return Err("no secret service".into());
            }
            Ok(self.entries.borrow().get(account).cloned())
        }
    }

    #[test]
    fn a_working_keychain_keeps_the_key_and_no_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = FakeKeychain::default();
        let secret = [7u8; 32];
        assert_eq!(
            store(&keychain, dir.path(), &secret).unwrap(),
            KeyStore::Keychain
        );
        assert!(!file(dir.path()).exists());
        assert_eq!(
            load(&keychain, dir.path(), KeyStore::Keychain).unwrap(),
            Some(secret)
        );
        // Another profile has its own entry.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(
            load(&keychain, other.path(), KeyStore::Keychain).unwrap(),
            None
        );
    }

    #[test]
    fn without_a_keychain_the_key_goes_to_an_owner_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = FakeKeychain {
            broken: true,
            ..FakeKeychain::default()
        };
        let secret = [9u8; 32];
        assert_eq!(
            store(&keychain, dir.path(), &secret).unwrap(),
            KeyStore::File
        );
        assert_eq!(
            load(&keychain, dir.path(), KeyStore::File).unwrap(),
            Some(secret)
        );
        // A sign-in that did not finish may be redone with another key.
        assert_eq!(
            store(&keychain, dir.path(), &[3u8; 32]).unwrap(),
            KeyStore::File
        );
        assert_eq!(
            load(&keychain, dir.path(), KeyStore::File).unwrap(),
            Some([3u8; 32])
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        }
        // A keychain that fails to read is an error, never a silent "no key".
        assert_eq!(
            load(&keychain, dir.path(), KeyStore::Keychain)
                .unwrap_err()
                .code,
            crate::error::AppCode::KeyStore.into()
        );
    }
}
