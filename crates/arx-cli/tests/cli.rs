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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_talk_in_a_group_from_the_command_line() {
    let node = TestNode::start().await;
    let url = node.node.url();
    let (alice, bob) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run = |dir: std::path::PathBuf, args: Vec<String>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            arx(&dir, &url, &args)
        })
    };
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();

    let (_, a) = run(alice.path().into(), s(&["init"])).await.unwrap();
    let (_, b) = run(bob.path().into(), s(&["init"])).await.unwrap();
    let bob_wallet = b["wallet"].as_str().unwrap().to_owned();

    let (ok, created) = run(
        alice.path().into(),
        s(&["group", "create", "--name", "lunch", &bob_wallet]),
    )
    .await
    .unwrap();
    assert!(ok, "{created}");
    let conversation = created["conversation"].as_str().unwrap().to_owned();
    let (ok, sent) = run(alice.path().into(), s(&["send", &conversation, "noon?"]))
        .await
        .unwrap();
    assert!(ok, "{sent}");

    let (ok, messages) = run(bob.path().into(), s(&["messages", &conversation]))
        .await
        .unwrap();
    assert!(ok, "{messages}");
    let first = &messages["messages"][0];
    assert_eq!(first["text"], "noon?", "{first}");
    assert_eq!(first["sender_inbox"], a["inbox_id"]);
    assert_eq!(first["mine"], false);
    assert_eq!(first["type"], "arx.text/1");
    assert_eq!(first["delivery"], "sent");

    run(bob.path().into(), s(&["send", &conversation, "yes"]))
        .await
        .unwrap();
    let (_, messages) = run(alice.path().into(), s(&["messages", &conversation]))
        .await
        .unwrap();
    let seen: Vec<(bool, String, String)> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mine"].as_bool().unwrap(),
                m["sender_inbox"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                true,
                a["inbox_id"].as_str().unwrap().to_owned(),
                "noon?".to_owned()
            ),
            (
                false,
                b["inbox_id"].as_str().unwrap().to_owned(),
                "yes".to_owned()
            ),
        ]
    );

    let (ok, err) = run(
        alice.path().into(),
        s(&[
            "group",
            "create",
            "0x000000000000000000000000000000000000dEaD",
        ]),
    )
    .await
    .unwrap();
    assert!(!ok);
    assert_eq!(err["error"]["code"], "identity.not_on_arx");
}

#[test]
fn demo_shows_a_group_and_a_dm_end_to_end_with_an_embedded_node() {
    let out = Command::new(env!("CARGO_BIN_EXE_arx"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "  [them] Yes! I'll bring the map.",
        "  [them] Hiking on Saturday?",
        "  [them] Psst, it's your birthday on Saturday.",
        "  [them] Shh! Thank you :)",
        "PrivateMessage (encrypted), node signature ok",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

/// Runs `arx` with extra flags before the command and `stdin` as its input.
fn arx_with(dir: &std::path::Path, flags: &[&str], args: &[&str], stdin: &str) -> (bool, Value) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_arx"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(flags)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    (out.status.success(), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_node_with_a_self_signed_certificate_works_with_its_ca_file_and_not_without() {
    let (tls, cert_pem) = arx_e2e::self_signed_tls();
    let node = TestNode::start_with(arx_e2e::TestNodeOptions {
        tls: Some(tls),
        ..Default::default()
    })
    .await;
    let url = node.node.url();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("node-ca.pem");
    std::fs::write(&ca, &cert_pem).unwrap();
    let (alice_dir, bob_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let results = tokio::task::spawn_blocking({
        let (alice_dir, bob_dir) = (alice_dir.path().to_owned(), bob_dir.path().to_owned());
        let ca = ca.display().to_string();
        move || {
            let with_ca = ["--node", url.as_str(), "--node-ca-file", ca.as_str()];
            let without_ca = ["--node", url.as_str()];
            let refused = arx_with(&alice_dir, &without_ca, &["init"], "");
            let alice = arx_with(&alice_dir, &with_ca, &["init"], "");
            let bob = arx_with(&bob_dir, &with_ca, &["init"], "");
            let wallet = bob.1["wallet"].as_str().unwrap().to_owned();
            let dm = arx_with(&alice_dir, &with_ca, &["dm", &wallet], "");
            let conversation = dm.1["conversation"].as_str().unwrap().to_owned();
            let sent = arx_with(
                &alice_dir,
                &with_ca,
                &["send", &conversation, "over TLS"],
                "",
            );
            let read = arx_with(&bob_dir, &with_ca, &["messages", &conversation], "");
            (refused, alice, bob, dm, sent, read)
        }
    })
    .await
    .unwrap();
    let (refused, alice, bob, dm, sent, read) = results;
    assert!(!refused.0, "{}", refused.1);
    assert_eq!(
        refused.1["error"]["code"], "network.unreachable",
        "{}",
        refused.1
    );
    for (ok, value) in [&alice, &bob, &dm, &sent, &read] {
        assert!(ok, "{value}");
    }
    assert!(read.1["messages"][0]["text"] == "over TLS", "{}", read.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_to_another_computer_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || arx_with(&dir, &["--node", "http://192.0.2.1:5050"], &["whoami"], "")
    })
    .await
    .unwrap();
    assert!(!ok);
    assert_eq!(out["error"]["code"], "input.invalid", "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("https://"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_are_listed_and_a_lost_one_revoked_with_a_key_read_from_stdin() {
    let node = TestNode::start().await;
    let url = node.node.url();
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = tokio::task::spawn_blocking({
        let (first, second) = (first.path().to_owned(), second.path().to_owned());
        move || {
            let node = ["--node", url.as_str()];
            let init = arx_with(&first, &node, &["init"], "");
            let key = std::fs::read_to_string(first.join("wallet.key")).unwrap();
            // The second device imports the key from standard input.
            let imported = arx_with(&second, &node, &["init", "--import-key", "-"], &key);
            let listed = arx_with(&first, &node, &["devices", "list"], "");
            let lost = imported.1["installation"].as_str().unwrap().to_owned();
            let revoked = arx_with(&first, &node, &["devices", "revoke", &lost], "");
            let after = arx_with(&first, &node, &["devices", "list"], "");
            let skipped = arx_with(&first, &node, &["skipped"], "");
            (init, imported, listed, revoked, after, skipped)
        }
    })
    .await
    .unwrap();
    let (init, imported, listed, revoked, after, skipped) = out;
    for (ok, value) in [&init, &imported, &listed, &revoked, &after, &skipped] {
        assert!(ok, "{value}");
    }
    assert_eq!(imported.1["inbox_id"], init.1["inbox_id"]);
    let devices = listed.1["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(
        devices
            .iter()
            .filter(|d| d.as_str().unwrap().ends_with("(this device)"))
            .count(),
        1
    );
    assert_eq!(revoked.1["revoked"], imported.1["installation"]);
    assert_eq!(after.1["devices"].as_array().unwrap().len(), 1);
    assert!(skipped.1["skipped"].as_array().unwrap().is_empty());
}
