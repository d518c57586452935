//! Files, replies, reactions, edits and deletes from the command line, through a real node and
//! two real Kubo daemons, read back as structured `messages --json` objects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Command};

use arx_e2e::{kubo::Kubo, TestNode};
use serde_json::Value;

fn arx(dir: &Path, node: &str, ipfs: &str, args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_arx"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--node", node, "--ipfs", ipfs, "--json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    (out.status.success(), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_goes_through_ipfs_and_actions_show_in_structured_messages() {
    let node = TestNode::start().await;
    let (kubo_a, kubo_b) = Kubo::pair().await;
    let (alice_dir, bob_dir, files) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let url = node.node.url();
    let (a_ipfs, b_ipfs) = (kubo_a.api_url.clone(), kubo_b.api_url.clone());
    let report = files.path().join("report.pdf");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&report, &bytes).unwrap();
    let saved = files.path().join("saved.pdf");

    let steps = tokio::task::spawn_blocking({
        let (alice, bob) = (alice_dir.path().to_owned(), bob_dir.path().to_owned());
        let (report, saved) = (report.clone(), saved.clone());
        move || {
            let a = |args: &[&str]| arx(&alice, &url, &a_ipfs, args);
            let b = |args: &[&str]| arx(&bob, &url, &b_ipfs, args);
            a(&["init"]);
            let bob_wallet = b(&["init"]).1["wallet"].as_str().unwrap().to_owned();
            let dm = a(&["dm", &bob_wallet]).1["conversation"]
                .as_str()
                .unwrap()
                .to_owned();
            let sent = a(&[
                "send",
                &dm,
                "the report",
                "--file",
                report.to_str().unwrap(),
            ]);
            assert!(sent.0, "{}", sent.1);
            let listed = b(&["messages", &dm]).1;
            let message = listed["messages"][0].clone();
            let id = message["id"].as_i64().unwrap().to_string();
            let downloaded = b(&["download", &id, "--out", saved.to_str().unwrap()]);
            assert!(downloaded.0, "{}", downloaded.1);
            let again = b(&["download", &id, "--out", saved.to_str().unwrap()]);
            assert!(!again.0, "an existing file is never overwritten");
            assert!(b(&["react", &id, "👍"]).0);
            let reply = b(&["reply", &id, "got it"]);
            assert!(reply.0, "{}", reply.1);
            let reply_id = reply.1["message_id"].as_i64().unwrap().to_string();
            let edited = b(&["edit", &reply_id, "got it, thanks"]);
            assert!(edited.0, "{}", edited.1);
            let alice_view = a(&["messages", &dm]).1;
            let refused = b(&["delete", &id]);
            let after = b(&["messages", &dm]).1;
            (message, alice_view, refused, after)
        }
    })
    .await
    .unwrap();
    let (message, alice_view, refused, after) = steps;
    assert_eq!(message["type"], "arx.attachments/1");
    assert_eq!(message["text"], "the report");
    assert_eq!(message["attachments"][0]["name"], "report.pdf");
    assert_eq!(message["attachments"][0]["mime_type"], "application/pdf");
    assert_eq!(message["attachments"][0]["size"], 300_000);
    assert_eq!(std::fs::read(&saved).unwrap(), bytes, "byte-identical");

    let mine = &alice_view["messages"][0];
    assert_eq!(mine["reactions"][0]["emoji"], "👍");
    assert_eq!(mine["reactions"][0]["count"], 1);
    let reply = &alice_view["messages"][1];
    assert_eq!(reply["text"], "got it, thanks");
    assert_eq!(reply["edited"], true);
    assert_eq!(reply["reply_to"], mine["id"]);

    // Only its sender may delete a message.
    assert!(!refused.0);
    assert_eq!(refused.1["error"]["code"], "group.not_permitted");
    assert_eq!(after["messages"][0]["deleted"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_accepted_or_blocked_and_group_settings_change_from_the_command_line() {
    let node = TestNode::start().await;
    let url = node.node.url();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths: Vec<std::path::PathBuf> = dirs.iter().map(|d| d.path().to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        // No files here: the IPFS URL is never used.
        let run = |i: usize, args: &[&str]| arx(&paths[i], &url, "http://127.0.0.1:9", args);
        let (alice, stranger, spammer) = (0, 1, 2);
        let alice_wallet = run(alice, &["init"]).1["wallet"]
            .as_str()
            .unwrap()
            .to_owned();
        run(stranger, &["init"]);
        run(spammer, &["init"]);
        let dm = run(stranger, &["dm", &alice_wallet]).1["conversation"]
            .as_str()
            .unwrap()
            .to_owned();
        run(stranger, &["send", &dm, "hi, it's me"]);
        let spam = run(
            spammer,
            &["group", "create", "--name", "WIN", &alice_wallet],
        )
        .1["conversation"]
            .as_str()
            .unwrap()
            .to_owned();
        let requests = run(alice, &["requests"]).1;
        let accepted = run(alice, &["accept", &dm]);
        let blocked = run(alice, &["block", &spam]);
        let listed = run(alice, &["conversations"]).1;
        let described = run(spammer, &["group", "describe", &spam, "prizes"]);
        let policy = run(
            spammer,
            &["group", "policy", &spam, "--edit-profile", "everyone"],
        );
        let timer = run(stranger, &["disappearing", &dm, "3600"]);
        let bad_timer = run(stranger, &["disappearing", &dm, "soon"]);
        (
            dm, spam, requests, accepted, blocked, listed, described, policy, timer, bad_timer,
        )
    })
    .await
    .unwrap();
    let (dm, spam, requests, accepted, blocked, listed, described, policy, timer, bad_timer) = out;
    let requests: Vec<String> = requests["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests.contains(&dm) && requests.contains(&spam));
    assert!(accepted.0 && blocked.0);
    let listed: Vec<String> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 1, "the blocked group is hidden: {listed:?}");
    assert!(listed[0].starts_with(&dm) && !listed[0].ends_with("(request)"));
    assert!(described.0, "{}", described.1);
    assert_eq!(policy.1["edit_profile"], "everyone");
    assert_eq!(timer.1["disappearing_after_seconds"], 3600);
    assert!(!bad_timer.0);
    assert_eq!(bad_timer.1["error"]["code"], "input.invalid");
}
