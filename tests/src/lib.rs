//! Test harness for ARX end-to-end tests: a real node on loopback with its own SQLite file, and
//! named people (`alice()`, `bob()`, …) who hold a real wallet key, a real installation key and
//! real MLS state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, sync::Arc, time::Duration};

use arx_identity::{
    InboxId, InstallationSigner, LocalWallet, MemberId, Signature, Topic, UnsignedAction,
    UnsignedIdentityUpdate,
};
use arx_node::{store::SqliteStore, Limits, NodeConfig, RunningNode, ServiceConfig};
use arx_proto::{
    client_envelope::Payload, node_client::NodeClient, ClientEnvelope, Cursor, GroupMessage,
    KeyPackageUpload, OriginatorEnvelope, PublishRequest, QueryRequest, TopicCursor,
};
use openmls::prelude::{
    tls_codec::Serialize, BasicCredential, CredentialWithKey, GroupId, KeyPackage, MlsGroup,
    MlsGroupCreateConfig, MlsMessageOut,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::types::SignatureScheme;
use prost::Message;
use tonic::transport::Channel;

pub use arx_node::error_detail;

pub mod kubo;

/// The ciphersuite every ARX client uses.
pub const CIPHERSUITE: openmls::prelude::Ciphersuite = arx_node::validate::CIPHERSUITE;

/// A node on loopback with its own temporary database, started in-process.
pub struct TestNode {
    pub node: RunningNode,
    pub dir: tempfile::TempDir,
}

/// Options for [`TestNode::start_with`].
#[derive(Clone, Debug)]
pub struct TestNodeOptions {
    pub live_buffer: usize,
    pub rate_limit: Option<arx_node::RateLimit>,
    pub limits: Limits,
    pub keepalive: Duration,
    /// Serve over TLS with this certificate and key.
    pub tls: Option<arx_node::TlsFiles>,
}

impl Default for TestNodeOptions {
    fn default() -> Self {
        Self {
            live_buffer: 4096,
            rate_limit: None,
            limits: Limits::default(),
            keepalive: Duration::from_secs(30),
            tls: None,
        }
    }
}

/// A self-signed TLS certificate for `localhost` and 127.0.0.1 with its key, for a node, and
/// the certificate alone (PEM) for clients to trust.
pub fn self_signed_tls() -> (arx_node::TlsFiles, Vec<u8>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = certified.cert.pem().into_bytes();
    (
        arx_node::TlsFiles {
            cert_pem: cert_pem.clone(),
            key_pem: certified.key_pair.serialize_pem().into_bytes(),
        },
        cert_pem,
    )
}

impl TestNode {
    pub async fn start() -> Self {
        Self::start_with(TestNodeOptions::default()).await
    }

    pub async fn start_with(options: TestNodeOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("node.db").display());
        let store = Arc::new(SqliteStore::open(&url).await.unwrap());
        let config = NodeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: url,
            key_file: dir.path().join("node.key"),
            service: ServiceConfig {
                rate_limit: options.rate_limit,
                keepalive: options.keepalive,
                ..ServiceConfig::new(options.limits)
            },
            live_buffer: options.live_buffer,
            tls: options.tls.clone(),
        };
        let key = arx_node::keyfile::load_or_create(&config.key_file).unwrap();
        let node = arx_node::start_with(config, store, key).await.unwrap();
        Self { node, dir }
    }

    pub async fn client(&self) -> NodeClient<Channel> {
        connect(&self.node.url()).await
    }
}

/// A gRPC client for the node at `url`.
pub async fn connect(url: &str) -> NodeClient<Channel> {
    let channel = Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    NodeClient::new(channel).max_decoding_message_size(16 * 1024 * 1024)
}

/// A person with a wallet and one installation (device), with real MLS crypto.
pub struct Person {
    pub name: &'static str,
    pub wallet: LocalWallet,
    pub installation: InstallationSigner,
    pub inbox_id: InboxId,
    /// Nonce of the inbox id derivation (0 for a person's first inbox).
    pub nonce: u64,
    pub provider: OpenMlsRustCrypto,
    pub mls_signer: SignatureKeyPair,
}

