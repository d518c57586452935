//! Auto-update through `tauri-plugin-updater`: a channel (stable or beta, each its own manifest),
//! checks on start and daily, a download with progress, the signature checked against the public
//! key built into the app (`plugins.updater.pubkey`), the install, and "restart to update".
//!
//! Nothing here replaces the installed version unless the downloaded file's minisign signature
//! matches, is bound to the announced version (`requireSignedVersion`), and that version is newer
//! than this one. Every failure is a status with a code and leaves the installed version as is.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};

use crate::{
    commands::AppState,
    dto::{EngineEvent, UpdateChannel, UpdateStatus, UpdatesView},
    error::{AppCode, CommandError, CommandResult},
    signature::command,
};

/// Where the channels' manifests are (`<base>/stable.json`, `<base>/beta.json`): the release
/// workflow publishes them to the `channels` release. `ARX_UPDATE_URL` at build time (a fork's
/// releases) or at run time (a mirror, the update test) names another base; whatever serves the
/// manifest, only files signed with the built-in key are installed.
const DEFAULT_BASE_URL: &str = "https://github.com/arx-messenger/arx/releases/download/channels";
/// The first automatic check, after start-up settles; then one a day.
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(10);
const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// A check or a stalled download gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Download progress reaches the UI at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Kept in `<data root>/updates.json`: one choice for every profile of this installation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    channel: UpdateChannel,
}

/// The manifest URL of a channel under a base URL.
pub fn manifest_url(base: &str, channel: UpdateChannel) -> String {
    let name = match channel {
        UpdateChannel::Stable => "stable",
        UpdateChannel::Beta => "beta",
    };
    format!("{}/{name}.json", base.trim_end_matches('/'))
}

fn base_url() -> String {
    std::env::var("ARX_UPDATE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| option_env!("ARX_UPDATE_URL").map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
}

/// How this installation gets a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallMode {
    /// The updater replaces it (an installer on Windows, the `.app` on macOS, an AppImage, or a
    /// Linux package when administrator rights can be had).
    InPlace,
    /// The person does it; the text says how.
    Manual { how: String },
}

/// What Linux offers for installing a package with administrator rights.
#[derive(Debug, Clone, Copy, Default)]
pub struct Privileges {
    pub is_root: bool,
    pub has_sudo: bool,
    pub has_pkexec: bool,
}

/// How a Linux build of the given kind can be updated. The plugin installs a package with
/// `pkexec` (a password prompt), else `sudo`: as root either works; otherwise only `pkexec`
/// can ask, so without it the person is told what to run.
pub fn linux_install_mode(bundle: Option<&str>, privileges: Privileges) -> InstallMode {
    let elevate = privileges.has_pkexec || (privileges.is_root && privileges.has_sudo);
    match bundle {
        Some("appimage") => InstallMode::InPlace,
        Some("deb") if elevate => InstallMode::InPlace,
        Some("rpm") if elevate => InstallMode::InPlace,
        Some("deb") => InstallMode::Manual {
            how: "ARX was installed by the system's package manager, which needs administrator \
                  rights to replace it. Download the new .deb and install it with \
                  `sudo apt install ./<file>.deb`."
                .into(),
        },
        Some("rpm") => InstallMode::Manual {
            how: "ARX was installed by the system's package manager, which needs administrator \
                  rights to replace it. Download the new .rpm and install it with \
                  `sudo dnf install ./<file>.rpm`."
                .into(),
        },
        _ => InstallMode::Manual {
            how: "This copy of ARX was not installed from a release package, so it cannot \
                  replace itself. Download the new version's installer."
                .into(),
        },
    }
}

