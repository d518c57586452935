//! Engine registration against a real node: inbox creation, restarts, second devices, and a
//! wallet that signs the wrong thing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arx_core::{
    Client, CoreCode, CoreError, ErrorCode, GrpcTransport, LocalWalletSigner, WalletSigner,
};
use arx_e2e::TestNode;
use arx_identity::{Address, LocalWallet, Signature};

async fn open(node: &TestNode, dir: &std::path::Path) -> Client {
    let transport = Arc::new(GrpcTransport::new(&node.node.url()).unwrap());
    Client::open(dir, transport).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_creates_the_inbox_and_a_restart_keeps_the_same_installation() {
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().unwrap();
    let wallet = LocalWalletSigner(LocalWallet::generate());

    let client = open(&node, dir.path()).await;
    assert_eq!(client.registration().await.unwrap(), None);
    let registration = client.register(&wallet).await.unwrap();
    assert!(registration.created_inbox);
    assert_eq!(
        registration.inbox_id,
        arx_identity::InboxId::derive(&wallet.address(), 0)
    );
    let state = client
        .association_state(&registration.inbox_id)
        .await
        .unwrap();
    assert_eq!(state.installations(), vec![client.installation_key()]);
    assert_eq!(state.wallets(), vec![wallet.address()]);
    let key = client.installation_key();
    drop(client);

    let client = open(&node, dir.path()).await;
    assert_eq!(
        client.installation_key(),
        key,
        "same data dir, same installation"
    );
    assert_eq!(
        client.registration().await.unwrap().unwrap().inbox_id,
        registration.inbox_id
    );
    let again = client.register(&wallet).await.unwrap();
    assert!(!again.created_inbox);
    let state = client
        .association_state(&registration.inbox_id)
        .await
        .unwrap();
    assert_eq!(
        state.installations().len(),
        1,
        "registering again adds no installation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_of_the_same_wallet_joins_the_same_inbox() {
    let node = TestNode::start().await;
    let wallet_key = LocalWallet::generate().to_bytes();
    let (laptop_dir, phone_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let laptop = open(&node, laptop_dir.path()).await;
    let first = laptop
        .register(&LocalWalletSigner(
            LocalWallet::from_bytes(&wallet_key).unwrap(),
        ))
        .await
        .unwrap();
    let phone = open(&node, phone_dir.path()).await;
    let second = phone
        .register(&LocalWalletSigner(
            LocalWallet::from_bytes(&wallet_key).unwrap(),
        ))
        .await
        .unwrap();

    assert_eq!(first.inbox_id, second.inbox_id);
    assert!(!second.created_inbox);
    assert_ne!(laptop.installation_key(), phone.installation_key());
    let state = phone.association_state(&first.inbox_id).await.unwrap();
    let mut expected = vec![laptop.installation_key(), phone.installation_key()];
    expected.sort();
    let mut got = state.installations();
    got.sort();
    assert_eq!(got, expected);

    // Both devices have a key package others can fetch.
    let mut client = node.client().await;
    let fetched = client
        .fetch_key_packages(arx_proto::FetchKeyPackagesRequest {
            installation_keys: expected.iter().map(|k| k.as_bytes().to_vec()).collect(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.entries.iter().all(|e| e.envelope.is_some()));
}

/// A wallet that reports one address but signs with another key.
struct WrongWallet {
    claimed: Address,
    actual: LocalWallet,
}

#[async_trait::async_trait]
impl WalletSigner for WrongWallet {
    fn address(&self) -> Address {
        self.claimed
    }
    async fn sign_text(&self, text: &str) -> Result<Signature, CoreError> {
        Ok(Signature::Eip191(self.actual.sign_text(text)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_from_the_wrong_key_is_refused_and_nothing_is_registered() {
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = open(&node, dir.path()).await;
    let wallet = WrongWallet {
        claimed: LocalWallet::generate().address(),
        actual: LocalWallet::generate(),
    };

    let err = client.register(&wallet).await.unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::Core(CoreCode::SignatureMismatch),
        "{err}"
    );
    assert!(!err.retryable());
    assert_eq!(client.registration().await.unwrap(), None);
    let mut raw = node.client().await;
    let lookup = raw
        .get_inbox_ids(arx_proto::GetInboxIdsRequest {
            addresses: vec![wallet.claimed.to_vec()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lookup.entries[0].inbox_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_node_is_a_retryable_network_error() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::open(dir.path(), Arc::new(GrpcTransport::new(&url).unwrap()))
        .await
        .unwrap();
    let err = client
        .register(&LocalWalletSigner(LocalWallet::generate()))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::Core(CoreCode::NodeUnreachable),
        "{err}"
    );
    assert!(err.retryable());
}