impl Person {
    pub fn new(name: &'static str) -> Self {
        let wallet = LocalWallet::generate();
        let installation = InstallationSigner::generate();
        let inbox_id = InboxId::derive(&wallet.address(), 0);
        let mls_signer = SignatureKeyPair::from_raw(
            SignatureScheme::ED25519,
            installation.to_bytes().to_vec(),
            installation.public_key().as_bytes().to_vec(),
        );
        Self {
            name,
            wallet,
            installation,
            inbox_id,
            nonce: 0,
            provider: OpenMlsRustCrypto::default(),
            mls_signer,
        }
    }

    fn credential(&self) -> CredentialWithKey {
        CredentialWithKey {
            credential: BasicCredential::new(self.inbox_id.as_bytes().to_vec()).into(),
            signature_key: self.mls_signer.public().into(),
        }
    }

    /// The update that creates this person's inbox and associates their installation.
    pub fn unsigned_registration(&self) -> UnsignedIdentityUpdate {
        let wallet = self.wallet.address();
        UnsignedIdentityUpdate {
            inbox_id: self.inbox_id,
            client_timestamp_ns: 1_700_000_000_000_000_000,
            actions: vec![
                UnsignedAction::CreateInbox {
                    initial_address: wallet,
                    nonce: self.nonce,
                },
                UnsignedAction::AddAssociation {
                    new_member: MemberId::Installation(self.installation.public_key()),
                    existing_member: MemberId::Wallet(wallet),
                },
            ],
        }
    }

    /// Signs `update` with every key of this person it needs.
    pub fn sign(&self, update: UnsignedIdentityUpdate) -> arx_identity::IdentityUpdate {
        let text = update.signature_text();
        let wallet_sig = Signature::Eip191(self.wallet.sign_text(&text));
        let install_sig = Signature::Installation(self.installation.sign_update(&update));
        let creates = matches!(
            update.actions.first(),
            Some(UnsignedAction::CreateInbox { .. })
        );
        let recovery = (!creates).then(|| self.wallet.address());
        update
            .attach(
                &[
                    (MemberId::Wallet(self.wallet.address()), wallet_sig),
                    (
                        MemberId::Installation(self.installation.public_key()),
                        install_sig,
                    ),
                ],
                recovery,
            )
            .unwrap()
    }

    /// The signed registration update as a client envelope.
    pub fn registration_envelope(&self) -> Vec<u8> {
        identity_envelope(&self.sign(self.unsigned_registration()))
    }

    /// A fresh key package for this person's installation, as a client envelope.
    pub fn key_package_envelope(&self) -> Vec<u8> {
        self.key_package_envelope_with_lifetime(openmls::prelude::Lifetime::new(60 * 60 * 24 * 28))
    }

    /// [`Person::key_package_envelope`] valid for `lifetime`.
    pub fn key_package_envelope_with_lifetime(
        &self,
        lifetime: openmls::prelude::Lifetime,
    ) -> Vec<u8> {
        // The same capabilities as an ARX engine's, so engines can add this person to groups.
        let bundle = KeyPackage::builder()
            .key_package_lifetime(lifetime)
            .leaf_node_capabilities(arx_core::metadata::capabilities())
            .mark_as_last_resort()
            .build(
                CIPHERSUITE,
                &self.provider,
                &self.mls_signer,
                self.credential(),
            )
            .unwrap();
        let message = MlsMessageOut::from(bundle.key_package().clone());
        envelope(
            Topic::key_packages(&self.installation.public_key()),
            Payload::KeyPackage(KeyPackageUpload {
                mls_message: message.tls_serialize_detached().unwrap(),
            }),
        )
    }

    /// A new MLS group with only this person in it.
    pub fn create_group(&self, group_id: &[u8]) -> MlsGroup {
        MlsGroup::new_with_group_id(
            &self.provider,
            &self.mls_signer,
            &MlsGroupCreateConfig::builder()
                .ciphersuite(CIPHERSUITE)
                .build(),
            GroupId::from_slice(group_id),
            self.credential(),
        )
        .unwrap()
    }

    /// An encrypted application message in `group`, as MLS bytes.
    pub fn encrypt(&self, group: &mut MlsGroup, text: &[u8]) -> Vec<u8> {
        group
            .create_message(&self.provider, &self.mls_signer, text)
            .unwrap()
            .tls_serialize_detached()
            .unwrap()
    }
}

pub fn alice() -> Person {
    Person::new("alice")
}
pub fn bob() -> Person {
    Person::new("bob")
}
pub fn carol() -> Person {
    Person::new("carol")
}

