//! The app's state: one profile's engine (and, on "This computer", the embedded node it runs or
//! shares), the live stream that feeds UI events, and the views the UI renders.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use arx_core::{Client, Conversation, Delivery, GrpcTransport, Role as CoreRole, StoredMessage};
use arx_identity::{Address, InboxId, LocalWallet};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter};
use tokio::sync::{mpsc, RwLock};

use crate::{
    desktop::Notifier,
    dto::{
        Account, ConnectionState, ConversationKind, ConversationView, DeliveryStatus, EngineEvent,
        MessageView, NetworkSetting, Role, WalletKind,
    },
    error::{AppCode, CommandError, CommandResult},
    keystore::{self, KeyStore, OsKeychain},
};

/// Where "This computer" runs its node: one per user, shared by every profile.
pub const DEFAULT_LOCAL_PORT: u16 = 7447;
const EVENT: &str = "engine-event";

/// What the app remembers per profile besides the engine's own data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Settings {
    network: Option<NetworkSetting>,
    wallet_kind: Option<WalletKind>,
    /// Where the built-in wallet key is (absent in profiles made before the keychain: a file).
    key_store: Option<KeyStore>,
    /// OS notifications for new messages (on unless turned off).
    notifications: Option<bool>,
}

/// The engine of the running profile.
pub struct Session {
    pub client: Arc<Client>,
    /// The embedded node, when this app started it.
    node: Option<arx_node::RunningNode>,
    stream: Option<tokio::task::JoinHandle<()>>,
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
    session: RwLock<Option<Session>>,
    /// Wallet address per inbox, for labels.
    addresses: Mutex<HashMap<InboxId, String>>,
    /// External sign-ins waiting for the wallet's signature.
    pub signins: Mutex<HashMap<String, crate::signin::Pending>>,
    /// True once the first start finished (well or not): the UI's first question waits for it.
    ready: tokio::sync::watch::Sender<bool>,
    /// The last connection state sent, sent again to a UI that just (re)loaded.
    connection: Mutex<Option<EngineEvent>>,
    notifier: Notifier,
    /// When the process started, for the time to the first screen.
    pub started: std::time::Instant,
}

pub fn short(address: &str) -> String {
    if address.len() > 12 {
        format!("{}…{}", &address[..6], &address[address.len() - 4..])
    } else {
        address.to_owned()
    }
}