fn install_mode() -> InstallMode {
    #[cfg(target_os = "linux")]
    {
        use tauri::utils::{config::BundleType, platform::bundle_type};
        let bundle = match bundle_type() {
            Some(BundleType::Deb) => Some("deb"),
            Some(BundleType::Rpm) => Some("rpm"),
            Some(BundleType::AppImage) if std::env::var_os("APPIMAGE").is_some() => {
                Some("appimage")
            }
            _ => None,
        };
        let on_path = |name: &str| {
            std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
            })
        };
        // The owner of /proc/self is the process's effective user.
        let is_root = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
        };
        linux_install_mode(
            bundle,
            Privileges {
                is_root,
                has_sudo: on_path("sudo"),
                has_pkexec: on_path("pkexec"),
            },
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        InstallMode::InPlace
    }
}

/// The plugin's error as a code and a sentence for people.
pub fn describe(err: &UpdaterError) -> CommandError {
    use UpdaterError as E;
    let (code, message) = match err {
        E::Reqwest(_) | E::Network(_) => (
            AppCode::UpdateUnreachable,
            format!("The update server could not be reached ({err})."),
        ),
        E::ReleaseNotFound | E::Serialization(_) | E::Semver(_) | E::UrlParse(_) => (
            AppCode::UpdateManifest,
            format!("The update server's answer is not a release manifest ({err})."),
        ),
        E::TargetNotFound(_) | E::TargetsNotFound(_) => (
            AppCode::UpdateManifest,
            "The new version has no build for this platform yet.".to_owned(),
        ),
        E::Minisign(_) | E::Base64(_) | E::SignatureUtf8(_) => (
            AppCode::UpdateSignature,
            "The downloaded update does not match its signature (tampered with, or not signed \
             by ARX's key): it was not installed."
                .to_owned(),
        ),
        E::SignedVersionMismatch { signed, announced } => (
            AppCode::UpdateSignature,
            format!(
                "The update server announced {announced}, but the file is signed as {signed}: \
                 it was not installed."
            ),
        ),
        E::AuthenticationFailed | E::PackageInstallFailed | E::DebInstallFailed => (
            AppCode::UpdateInstall,
            "Installing the update needs administrator rights, which were not given. Download \
             the new package and install it with your package manager instead."
                .to_owned(),
        ),
        E::InsecureTransportProtocol => (
            AppCode::UpdateManifest,
            "The update server's address does not use https.".to_owned(),
        ),
        _ => (
            AppCode::UpdateInstall,
            format!("The update could not be installed ({err})."),
        ),
    };
    CommandError::new(code, message)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct State {
    channel: UpdateChannel,
    status: UpdateStatus,
    last_checked_ms: Option<u64>,
    /// The update the last check found, until it is installed or another check replaces it.
    pending: Option<Update>,
}

/// The updater of this running app.
pub struct Updates {
    file: PathBuf,
    state: Mutex<State>,
    /// One check or install at a time.
    busy: tokio::sync::Mutex<()>,
}

impl Updates {
    pub fn new(data_root: &std::path::Path) -> Self {
        let file = data_root.join("updates.json");
        let stored: Stored = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            file,
            state: Mutex::new(State {
                channel: stored.channel,
                status: UpdateStatus::Idle,
                last_checked_ms: None,
                pending: None,
            }),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    pub fn view(&self, handle: &AppHandle) -> UpdatesView {
        let current_version = handle.package_info().version.to_string();
        match self.state.lock() {
            Ok(state) => UpdatesView {
                current_version,
                channel: state.channel,
                status: state.status.clone(),
                last_checked_ms: state.last_checked_ms,
            },
            Err(_) => UpdatesView {
                current_version,
                channel: UpdateChannel::Stable,
                status: UpdateStatus::Idle,
                last_checked_ms: None,
            },
        }
    }

    fn set(&self, handle: &AppHandle, change: impl FnOnce(&mut State)) {
        if let Ok(mut state) = self.state.lock() {
            change(&mut state);
        }
        let updates = self.view(handle);
        crate::app::emit_event(handle, EngineEvent::Updates { updates });
    }

    fn fail(&self, handle: &AppHandle, err: &CommandError) {
        tracing::warn!(code = %err.code, "update: {}", err.message);
        let status = UpdateStatus::Failed {
            code: err.code,
            message: err.message.clone(),
        };
        self.set(handle, |s| s.status = status);
    }

    pub fn set_channel(&self, handle: &AppHandle, channel: UpdateChannel) -> CommandResult<()> {
        let bytes = serde_json::to_vec_pretty(&Stored { channel })
            .map_err(|e| CommandError::new(AppCode::Settings, e.to_string()))?;
        std::fs::write(&self.file, bytes).map_err(|e| {
            CommandError::new(AppCode::Settings, format!("{}: {e}", self.file.display()))
        })?;
        // What the other channel offered is no longer what this one offers.
        self.set(handle, |s| {
            s.channel = channel;
            s.pending = None;
            s.status = UpdateStatus::Idle;
        });
        Ok(())
    }

    /// Asks the channel's manifest for a newer version.
    pub async fn check(&self, handle: &AppHandle) {
        let Ok(_busy) = self.busy.try_lock() else {
            return;
        };
        if matches!(self.view(handle).status, UpdateStatus::Ready { .. }) {
            return; // already installed: the restart is what is left
        }
        let channel = self.view(handle).channel;
        self.set(handle, |s| s.status = UpdateStatus::Checking);
        let offered = Arc::new(Mutex::new(None::<String>));
        let result = self.find(handle, channel, offered.clone()).await;
        let current = handle.package_info().version.clone();
        let status = match result {
            Ok(Some(update)) => {
                let version = update.version.clone();
                let status = match install_mode() {
                    InstallMode::InPlace => UpdateStatus::Available {
                        version,
                        notes: update.body.clone(),
                    },
                    InstallMode::Manual { how } => UpdateStatus::Manual {
                        version,
                        instructions: how,
                        download_url: update.download_url.to_string(),
                    },
                };
                self.set(handle, |s| s.pending = Some(update));
                status
            }
            Ok(None) => {
                let older = offered
                    .lock()
                    .ok()
                    .and_then(|o| o.clone())
                    .filter(|v| semver::Version::parse(v).is_ok_and(|v| v < current));
                match older {
                    Some(version) => UpdateStatus::Failed {
                        code: AppCode::UpdateDowngrade.into(),
                        message: format!(
                            "The {} channel offers {version}, older than this {current}: ARX \
                             does not go back to an older version.",
                            channel_name(channel)
                        ),
                    },
                    None => UpdateStatus::UpToDate,
                }
            }
            Err(err) => {
                let err = describe(&err);
                tracing::warn!(code = %err.code, "update check: {}", err.message);
                UpdateStatus::Failed {
                    code: err.code,
                    message: err.message,
                }
            }
        };
        let checked = now_ms();
        self.set(handle, |s| {
            s.status = status;
            s.last_checked_ms = Some(checked);
        });
    }

    async fn find(
        &self,
        handle: &AppHandle,
        channel: UpdateChannel,
        offered: Arc<Mutex<Option<String>>>,
    ) -> Result<Option<Update>, UpdaterError> {
        let url = manifest_url(&base_url(), channel).parse()?;
        handle
            .updater_builder()
            .endpoints(vec![url])?
            .timeout(REQUEST_TIMEOUT)
            .version_comparator(move |current, release| {
                if let Ok(mut seen) = offered.lock() {
                    *seen = Some(release.version.to_string());
                }
                release.version > current
            })
            .build()?
            .check()
            .await
    }

    /// Downloads the update the last check found, verifies it and installs it; the restart is
    /// the person's to choose. On Windows the installer takes over and the app exits.
    pub async fn install(&self, handle: &AppHandle) -> CommandResult<()> {
        let Ok(_busy) = self.busy.try_lock() else {
            return Err(CommandError::new(
                AppCode::UpdateBusy,
                "The updater is already checking or installing.",
            ));
        };
        let pending = self.state.lock().ok().and_then(|s| s.pending.clone());
        let Some(update) = pending else {
            return Err(CommandError::new(
                AppCode::UpdateNone,
                "There is no update to install: check for one first.",
            ));
        };
        if let InstallMode::Manual { how } = install_mode() {
            return Err(CommandError::new(AppCode::UpdateInstall, how));
        }
        let version = update.version.clone();
        self.set(handle, |s| {
            s.status = UpdateStatus::Downloading {
                version: version.clone(),
                received: 0,
                total: None,
            }
        });
        let mut received: u64 = 0;
        let mut last_sent = Instant::now();
        let progress_version = version.clone();
        let downloaded = update
            .download(
                |chunk, total| {
                    received += chunk as u64;
                    if last_sent.elapsed() >= PROGRESS_EVERY {
                        last_sent = Instant::now();
                        let status = UpdateStatus::Downloading {
                            version: progress_version.clone(),
                            received,
                            total,
                        };
                        self.set(handle, |s| s.status = status);
                    }
                },
                || {},
            )
            .await;
        // `download` has checked the signature against the built-in key.
        let bytes = match downloaded {
            Ok(bytes) => bytes,
            Err(err) => {
                let err = describe(&err);
                self.fail(handle, &err);
                return Err(err);
            }
        };
        self.set(handle, |s| {
            s.status = UpdateStatus::Installing {
                version: version.clone(),
            }
        });
        let installing = update.clone();
        let installed = tokio::task::spawn_blocking(move || installing.install(bytes)).await;
        match installed {
            Ok(Ok(())) => {
                tracing::info!(%version, "update installed; the next start runs it");
                self.set(handle, |s| {
                    s.pending = None;
                    s.status = UpdateStatus::Ready { version };
                });
                Ok(())
            }
            Ok(Err(err)) => {
                let err = describe(&err);
                self.fail(handle, &err);
                Err(err)
            }
            Err(err) => {
                let err = CommandError::new(AppCode::UpdateInstall, err.to_string());
                self.fail(handle, &err);
                Err(err)
            }
        }
    }

    /// Restarts into the installed update (the app stops its engine and node first).
    pub fn restart(&self, handle: &AppHandle) -> CommandResult<()> {
        if !matches!(self.view(handle).status, UpdateStatus::Ready { .. }) {
            return Err(CommandError::new(
                AppCode::UpdateNone,
                "No update has been installed yet.",
            ));
        }
        tracing::info!("restarting into the update");
        handle.request_restart();
        Ok(())
    }

    /// Checks a little after start-up, then daily, for as long as the app runs.
    pub fn check_on_schedule(self: Arc<Self>, handle: AppHandle) {
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(FIRST_CHECK_AFTER).await;
            loop {
                let busy = matches!(
                    self.view(&handle).status,
                    UpdateStatus::Checking
                        | UpdateStatus::Downloading { .. }
                        | UpdateStatus::Installing { .. }
                        | UpdateStatus::Ready { .. }
                );
                if !busy {
                    self.check(&handle).await;
                }
                tokio::time::sleep(CHECK_EVERY).await;
            }
        });
    }
}