/// Encodes a client envelope.
pub fn envelope(topic: Topic, payload: Payload) -> Vec<u8> {
    ClientEnvelope {
        topic: Some(topic.to_proto()),
        payload: Some(payload),
    }
    .encode_to_vec()
}

/// An identity update as a client envelope on its inbox's identity log.
pub fn identity_envelope(update: &arx_identity::IdentityUpdate) -> Vec<u8> {
    envelope(
        Topic::identity_log(&update.inbox_id),
        Payload::IdentityUpdate(update.to_proto()),
    )
}

/// An MLS group message as a client envelope on the group's topic.
pub fn group_envelope(group_id: &[u8], mls_message: Vec<u8>) -> Vec<u8> {
    envelope(
        Topic::group(group_id).unwrap(),
        Payload::GroupMessage(GroupMessage { mls_message }),
    )
}

/// Publishes envelopes; returns the originator envelopes or the status.
pub async fn publish(
    client: &mut NodeClient<Channel>,
    envelopes: Vec<Vec<u8>>,
) -> Result<Vec<OriginatorEnvelope>, tonic::Status> {
    client
        .publish(PublishRequest {
            client_envelopes: envelopes,
        })
        .await
        .map(|r| r.into_inner().envelopes)
}

/// Every envelope of `topics`, reading page by page from the start.
pub async fn query_all(
    client: &mut NodeClient<Channel>,
    topics: &[Topic],
) -> Vec<OriginatorEnvelope> {
    let mut cursors: Vec<Cursor> = vec![Cursor::default(); topics.len()];
    let mut out = Vec::new();
    loop {
        let request = QueryRequest {
            topics: topics
                .iter()
                .zip(&cursors)
                .map(|(t, c)| TopicCursor {
                    topic: Some(t.to_proto()),
                    cursor: Some(c.clone()),
                })
                .collect(),
            limit: 0,
        };
        let page = client.query(request).await.unwrap().into_inner();
        for env in &page.envelopes {
            let topic = topic_of(env);
            let i = topics.iter().position(|t| *t == topic).unwrap();
            cursors[i]
                .sequence_ids
                .insert(env.originator_id, env.sequence_id);
        }
        out.extend(page.envelopes);
        if !page.has_more {
            return out;
        }
    }
}

/// The topic an originator envelope was published to.
pub fn topic_of(env: &OriginatorEnvelope) -> Topic {
    let client = ClientEnvelope::decode(env.client_envelope.as_slice()).unwrap();
    Topic::from_proto(&client.topic.unwrap()).unwrap()
}

/// The error code a node attached to `status`.
pub fn code_of(status: &tonic::Status) -> String {
    error_detail(status)
        .map(|d| d.code)
        .unwrap_or_else(|| format!("<no code: {status}>"))
}

/// A registered engine with its own data dir (and the wallet it registered with): the engine
/// harness's person (`arx_core::testing`), here on a real node over gRPC.
pub type Someone = arx_core::testing::TestClient;

/// The engine harness (`tcm.alice()`, `group_with`, `send_recv`) on `node`, over gRPC.
pub fn tcm(node: &TestNode) -> arx_core::testing::Tcm {
    arx_core::testing::Tcm::grpc(&node.node.url()).unwrap()
}

/// A new person: a fresh wallet, registered from a fresh data dir against `node`.
pub async fn someone(node: &TestNode) -> Someone {
    tcm(node).person("someone").await
}

/// Opens the engine of data dir `dir` against `node`.
pub async fn open_engine(node: &TestNode, dir: &std::path::Path) -> arx_core::Client {
    arx_core::Client::open(
        dir,
        std::sync::Arc::new(arx_core::GrpcTransport::new(&node.node.url()).unwrap()),
    )
    .await
    .unwrap()
}

