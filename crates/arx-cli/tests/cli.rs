//! The `arx` binary against a real node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use arx_e2e::TestNode;
use serde_json::Value;

fn arx(dir: &std::path::Path, node: &str, args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_arx"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--node", node, "--json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    (out.status.success(), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_registers_and_whoami_shows_both_devices_of_an_imported_wallet() {
    let node = TestNode::start().await;
    let url = node.node.url();
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let (ok, init) = tokio::task::spawn_blocking({
        let (dir, url) = (first_dir.path().to_owned(), url.clone());
        move || arx(&dir, &url, &["init"])
    })
    .await
    .unwrap();
    assert!(ok, "{init}");
    assert_eq!(init["created_inbox"], true);
    let key = std::fs::read_to_string(first_dir.path().join("wallet.key")).unwrap();

    let (ok, second) = tokio::task::spawn_blocking({
        let (dir, url, key) = (second_dir.path().to_owned(), url.clone(), key.clone());
        move || arx(&dir, &url, &["init", "--import-key", key.trim()])
    })
    .await
    .unwrap();
    assert!(ok, "{second}");
    assert_eq!(second["inbox_id"], init["inbox_id"]);
    assert_eq!(second["created_inbox"], false);

    let (ok, whoami) = tokio::task::spawn_blocking({
        let (dir, url) = (first_dir.path().to_owned(), url.clone());
        move || arx(&dir, &url, &["whoami"])
    })
    .await
    .unwrap();
    assert!(ok, "{whoami}");
    assert_eq!(whoami["registered"], true);
    assert_eq!(whoami["wallet"], init["wallet"]);
    assert_eq!(whoami["installations"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_with_a_code_and_a_failing_exit() {
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = node.node.url();
    let (ok, err) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || arx(&dir, &url, &["init", "--import-key", "not-a-key"])
    })
    .await
    .unwrap();
    assert!(!ok);
    assert_eq!(err["error"]["code"], "input.invalid");
    assert!(err["error"]["message"].as_str().unwrap().contains("64 hex"));
}
