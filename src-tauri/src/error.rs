//! What a command returns on failure: a stable code the UI branches on, a message for people,
//! and whether trying again later can help.

use arx_core::{CoreError, ErrorCode};
use arx_identity::{code_union, codes, IdentityCode, NodeCode};
use serde::Serialize;
use ts_rs::TS;

codes! {
    /// The desktop app's own codes (the shell and the UI).
    pub enum AppCode {
        Internal = "app.internal": "A task of the app ended unexpectedly.",
        Starting = "app.starting": "The app is still starting its engine; try again in a moment.",
        Settings = "app.settings": "The profile's settings file could not be read or written.",
        LocalNode = "app.local_node": "The node on this computer could not be started.",
        KeyStore = "app.key_store":
            "The built-in wallet key could not be read from or kept in the keychain or its file.",
        ExternalWallet = "app.external_wallet":
            "The profile signs with an external wallet, so it has no key to show.",
        AlreadySignedIn = "app.already_signed_in": "This profile already has an account.",
        OpenLink = "app.open_link": "The link could not be opened.",
        ReadyFile = "app.ready_file": "The start-up time could not be written to ARX_READY_FILE.",
        UpdateUnreachable = "app.update_unreachable":
            "The update server could not be reached; the installed version is untouched.",
        UpdateManifest = "app.update_manifest":
            "The update server's answer is not a usable release manifest (or has no build for \
             this platform).",
        UpdateSignature = "app.update_signature":
            "The downloaded update does not match its signature or the version it was signed \
             for: refused, the installed version is untouched.",
        UpdateDowngrade = "app.update_downgrade":
            "The update channel offers an older version than the installed one: refused.",
        UpdateInstall = "app.update_install":
            "The update could not be put in place (no administrator rights, or the installer \
             failed); the installed version is untouched.",
        UpdateBusy = "app.update_busy": "The updater is already checking or installing.",
        UpdateNone = "app.update_none": "There is no update to install or restart into.",
        UiUnknown = "ui.unknown":
            "The UI got a failure that carried no code (made by the UI itself).",
    }
}

code_union! {
    /// Any code a command can fail with: the engine's (its own, a node's, an identity rule's) or
    /// the app's.
    pub enum CommandCode {
        Engine(ErrorCode),
        App(AppCode),
    }
}

impl CommandCode {
    /// Every code, each list in the order of the glossary: identity rules, node, engine, app.
    pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
        let pairs = |code: &'static str, meaning: &'static str| (code, meaning);
        IdentityCode::ALL
            .iter()
            .map(move |c| pairs(c.as_str(), c.meaning()))
            .chain(
                NodeCode::ALL
                    .iter()
                    .map(move |c| pairs(c.as_str(), c.meaning())),
            )
            .chain(
                arx_core::CoreCode::ALL
                    .iter()
                    .map(move |c| pairs(c.as_str(), c.meaning())),
            )
            .chain(
                arx_media::MediaCode::ALL
                    .iter()
                    .map(move |c| pairs(c.as_str(), c.meaning())),
            )
            .chain(
                AppCode::ALL
                    .iter()
                    .map(move |c| pairs(c.as_str(), c.meaning())),
            )
    }
}

impl From<arx_core::CoreCode> for CommandCode {
    fn from(code: arx_core::CoreCode) -> Self {
        Self::Engine(code.into())
    }
}

impl From<IdentityCode> for CommandCode {
    fn from(code: IdentityCode) -> Self {
        Self::Engine(code.into())
    }
}

/// A failed command, as the UI receives it.
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[error("{message} [{code}]")]
pub struct CommandError {
    #[ts(type = "Code")]
    pub code: CommandCode,
    pub message: String,
    pub retryable: bool,
}

impl CommandError {
    pub fn new(code: impl Into<CommandCode>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: false,
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::new(arx_core::CoreCode::InvalidInput, message)
    }
}

impl From<CoreError> for CommandError {
    fn from(err: CoreError) -> Self {
        Self {
            code: err.code().into(),
            message: err.to_string(),
            retryable: err.retryable(),
        }
    }
}

impl From<arx_identity::IdentityError> for CommandError {
    fn from(err: arx_identity::IdentityError) -> Self {
        CoreError::from(err).into()
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

/// The glossary of every code (`docs/CODES.md`), generated from the code lists.
#[cfg(test)]
fn glossary() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Every code an ARX program reports across a boundary: a node's gRPC status \
         (`ErrorDetail.code`), the engine's errors (the CLI's `--json` errors and exit), and the \
         desktop app's commands. A code never changes meaning; programs branch on the code, \
         never on the message. Generated from the code lists in the source by \
         `cargo test -p arx-messenger codes` (`ARX_UPDATE_BINDINGS=1` rewrites it); a code \
         without an entry here fails that test.\n",
    );
    let sections: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "Identity and envelope rules (`arx-identity`, checked by clients and nodes)",
            IdentityCode::ALL
                .iter()
                .map(|c| (c.as_str(), c.meaning()))
                .collect(),
        ),
        (
            "Node refusals (`arx-node`)",
            NodeCode::ALL
                .iter()
                .map(|c| (c.as_str(), c.meaning()))
                .collect(),
        ),
        (
            "Engine (`arx-core`, the `arx` CLI)",
            arx_core::CoreCode::ALL
                .iter()
                .map(|c| (c.as_str(), c.meaning()))
                .collect(),
        ),
        (
            "Files (`arx-media`: sealing, IPFS, images, the cache)",
            arx_media::MediaCode::ALL
                .iter()
                .map(|c| (c.as_str(), c.meaning()))
                .collect(),
        ),
        (
            "Desktop app (`src-tauri`, `ui`)",
            AppCode::ALL
                .iter()
                .map(|c| (c.as_str(), c.meaning()))
                .collect(),
        ),
    ];
    for (title, codes) in sections {
        out.push_str(&format!("\n## {title}\n\n| code | meaning |\n|---|---|\n"));
        for (code, meaning) in codes {
            out.push_str(&format!("| `{code}` | {meaning} |\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Every code has an entry in the committed glossary, and the glossary is what the code lists
    /// make (ARX_UPDATE_BINDINGS=1 rewrites it).
    #[test]
    fn codes_glossary_has_an_entry_for_every_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CODES.md");
        let fresh = glossary();
        if std::env::var_os("ARX_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let missing: Vec<&str> = CommandCode::all()
            .map(|(code, _)| code)
            .filter(|code| !committed.contains(&format!("| `{code}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/CODES.md has no entry for {missing:?}: run ARX_UPDATE_BINDINGS=1 cargo test -p arx-messenger codes"
        );
        assert!(
            committed == fresh,
            "docs/CODES.md is stale: run ARX_UPDATE_BINDINGS=1 cargo test -p arx-messenger codes"
        );
    }

    #[test]
    fn codes_are_unique_across_every_list() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, meaning) in CommandCode::all() {
            assert!(seen.insert(code), "{code} is in two lists");
            assert!(!meaning.is_empty(), "{code} has no meaning");
        }
    }
}