/// A TCP proxy between engines and a node that can leave every connection it carries
/// half-open: [`FaultProxy::stall`] stops forwarding on the connections open at that moment
/// without closing them (as a dead NAT or a pulled cable does); connections made afterwards
/// work.
pub struct FaultProxy {
    pub addr: SocketAddr,
    connections: Arc<std::sync::Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Forwards to `upstream` (`HOST:PORT`).
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<std::sync::Mutex<Vec<Arc<std::sync::atomic::AtomicBool>>>> =
            Arc::default();
        let task = tokio::spawn({
            let connections = connections.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        continue;
                    };
                    let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    connections.lock().unwrap().push(stalled.clone());
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(pump(client_read, server_write, stalled.clone()));
                    tokio::spawn(pump(server_read, client_write, stalled));
                }
            }
        });
        Self {
            addr,
            connections,
            _task: task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Leaves every connection open now half-open: nothing more goes through, nothing is
    /// closed.
    pub fn stall(&self) {
        for connection in self.connections.lock().unwrap().iter() {
            connection.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// How many connections were made through the proxy.
    pub fn connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = from.read(&mut buffer).await;
        if stalled.load(std::sync::atomic::Ordering::SeqCst) {
            // Half-open: keep both sockets, move nothing, forever.
            let _keep = (from, to);
            std::future::pending::<()>().await;
            return;
        }
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The node API through a real gRPC connection, except that the next `n` identity log lookups
/// (once armed) fail as if the node were unreachable.
pub struct FlakyIdentity {
    pub inner: arx_core::GrpcTransport,
    failures: std::sync::atomic::AtomicUsize,
    /// How many lookups failed so far.
    pub failed: std::sync::atomic::AtomicUsize,
}

impl FlakyIdentity {
    pub fn new(inner: arx_core::GrpcTransport) -> Self {
        Self {
            inner,
            failures: std::sync::atomic::AtomicUsize::new(0),
            failed: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The next `n` identity lookups fail.
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl arx_core::Transport for FlakyIdentity {
    async fn node_info(&self) -> Result<arx_core::NodeIdentity, arx_core::CoreError> {
        self.inner.node_info().await
    }
    async fn publish(
        &self,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<OriginatorEnvelope>, arx_core::CoreError> {
        self.inner.publish(envelopes).await
    }
    async fn query(
        &self,
        request: QueryRequest,
    ) -> Result<arx_proto::QueryResponse, arx_core::CoreError> {
        self.inner.query(request).await
    }
    async fn inbox_ids(
        &self,
        addresses: Vec<[u8; 20]>,
    ) -> Result<Vec<Option<Vec<u8>>>, arx_core::CoreError> {
        self.inner.inbox_ids(addresses).await
    }
    async fn identity_updates(
        &self,
        inbox_id: Vec<u8>,
        after: u64,
    ) -> Result<Vec<OriginatorEnvelope>, arx_core::CoreError> {
        use std::sync::atomic::Ordering;
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0
            && self
                .failures
                .compare_exchange(left, left - 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(arx_core::CoreError::NodeUnreachable {
                url: "fault proxy".into(),
                reason: "identity lookup dropped".into(),
            });
        }
        self.inner.identity_updates(inbox_id, after).await
    }
    async fn key_packages(
        &self,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<OriginatorEnvelope>>, arx_core::CoreError> {
        self.inner.key_packages(keys).await
    }
    async fn subscribe(
        &self,
        topics: Vec<TopicCursor>,
    ) -> Result<
        futures::stream::BoxStream<
            'static,
            Result<arx_proto::SubscribeResponse, arx_core::CoreError>,
        >,
        arx_core::CoreError,
    > {
        self.inner.subscribe(topics).await
    }
}

/// Opens the DM of `client` with `peer`, waiting out `dm.converging` (a loaded machine can take
/// a while to deliver the other side's welcome).
pub async fn open_dm(client: &arx_core::Client, peer: &InboxId) -> Vec<u8> {
    for _ in 0..100 {
        match client.dm(peer).await {
            Err(err)
                if err.code() == arx_core::ErrorCode::Core(arx_core::CoreCode::DmConverging) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.unwrap(),
        }
    }
    client.dm(peer).await.unwrap()
}

impl Person {
    /// A commit of `group` on its current epoch (a self-update) that is never merged: to the
    /// group's real members it is a commit they cannot open.
    pub fn unmerged_commit(&self, group: &mut MlsGroup) -> Vec<u8> {
        let bundle = group
            .self_update(
                &self.provider,
                &self.mls_signer,
                openmls::prelude::LeafNodeParameters::default(),
            )
            .unwrap();
        let commit = bundle.commit().tls_serialize_detached().unwrap();
        group
            .clear_pending_commit(openmls_traits::OpenMlsProvider::storage(&self.provider))
            .unwrap();
        commit
    }
}
