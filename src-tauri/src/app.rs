//! The app's state: one profile's engine (and, on "This computer", the embedded node it runs or
//! shares), the live stream that feeds UI events, and the views the UI renders.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
    sync::{Arc, Mutex},
};

use arx_core::{Client, GrpcTransport};
use arx_identity::{Address, InboxId};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter};
use tokio::sync::RwLock;

use crate::{
    desktop::Notifier,
    dto::{ConnectionState, EngineEvent, NetworkSetting, WalletKind},
    error::{AppCode, CommandError, CommandResult},
    keystore::KeyStore,
};

/// Where "This computer" runs its node: one per user, shared by every profile.
pub const DEFAULT_LOCAL_PORT: u16 = 7447;
const EVENT: &str = "engine-event";

/// Sends an event to the UI (a window that is gone is logged, nothing more).
pub(crate) fn emit_event(handle: &AppHandle, event: EngineEvent) {
    if let Err(err) = handle.emit(EVENT, event) {
        tracing::warn!("cannot reach the window: {err}");
    }
}

/// What the app remembers per profile besides the engine's own data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Settings {
    pub(crate) network: Option<NetworkSetting>,
    pub(crate) wallet_kind: Option<WalletKind>,
    /// Where the built-in wallet key is (absent in profiles made before the keychain: a file).
    pub(crate) key_store: Option<KeyStore>,
    /// OS notifications for new messages (on unless turned off).
    pub(crate) notifications: Option<bool>,
    /// A Kubo RPC URL to use instead of the app's own IPFS daemon.
    pub(crate) ipfs_url: Option<String>,
}

/// The engine of the running profile.
pub struct Session {
    pub client: Arc<Client>,
    /// The embedded node, when this app started it.
    node: Option<arx_node::RunningNode>,
    pub(crate) stream: Option<tokio::task::JoinHandle<()>>,
    /// The app's own IPFS daemon, once started.
    ipfs: Arc<tokio::sync::Mutex<Option<crate::ipfs::EmbeddedKubo>>>,
}

pub struct App {
    pub handle: AppHandle,
    pub profile: String,
    /// `<app data>/profiles/<profile>`: the engine (`engine/`), the built-in wallet key and
    /// `settings.json`.
    pub profile_dir: PathBuf,
    /// `<app data>/node`: the embedded node's database and key.
    pub node_dir: PathBuf,
    pub log_dir: PathBuf,
    /// A node URL given on the command line (`--node`) or by `ARX_NODE_URL`.
    pub node_override: Option<String>,
    pub local_port: u16,
    pub(crate) session: RwLock<Option<Session>>,
    /// External sign-ins waiting for the wallet's signature.
    pub signins: Mutex<HashMap<String, crate::signin::Pending>>,
    /// True once the first start finished (well or not): the UI's first question waits for it.
    ready: tokio::sync::watch::Sender<bool>,
    /// The last connection state sent, sent again to a UI that just (re)loaded.
    connection: Mutex<Option<EngineEvent>>,
    pub(crate) notifier: Notifier,
    /// When the process started, for the time to the first screen.
    pub started: std::time::Instant,
    /// The auto-updater (one channel for every profile of this installation).
    pub updates: Arc<crate::updates::Updates>,
    /// The last `arx://` link that arrived, until the UI takes it.
    pub(crate) link: Mutex<Option<String>>,
}

impl App {
    pub fn new(
        handle: AppHandle,
        profile: String,
        data_root: &Path,
        log_dir: PathBuf,
        node_override: Option<String>,
        local_port: u16,
    ) -> Self {
        Self {
            handle,
            profile_dir: data_root.join("profiles").join(&profile),
            node_dir: data_root.join("node"),
            profile,
            log_dir,
            node_override,
            local_port,
            session: RwLock::new(None),
            signins: Mutex::default(),
            ready: tokio::sync::watch::Sender::new(false),
            connection: Mutex::new(None),
            notifier: Notifier::default(),
            started: crate::process_start(),
            updates: Arc::new(crate::updates::Updates::new(data_root)),
            link: Mutex::new(None),
        }
    }

    /// Keeps an `arx://` link for the UI and tells it one is waiting.
    pub fn receive_link(&self, link: &str) {
        if let Ok(mut waiting) = self.link.lock() {
            *waiting = Some(link.to_owned());
        }
        self.emit(EngineEvent::LinkWaiting);
    }

