//! Test support: an in-memory node ([`MemoryTransport`]) and a harness of named people in the
//! style of Delta Chat's `TestContextManager`: `tcm.alice()`, `alice.group_with(&[&bob])`,
//! `alice.send_recv(&bob, &group, "hi")`. Engine unit tests run it in memory; the end-to-end
//! tests run the same harness against a real node over gRPC ([`Tcm::over`]).

// Test support: a failed set-up step is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod memory;

use std::sync::Arc;

use arx_identity::{InboxId, LocalWallet};

pub use memory::MemoryTransport;

use crate::{model::StoredMessage, Client, CoreError, GrpcTransport, LocalWalletSigner, Transport};

/// Makes the people of one test, all on one node.
pub struct Tcm {
    transport: Arc<dyn Transport>,
    memory: Option<MemoryTransport>,
}

/// A registered engine with its own data directory, and the wallet it registered with.
pub struct TestClient {
    pub name: String,
    pub client: Client,
    /// This person's own connection to the in-memory node (offline switch, publish gate).
    pub link: Option<MemoryTransport>,
    pub inbox: InboxId,
    pub wallet: LocalWallet,
    pub dir: tempfile::TempDir,
}

impl std::ops::Deref for TestClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Tcm {
    /// People on a new in-memory node.
    pub fn memory() -> Self {
        let memory = MemoryTransport::new();
        Self {
            transport: Arc::new(memory.clone()),
            memory: Some(memory),
        }
    }

    /// People on the node behind `transport` (a real node over gRPC in the end-to-end tests).
    pub fn over(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            memory: None,
        }
    }

    /// People on the node at `url`, over gRPC.
    pub fn grpc(url: &str) -> Result<Self, CoreError> {
        Ok(Self::over(Arc::new(GrpcTransport::new(url)?)))
    }

    /// The in-memory node, when the people are on one.
    pub fn node(&self) -> Option<&MemoryTransport> {
        self.memory.as_ref()
    }

    pub fn transport(&self) -> Arc<dyn Transport> {
        self.transport.clone()
    }

    pub async fn alice(&self) -> TestClient {
        self.person("alice").await
    }

    pub async fn bob(&self) -> TestClient {
        self.person("bob").await
    }

    pub async fn carol(&self) -> TestClient {
        self.person("carol").await
    }

    /// A new person: a fresh wallet, registered from a fresh data directory.
    pub async fn person(&self, name: &str) -> TestClient {
        let wallet = LocalWallet::generate();
        self.person_with(name, wallet).await
    }

    /// Another installation (device) of the same wallet as `of`.
    pub async fn second_device(&self, of: &TestClient) -> TestClient {
        let wallet = LocalWallet::from_bytes(&of.wallet.to_bytes()).expect("a wallet key");
        self.person_with(&format!("{}'s second device", of.name), wallet)
            .await
    }

    async fn person_with(&self, name: &str, wallet: LocalWallet) -> TestClient {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let link = self.memory.as_ref().map(MemoryTransport::connection);
        let transport: Arc<dyn Transport> = match &link {
            Some(link) => Arc::new(link.clone()),
            None => self.transport.clone(),
        };
        let client = Client::open(dir.path(), transport)
            .await
            .expect("the engine opens");
        let signer = LocalWalletSigner(LocalWallet::from_bytes(&wallet.to_bytes()).expect("key"));
        let inbox = client
            .register(&signer)
            .await
            .expect("registration")
            .inbox_id;
        TestClient {
            name: name.to_owned(),
            client,
            link,
            inbox,
            wallet,
            dir,
        }
    }

    /// Opens the engine of data directory `dir` on this node (again, after a restart).
    pub async fn open(&self, dir: &std::path::Path) -> Client {
        let transport: Arc<dyn Transport> = match &self.memory {
            Some(memory) => Arc::new(memory.connection()),
            None => self.transport.clone(),
        };
        Client::open(dir, transport)
            .await
            .expect("the engine opens")
    }
}

impl TestClient {
    /// This person's connection to the in-memory node.
    pub fn link(&self) -> &MemoryTransport {
        self.link
            .as_ref()
            .expect("only people on the in-memory node have a link to switch")
    }

    /// A group of this person and `others` (named `name`), which every one of them has synced.
    pub async fn group_named(&self, name: Option<&str>, others: &[&TestClient]) -> Vec<u8> {
        let inboxes: Vec<InboxId> = others.iter().map(|o| o.inbox).collect();
        let created = self
            .client
            .create_group(name, &inboxes)
            .await
            .expect("the group is created");
        assert!(created.failed.is_empty(), "{:?}", created.failed);
        for other in others {
            other.client.sync().await.expect("sync");
        }
        created.group_id
    }

    /// A group of this person and `others`, which every one of them has synced.
    pub async fn group_with(&self, others: &[&TestClient]) -> Vec<u8> {
        self.group_named(None, others).await
    }

    /// Sends `text` to `group`; `to` syncs and must show it as its newest message, from this
    /// person. Returns that message as `to` stored it.
    pub async fn send_recv(&self, to: &TestClient, group: &[u8], text: &str) -> StoredMessage {
        self.client
            .conversation(group)
            .send_text(text)
            .await
            .expect("sent");
        to.client.sync().await.expect("sync");
        let got = to
            .client
            .conversation(group)
            .messages()
            .await
            .expect("messages")
            .pop()
            .expect("a message arrived");
        assert_eq!((got.text.as_str(), got.sender_inbox), (text, self.inbox));
        got
    }

    /// The texts of `group`'s messages as this person has them, in order.
    pub async fn texts(&self, group: &[u8]) -> Vec<String> {
        self.client
            .conversation(group)
            .messages()
            .await
            .expect("messages")
            .into_iter()
            .map(|m| m.text)
            .collect()
    }
}
