//! `arx demo`: an embedded node on loopback and two people, alice and bob, each with their own
//! data directory and built-in wallet, talking in a group and in a DM, end to end.

use std::{net::SocketAddr, sync::Arc};

use arx_core::{Client, CoreError, GrpcTransport, LocalWalletSigner};
use arx_identity::LocalWallet;
use arx_node::{Limits, NodeConfig, ServiceConfig};

fn step(text: &str) {
    println!("\n== {text}");
}

async fn person(name: &str, root: &std::path::Path, url: &str) -> Result<Client, CoreError> {
    let transport = Arc::new(GrpcTransport::new(url)?);
    let client = Client::open(&root.join(name), transport).await?;
    let wallet = LocalWallet::generate();
    let registration = client.register(&LocalWalletSigner(wallet)).await?;
    println!(
        "{name}: wallet {} -> inbox {}",
        registration.wallet.to_checksum(None),
        &registration.inbox_id.to_string()[..16]
    );
    Ok(client)
}

async fn show(name: &str, client: &Client, conversation: &[u8]) -> Result<(), CoreError> {
    client.sync().await?;
    let me = client.registration().await?.map(|r| r.inbox_id);
    println!("{name} sees:");
    for m in client.conversation(conversation).messages().await? {
        let who = if Some(m.sender_inbox) == me {
            "me"
        } else {
            "them"
        };
        println!("  [{who}] {}", m.text);
    }
    Ok(())
}

/// Runs the demo; everything lives in a temporary directory removed at the end.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = tempfile::tempdir()?;
    step("starting an ARX node on loopback (SQLite, temporary directory)");
    let config = NodeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}", root.path().join("node/node.db").display()),
        key_file: root.path().join("node/node.key"),
        service: ServiceConfig::new(Limits::default()),
        live_buffer: 4096,
        tls: None,
    };
    let node = arx_node::start(config).await?;
    let url = node.url();
    println!("node {} listening on {url}", node.node_id);

    step("alice and bob each create a built-in wallet and register a device");
    let alice = person("alice", root.path(), &url).await?;
    let bob = person("bob", root.path(), &url).await?;
    let bob_inbox = bob
        .registration()
        .await?
        .map(|r| r.inbox_id)
        .ok_or(CoreError::NotRegistered)?;
    let alice_inbox = alice
        .registration()
        .await?
        .map(|r| r.inbox_id)
        .ok_or(CoreError::NotRegistered)?;

    step("alice creates the group \"weekend\" with bob and writes to it");
    let group = alice
        .create_group(Some("weekend"), &[bob_inbox])
        .await?
        .group_id;
    alice
        .conversation(&group)
        .send_text("Hiking on Saturday?")
        .await?;
    bob.sync().await?;
    bob.conversation(&group)
        .send_text("Yes! I'll bring the map.")
        .await?;
    show("alice", &alice, &group).await?;
    show("bob", &bob, &group).await?;

    step("bob opens a DM with alice");
    let dm = bob.dm(&alice_inbox).await?;
    bob.conversation(&dm)
        .send_text("Psst, it's your birthday on Saturday.")
        .await?;
    let dm_at_alice = alice.dm(&bob_inbox).await?;
    alice
        .conversation(&dm_at_alice)
        .send_text("Shh! Thank you :)")
        .await?;
    show("bob", &bob, &dm).await?;
    show("alice", &alice, &dm_at_alice).await?;

    step("what the node holds for the group: ciphertext, signed by the node");
    let transport = GrpcTransport::new(&url)?;
    let info = arx_core::Transport::node_info(&transport).await?;
    let page = arx_core::Transport::query(
        &transport,
        arx_proto::QueryRequest {
            topics: vec![arx_proto::TopicCursor {
                topic: Some(arx_identity::Topic::group(&group)?.to_proto()),
                cursor: None,
            }],
            limit: 0,
        },
    )
    .await?;
    for env in &page.envelopes {
        arx_identity::verify_originator_envelope(env, &info.public_key)?;
        let client =
            <arx_proto::ClientEnvelope as prost::Message>::decode(env.client_envelope.as_slice())?;
        let Some(arx_proto::client_envelope::Payload::GroupMessage(m)) = client.payload else {
            continue;
        };
        // MLSMessage: version (2 bytes) then wire format (2 bytes): 1 public, 2 private.
        let kind = match m.mls_message.get(2..4) {
            Some([0, 1]) => "PublicMessage (a commit: membership change, no content)",
            Some([0, 2]) => "PrivateMessage (encrypted)",
            _ => "other",
        };
        println!(
            "  #{} {} bytes, {kind}, node signature ok",
            env.sequence_id,
            m.mls_message.len()
        );
    }
    node.shutdown().await?;
    println!("\ndone.");
    Ok(())
}