    /// Waits until the engine's first start has finished.
    pub async fn ready(&self) {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// The first start: its failure is shown as the connection state.
    pub async fn first_start(self: &Arc<Self>) {
        if let Err(err) = self.start().await {
            tracing::warn!(code = %err.code, "engine did not start: {}", err.message);
            self.emit(EngineEvent::Connection {
                state: ConnectionState::Offline,
                detail: Some(err.message),
            });
        }
        self.ready.send_replace(true);
    }

    pub(crate) fn settings(&self) -> Settings {
        std::fs::read(self.profile_dir.join("settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(crate) fn save_settings(&self, settings: &Settings) -> CommandResult<()> {
        let bytes = serde_json::to_vec_pretty(settings)
            .map_err(|e| CommandError::new(AppCode::Settings, e.to_string()))?;
        std::fs::write(self.profile_dir.join("settings.json"), bytes)
            .map_err(|e| CommandError::new(AppCode::Settings, e.to_string()))
    }

    pub fn network(&self) -> NetworkSetting {
        self.settings().network.unwrap_or(NetworkSetting::Local)
    }

    pub fn emit(&self, event: EngineEvent) {
        if matches!(event, EngineEvent::Connection { .. }) {
            if let Ok(mut last) = self.connection.lock() {
                *last = Some(event.clone());
            }
        }
        emit_event(&self.handle, event);
    }

    /// The current connection state, as the last event that reported it.
    pub fn connection_state(&self) -> EngineEvent {
        self.connection
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or(EngineEvent::Connection {
                state: ConnectionState::Connecting,
                detail: None,
            })
    }

    /// The running engine.
    pub async fn client(&self) -> CommandResult<Arc<Client>> {
        self.session
            .read()
            .await
            .as_ref()
            .map(|s| s.client.clone())
            .ok_or_else(|| CommandError::new(AppCode::Starting, "ARX is still starting"))
    }

    /// Opens the profile's engine on the configured network (starting or sharing the local
    /// node), and streams events once the account exists.
    pub async fn start(self: &Arc<Self>) -> CommandResult<()> {
        arx_identity::secret_file::private_dir(&self.profile_dir)
            .map_err(|e| CommandError::new(arx_core::CoreCode::DataDir, e.to_string()))?;
        self.emit(EngineEvent::Connection {
            state: ConnectionState::Connecting,
            detail: None,
        });
        let (url, node, expected_key) = match (&self.node_override, self.network()) {
            (Some(url), _) => (url.clone(), None, None),
            (None, NetworkSetting::Remote { url }) => (url, None, None),
            (None, NetworkSetting::Local) => self.local_node().await?,
        };
        tracing::info!(%url, "opening the engine");
        let options = arx_core::TransportOptions {
            expected_key,
            ..Default::default()
        };
        let transport = Arc::new(GrpcTransport::with_options(&url, &options)?);
        let client = Arc::new(Client::open(&self.profile_dir.join("engine"), transport).await?);
        tracing::info!(
            ms = self.started.elapsed().as_millis() as u64,
            "engine open"
        );
        let registered = client.registration().await?.is_some();
        let ipfs = Arc::default();
        self.start_media(&client, &ipfs);
        *self.session.write().await = Some(Session {
            client,
            node,
            stream: None,
            ipfs,
        });
        if registered {
            self.start_stream().await;
        }
        Ok(())
    }

    /// Where files go: `ARX_IPFS_API`, the Kubo URL from Settings, or the app's own Kubo
    /// (started in the background; files wait for it with `media.not_configured` meanwhile).
    fn start_media(
        &self,
        client: &Arc<Client>,
        slot: &Arc<tokio::sync::Mutex<Option<crate::ipfs::EmbeddedKubo>>>,
    ) {
        let configured = std::env::var("ARX_IPFS_API")
            .ok()
            .or_else(|| self.settings().ipfs_url);
        if let Some(url) = configured {
            match arx_media::KuboStore::new(&url) {
                Ok(store) => {
                    if let Err(err) = client.use_media(Arc::new(store), None, None) {
                        tracing::warn!("media cache: {err}");
                    }
                    let client = client.clone();
                    tokio::spawn(async move {
                        if let Err(err) = client.tidy_media().await {
                            tracing::warn!("media upkeep: {err}");
                        }
                    });
                }
                Err(err) => tracing::warn!("IPFS URL {url}: {err}"),
            }
            return;
        }
        let Some(binary) = crate::ipfs::kubo_binary() else {
            tracing::warn!("no IPFS daemon beside the app and none set: files cannot be sent");
            return;
        };
        let repo = self.profile_dir.join("ipfs");
        let (client, slot) = (client.clone(), slot.clone());
        tokio::spawn(async move {
            match crate::ipfs::EmbeddedKubo::start(&binary, &repo).await {
                Ok(kubo) => {
                    tracing::info!(url = %kubo.api_url, "IPFS daemon started");
                    match arx_media::KuboStore::new(&kubo.api_url) {
                        Ok(store) => {
                            if let Err(err) = client.use_media(Arc::new(store), None, None) {
                                tracing::warn!("media cache: {err}");
                            }
                            // Start-up upkeep: expired messages and unneeded files go.
                            if let Err(err) = client.tidy_media().await {
                                tracing::warn!("media upkeep: {err}");
                            }
                        }
                        Err(err) => tracing::warn!("IPFS daemon URL: {err}"),
                    }
                    *slot.lock().await = Some(kubo);
                }
                Err(err) => tracing::warn!("the IPFS daemon could not start: {err}"),
            }
        });
    }

    /// Stops the engine (and the embedded node, if this app runs it).
    pub async fn stop(&self) {
        if let Some(mut session) = self.session.write().await.take() {
            session.ipfs.lock().await.take();
            if let Some(stream) = session.stream.take() {
                stream.abort();
            }
            if let Some(node) = session.node.take() {
                if let Err(err) = node.shutdown().await {
                    tracing::warn!("embedded node did not stop cleanly: {err}");
                }
            }
        }
    }

    /// Starts the embedded node on loopback, or shares the one another ARX window already
    /// runs on the same port: it must then be this app's node (its key is the one in the node
    /// folder), not another program that took the port.
    async fn local_node(
        &self,
    ) -> CommandResult<(String, Option<arx_node::RunningNode>, Option<[u8; 32]>)> {
        arx_identity::secret_file::private_dir(&self.node_dir)
            .map_err(|e| CommandError::new(arx_core::CoreCode::DataDir, e.to_string()))?;
        let listen = SocketAddr::from(([127, 0, 0, 1], self.local_port));
        let config = arx_node::NodeConfig {
            listen,
            database_url: format!("sqlite://{}", self.node_dir.join("node.db").display()),
            key_file: self.node_dir.join("node.key"),
            service: arx_node::ServiceConfig::new(arx_node::Limits::default()),
            live_buffer: 4096,
            tls: None,
        };
        let key = arx_node::keyfile::load_or_create(&config.key_file)
            .map_err(|e| CommandError::new(AppCode::LocalNode, e.to_string()))?;
        let expected = key.public_key();
        match arx_node::start_with(
            config.clone(),
            arx_node::store::open(&config.database_url)
                .await
                .map_err(|e| CommandError::new(AppCode::LocalNode, e.to_string()))?,
            key,
        )
        .await
        {
            Ok(node) => Ok((node.url(), Some(node), Some(expected))),
            Err(arx_node::StartError::Bind { .. }) => {
                let url = format!("http://{listen}");
                let options = arx_core::TransportOptions {
                    expected_key: Some(expected),
                    ..Default::default()
                };
                let theirs = GrpcTransport::with_options(&url, &options)?;
                if let Err(err) = arx_core::Transport::node_info(&theirs).await {
                    return Err(CommandError::new(
                        AppCode::LocalNode,
                        format!(
                            "port {} is taken by another program, not this app's node ({err}); \
                             close it, or choose a node on the network in Settings",
                            self.local_port
                        ),
                    ));
                }
                tracing::info!(%listen, "this app's node already runs (another window); sharing it");
                Ok((url, None, Some(expected)))
            }
            Err(err) => Err(CommandError::new(AppCode::LocalNode, err.to_string())),
        }
    }

    /// Whether new messages raise OS notifications.
    pub fn notifications(&self) -> bool {
        self.settings().notifications.unwrap_or(true)
    }

    pub fn set_notifications(&self, enabled: bool) -> CommandResult<()> {
        let mut settings = self.settings();
        settings.notifications = Some(enabled);
        self.save_settings(&settings)
    }

    pub async fn set_network(self: &Arc<Self>, network: NetworkSetting) -> CommandResult<()> {
        if let NetworkSetting::Remote { url } = &network {
            let parsed = url.trim();
            if !(parsed.starts_with("http://") || parsed.starts_with("https://")) {
                return Err(CommandError::input(
                    "a node URL starts with http:// or https://",
                ));
            }
            GrpcTransport::new(parsed)?;
        }
        let mut settings = self.settings();
        settings.network = Some(network);
        self.save_settings(&settings)?;
        self.stop().await;
        self.start().await
    }

    /// Uses the Kubo RPC API at `url` for files, or (`None`) the app's own IPFS daemon; the
    /// engine restarts with it.
    pub async fn set_ipfs_url(self: &Arc<Self>, url: Option<String>) -> CommandResult<()> {
        let url = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        if let Some(url) = &url {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return Err(CommandError::input(
                    "a Kubo RPC URL starts with http:// or https:// (e.g. http://127.0.0.1:5001)",
                ));
            }
            arx_media::KuboStore::new(url).map_err(arx_core::CoreError::from)?;
        }
        let mut settings = self.settings();
        settings.ipfs_url = url;
        self.save_settings(&settings)?;
        self.stop().await;
        self.start().await
    }

    /// Parses a member given as a wallet address or an inbox id.
    pub async fn resolve(&self, client: &Client, member: &str) -> CommandResult<InboxId> {
        Ok(client.resolve_member(member).await?)
    }
}

/// Parses a wallet address.
pub fn parse_address(text: &str) -> CommandResult<Address> {
    Address::from_str(text.trim())
        .map_err(|_| CommandError::input(format!("{text:?} is not a wallet address (0x + 40 hex)")))
}