fn ms(ns: i64) -> i64 {
    ns / 1_000_000
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
            addresses: Mutex::default(),
            signins: Mutex::default(),
            ready: tokio::sync::watch::Sender::new(false),
            connection: Mutex::new(None),
            notifier: Notifier::default(),
            started: std::time::Instant::now(),
        }
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

    fn settings(&self) -> Settings {
        std::fs::read(self.profile_dir.join("settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_settings(&self, settings: &Settings) -> CommandResult<()> {
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
        if let Err(err) = self.handle.emit(EVENT, event) {
            tracing::warn!("cannot reach the window: {err}");
        }
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
        std::fs::create_dir_all(&self.profile_dir)
            .map_err(|e| CommandError::new(arx_core::CoreCode::DataDir, e.to_string()))?;
        self.emit(EngineEvent::Connection {
            state: ConnectionState::Connecting,
            detail: None,
        });
        let (url, node) = match (&self.node_override, self.network()) {
            (Some(url), _) => (url.clone(), None),
            (None, NetworkSetting::Remote { url }) => (url, None),
            (None, NetworkSetting::Local) => self.local_node().await?,
        };
        tracing::info!(%url, "opening the engine");
        let transport = Arc::new(GrpcTransport::new(&url)?);
        let client = Arc::new(Client::open(&self.profile_dir.join("engine"), transport).await?);
        let registered = client.registration().await?.is_some();
        *self.session.write().await = Some(Session {
            client,
            node,
            stream: None,
        });
        if registered {
            self.start_stream().await;
        }
        Ok(())
    }

    /// Stops the engine (and the embedded node, if this app runs it).
    pub async fn stop(&self) {
        if let Some(mut session) = self.session.write().await.take() {
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
    /// runs on the same port.
    async fn local_node(&self) -> CommandResult<(String, Option<arx_node::RunningNode>)> {
        std::fs::create_dir_all(&self.node_dir)
            .map_err(|e| CommandError::new(arx_core::CoreCode::DataDir, e.to_string()))?;
        let listen = SocketAddr::from(([127, 0, 0, 1], self.local_port));
        let config = arx_node::NodeConfig {
            listen,
            database_url: format!("sqlite://{}", self.node_dir.join("node.db").display()),
            key_file: self.node_dir.join("node.key"),
            service: arx_node::ServiceConfig {
                limits: arx_node::Limits::default(),
                rate_limit: None,
                keepalive: Duration::from_secs(30),
            },
            live_buffer: 4096,
        };
        match arx_node::start(config).await {
            Ok(node) => Ok((node.url(), Some(node))),
            Err(arx_node::StartError::Bind { .. }) => {
                tracing::info!(%listen, "a node already runs on this computer; sharing it");
                Ok((format!("http://{listen}"), None))
            }
            Err(err) => Err(CommandError::new(AppCode::LocalNode, err.to_string())),
        }
    }

    /// Streams new conversations, messages and the connection state to the UI.
    pub async fn start_stream(self: &Arc<Self>) {
        let mut guard = self.session.write().await;
        let Some(session) = guard.as_mut() else {
            return;
        };
        if session.stream.is_some() {
            return;
        }
        let client = session.client.clone();
        let app = self.clone();
        tracing::info!("live stream starting");
        session.stream = Some(tokio::spawn(async move {
            let (tx, mut rx) = mpsc::channel(256);
            let streaming = client.clone();
            let stream = tokio::spawn(async move { streaming.stream(tx).await });
            while let Some(event) = rx.recv().await {
                app.forward(&client, event).await;
            }
            tracing::info!("live stream ended");
            if let Ok(Err(err)) = stream.await {
                app.emit(EngineEvent::Connection {
                    state: ConnectionState::Offline,
                    detail: Some(err.to_string()),
                });
            }
        }));
    }

    async fn forward(&self, client: &Client, event: arx_core::StreamEvent) {
        match event {
            arx_core::StreamEvent::Joined(c) => match self.conversation_view(client, c).await {
                Ok(conversation) => self.emit(EngineEvent::Conversation { conversation }),
                Err(err) => tracing::warn!("conversation view: {err}"),
            },
            arx_core::StreamEvent::Message(m) => {
                let group = m.group_id.clone();
                let message = match self.message_view(client, &m).await {
                    Ok(message) => {
                        self.emit(EngineEvent::Message {
                            message: message.clone(),
                        });
                        Some(message)
                    }
                    Err(err) => {
                        tracing::warn!("message view: {err}");
                        None
                    }
                };
                let conversation = self.emit_conversation(client, &group).await;
                if let Some(message) = message {
                    let focused = crate::desktop::window_focused(&self.handle);
                    if crate::desktop::should_notify(&message, self.notifications(), focused) {
                        let (title, body) =
                            crate::desktop::notification_text(conversation.as_ref(), &message);
                        self.notifier
                            .notify(&self.handle, &message.conversation_id, &title, &body);
                    }
                }
            }
            arx_core::StreamEvent::Delivery(m) => {
                match self.message_view(client, &m).await {
                    Ok(message) => self.emit(EngineEvent::Message { message }),
                    Err(err) => tracing::warn!("message view: {err}"),
                }
                self.emit_conversation(client, &m.group_id).await;
            }
            arx_core::StreamEvent::Connection { online, detail } => {
                tracing::info!(online, "connection");
                self.emit(EngineEvent::Connection {
                    state: if online {
                        ConnectionState::Online
                    } else {
                        ConnectionState::Offline
                    },
                    detail,
                });
            }
        }
    }

    /// Reports the conversation's current state to the UI (and the unread badge), and
    /// returns the view sent, if any.
    pub async fn emit_conversation(
        &self,
        client: &Client,
        group_id: &[u8],
    ) -> Option<ConversationView> {
        let view = match client.conversation(group_id).summary().await {
            Ok(c) if c.state.is_out() => {
                self.emit(EngineEvent::ConversationRemoved {
                    conversation_id: hex::encode(group_id),
                });
                None
            }
            Ok(c) => match self.conversation_view(client, c).await {
                Ok(conversation) => {
                    self.emit(EngineEvent::Conversation {
                        conversation: conversation.clone(),
                    });
                    Some(conversation)
                }
                Err(err) => {
                    tracing::warn!("conversation view: {err}");
                    None
                }
            },
            Err(err) => {
                tracing::warn!("conversation: {err}");
                None
            }
        };
        self.update_badge(client).await;
        view
    }

    /// The unread badge: unread messages over every conversation still open.
    pub async fn update_badge(&self, client: &Client) {
        match client.conversations().await {
            Ok(list) => {
                let unread = list
                    .iter()
                    .filter(|c| !c.state.is_out())
                    .map(|c| u64::try_from(c.unread).unwrap_or(0))
                    .sum();
                crate::desktop::set_badge(&self.handle, unread);
            }
            Err(err) => tracing::warn!("unread count: {err}"),
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

    /// The built-in wallet's private key, for the person to back it up.
    pub fn builtin_key(&self) -> CommandResult<[u8; 32]> {
        let settings = self.settings();
        if settings.wallet_kind == Some(WalletKind::External) {
            return Err(CommandError::new(
                AppCode::ExternalWallet,
                "this account signs with an external wallet: its key never reaches ARX",
            ));
        }
        let store = settings.key_store.unwrap_or(KeyStore::File);
        keystore::load(&OsKeychain, &self.profile_dir, store)?.ok_or_else(|| {
            CommandError::new(
                AppCode::KeyStore,
                "the wallet key of this profile is missing",
            )
        })
    }

    /// The wallet address of an inbox (remembered once known).
    pub async fn address_of(&self, client: &Client, inbox: &InboxId) -> String {
        if let Some(known) = self.cached_address(inbox) {
            return known;
        }
        let address = match client.association_state(inbox).await {
            Ok(state) => state
                .wallets()
                .first()
                .map(|a| a.to_checksum(None))
                .unwrap_or_else(|| inbox.to_string()),
            Err(_) => return inbox.to_string(),
        };
        if let Ok(mut cache) = self.addresses.lock() {
            cache.insert(*inbox, address.clone());
        }
        address
    }

    fn cached_address(&self, inbox: &InboxId) -> Option<String> {
        self.addresses.lock().ok()?.get(inbox).cloned()
    }

    pub async fn message_view(
        &self,
        client: &Client,
        m: &StoredMessage,
    ) -> CommandResult<MessageView> {
        let is_mine = m.sender_installation == client.installation_key()
            || client
                .registration()
                .await?
                .is_some_and(|r| r.inbox_id == m.sender_inbox);
        let sender_label = if is_mine {
            "You".to_owned()
        } else {
            short(&self.address_of(client, &m.sender_inbox).await)
        };
        Ok(MessageView {
            id: m.id.to_string(),
            conversation_id: hex::encode(&m.group_id),
            sender_inbox_id: m.sender_inbox.to_string(),
            sender_label,
            is_mine,
            sent_at_ms: ms(m.sent_at_ns),
            status: match m.delivery {
                Delivery::Sending => DeliveryStatus::Sending,
                Delivery::Sent => DeliveryStatus::Sent,
                Delivery::Failed => DeliveryStatus::Failed,
            },
            text: m.text.clone(),
            markdown: m.markdown,
            is_fallback: m.is_fallback,
        })
    }

    pub async fn conversation_view(
        &self,
        client: &Client,
        c: Conversation,
    ) -> CommandResult<ConversationView> {
        let me = client.registration().await?.map(|r| r.inbox_id);
        let mut inboxes: Vec<InboxId> = client
            .conversation(&c.group_id)
            .members()
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        inboxes.dedup();
        let (kind, title, peer_address, my_role) = match &c.dm_peer {
            Some(peer) => {
                let address = self.address_of(client, peer).await;
                (
                    ConversationKind::Dm,
                    address.clone(),
                    Some(address),
                    Role::Member,
                )
            }
            None => {
                let settings = client.conversation(&c.group_id).settings().await?;
                let role = match me.map(|m| settings.role(&m)) {
                    Some(CoreRole::SuperAdmin) => Role::SuperAdmin,
                    Some(CoreRole::Admin) => Role::Admin,
                    _ => Role::Member,
                };
                let title = match &c.name {
                    Some(name) => name.clone(),
                    None => {
                        let mut names = Vec::new();
                        for inbox in inboxes.iter().filter(|i| Some(**i) != me).take(3) {
                            names.push(short(&self.address_of(client, inbox).await));
                        }
                        if names.is_empty() {
                            "New group".to_owned()
                        } else {
                            names.join(", ")
                        }
                    }
                };
                (ConversationKind::Group, title, None, role)
            }
        };
        let last_message = match &c.last_message {
            Some(m) => Some(self.message_view(client, m).await?),
            None => None,
        };
        Ok(ConversationView {
            id: hex::encode(&c.group_id),
            kind,
            title,
            peer_address,
            last_message,
            last_activity_ms: ms(c.last_activity_ns),
            unread_count: u32::try_from(c.unread).unwrap_or(u32::MAX),
            my_role,
            member_count: u32::try_from(inboxes.len()).unwrap_or(u32::MAX),
        })
    }

    /// The account of the profile, if registered.
    pub async fn account(&self) -> CommandResult<Option<Account>> {
        let Ok(client) = self.client().await else {
            return Ok(None);
        };
        let Some(registration) = client.registration().await? else {
            return Ok(None);
        };
        Ok(Some(Account {
            address: registration.wallet.to_checksum(None),
            inbox_id: registration.inbox_id.to_string(),
            installation_id: client.installation_key().to_string(),
            wallet_kind: self.settings().wallet_kind.unwrap_or(WalletKind::Builtin),
        }))
    }

    /// Registers with a built-in wallet: `imported`, or else the key a sign-in that did not
    /// finish already kept, or else a new one. The key is kept in the OS keychain (or an
    /// owner-only file where there is none) before anything is published.
    pub async fn register_builtin(
        self: &Arc<Self>,
        imported: Option<LocalWallet>,
    ) -> CommandResult<Account> {
        let client = self.client().await?;
        if client.registration().await?.is_some() {
            return Err(CommandError::new(
                AppCode::AlreadySignedIn,
                "this profile already has an account (use --profile NAME for another)",
            ));
        }
        let mut settings = self.settings();
        let kept = match settings.key_store {
            Some(store) => keystore::load(&OsKeychain, &self.profile_dir, store)?,
            None => None,
        };
        let wallet = match (imported, kept) {
            (None, Some(bytes)) => LocalWallet::from_bytes(&bytes)?,
            (imported, _) => {
                let wallet = imported.unwrap_or_else(LocalWallet::generate);
                let profile_dir = self.profile_dir.clone();
                let secret = wallet.to_bytes();
                let store = tokio::task::spawn_blocking(move || {
                    keystore::store(&OsKeychain, &profile_dir, &secret)
                })
                .await
                .map_err(|_| CommandError::new(AppCode::Internal, "the key store task ended"))??;
                settings.key_store = Some(store);
                self.save_settings(&settings)?;
                wallet
            }
        };
        client
            .register(&arx_core::LocalWalletSigner(wallet))
            .await?;
        self.registered(WalletKind::Builtin).await
    }

    /// After registration: remember how, start streaming, and report the account.
    pub async fn registered(self: &Arc<Self>, kind: WalletKind) -> CommandResult<Account> {
        let mut settings = self.settings();
        settings.wallet_kind = Some(kind);
        self.save_settings(&settings)?;
        self.start_stream().await;
        self.account().await?.ok_or_else(|| {
            CommandError::new(
                arx_core::CoreCode::NotRegistered,
                "registration did not complete",
            )
        })
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