command! {
/// Settings → Updates: this version, the channel and where the updater is.
pub async fn update_state(app: AppState<'_>) -> CommandResult<UpdatesView> {
    Ok(app.updates.view(&app.handle))
}
}

command! {
/// Follows the other channel from the next check on (kept for every profile).
pub async fn set_update_channel(
    app: AppState<'_>,
    channel: UpdateChannel,
) -> CommandResult<UpdatesView> {
    app.updates.set_channel(&app.handle, channel)?;
    Ok(app.updates.view(&app.handle))
}
}

command! {
/// "Check now": the result is in the returned view (and in an `updates` event).
pub async fn check_for_update(app: AppState<'_>) -> CommandResult<UpdatesView> {
    app.updates.check(&app.handle).await;
    Ok(app.updates.view(&app.handle))
}
}

command! {
/// Downloads, verifies and installs the update found by the last check; progress arrives as
/// `updates` events.
pub async fn install_update(app: AppState<'_>) -> CommandResult<UpdatesView> {
    app.updates.install(&app.handle).await?;
    Ok(app.updates.view(&app.handle))
}
}

command! {
/// "Restart to update".
pub async fn restart_to_update(app: AppState<'_>) -> CommandResult<()> {
    app.updates.restart(&app.handle)
}
}

pub fn signatures() -> Vec<crate::signature::Signature> {
    vec![
        update_state::signature(),
        set_update_channel::signature(),
        check_for_update::signature(),
        install_update::signature(),
        restart_to_update::signature(),
    ]
}

