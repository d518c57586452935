//! The `arx-node` binary as an operator runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use arx_e2e::{alice, connect, publish, query_all};
use arx_identity::Topic;
use arx_proto::NodeInfoRequest;

mod common;

use common::{spawn_node, terminate, BIN};

#[test]
fn help_documents_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--data-dir",
        "--database",
        "--key-file",
        "--max-envelope-bytes",
        "--max-batch",
        "--rate-limit",
        "--rate-burst",
        "--keepalive-secs",
        "--live-buffer",
        "--max-subscriptions-per-address",
        "--max-subscriptions",
        "--tls-cert",
        "--tls-key",
        "--log-format",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn a_bad_database_url_fails_with_a_clear_message() {
    let out = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database", "mysql://nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported database URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_keeps_its_id_and_its_envelopes_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let alice = alice();

    let (child, url) = spawn_node(dir.path(), &[]);
    let mut client = connect(&url).await;
    let first_id = client
        .node_info(NodeInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let published = publish(&mut client, vec![alice.registration_envelope()])
        .await
        .unwrap();
    drop(client);
    assert!(
        terminate(child).success(),
        "SIGTERM is a graceful, successful stop"
    );

    let (child, url) = spawn_node(dir.path(), &[]);
    let mut client = connect(&url).await;
    let second_id = client
        .node_info(NodeInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_id, second_id, "node id and key survive restarts");
    let stored = query_all(&mut client, &[Topic::identity_log(&alice.inbox_id)]).await;
    assert_eq!(stored, published);
    // Sequence ids continue after a restart.
    let more = publish(&mut client, vec![alice.key_package_envelope()])
        .await
        .unwrap();
    assert!(more[0].sequence_id > published[0].sequence_id);
    drop(client);
    assert!(terminate(child).success());
}