fn channel_name(channel: UpdateChannel) -> &'static str {
    match channel {
        UpdateChannel::Stable => "stable",
        UpdateChannel::Beta => "beta",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn each_channel_has_its_own_manifest() {
        let base = "https://example.org/releases/download/channels/";
        assert_eq!(
            manifest_url(base, UpdateChannel::Stable),
            "https://example.org/releases/download/channels/stable.json"
        );
        assert_eq!(
            manifest_url(base.trim_end_matches('/'), UpdateChannel::Beta),
            "https://example.org/releases/download/channels/beta.json"
        );
    }

    #[test]
    fn a_system_package_updates_in_place_only_with_a_way_to_get_rights() {
        let none = Privileges::default();
        let pkexec = Privileges {
            has_pkexec: true,
            ..none
        };
        let root_sudo = Privileges {
            is_root: true,
            has_sudo: true,
            ..none
        };
        let user_sudo = Privileges {
            has_sudo: true,
            ..none
        };
        for bundle in ["deb", "rpm"] {
            assert_eq!(
                linux_install_mode(Some(bundle), pkexec),
                InstallMode::InPlace
            );
            assert_eq!(
                linux_install_mode(Some(bundle), root_sudo),
                InstallMode::InPlace
            );
            // sudo without a terminal cannot ask for the password: say what to run instead.
            for privileges in [none, user_sudo] {
                let InstallMode::Manual { how } = linux_install_mode(Some(bundle), privileges)
                else {
                    panic!("{bundle} without rights must be manual");
                };
                assert!(how.contains(&format!("./<file>.{bundle}")), "{how}");
            }
        }
        assert_eq!(
            linux_install_mode(Some("appimage"), none),
            InstallMode::InPlace
        );
        assert!(matches!(
            linux_install_mode(None, root_sudo),
            InstallMode::Manual { .. }
        ));
    }

    #[test]
    fn each_updater_failure_has_its_own_code() {
        let cases = [
            (
                UpdaterError::Network("refused".into()),
                AppCode::UpdateUnreachable,
            ),
            (UpdaterError::ReleaseNotFound, AppCode::UpdateManifest),
            (
                UpdaterError::TargetsNotFound(vec!["linux-x86_64".into()]),
                AppCode::UpdateManifest,
            ),
            (
                UpdaterError::SignatureUtf8("not base64".into()),
                AppCode::UpdateSignature,
            ),
            (
                UpdaterError::SignedVersionMismatch {
                    signed: "0.1.0".into(),
                    announced: "9.0.0".into(),
                },
                AppCode::UpdateSignature,
            ),
            (UpdaterError::PackageInstallFailed, AppCode::UpdateInstall),
        ];
        for (err, code) in cases {
            let described = describe(&err);
            assert_eq!(described.code, code.into(), "{err}");
            assert!(described.message.ends_with('.'), "{}", described.message);
        }
    }

    #[test]
    fn the_channel_is_kept_for_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("updates.json"), br#"{"channel":"beta"}"#).unwrap();
        let updates = Updates::new(dir.path());
        assert_eq!(updates.state.lock().unwrap().channel, UpdateChannel::Beta);
        std::fs::write(dir.path().join("updates.json"), b"not json").unwrap();
        let updates = Updates::new(dir.path());
        assert_eq!(updates.state.lock().unwrap().channel, UpdateChannel::Stable);
    }
}
