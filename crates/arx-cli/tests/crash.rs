//! Fault tests: the `arx` process is SIGKILLed at exact points of an intent (it pauses there
//! when `ARX_FAULT_PAUSE_AT` names the point), restarted with the same data dir, and every
//! member must end up with the intent done exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use arx_e2e::{connect, query_all, TestNode};
use arx_identity::Topic;
use serde_json::Value;

/// One person: an `arx` data dir against the test node.
struct Cli {
    dir: tempfile::TempDir,
    url: String,
    inbox: String,
}

impl Cli {
    async fn new(node: &TestNode) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = node.node.url();
        let mut cli = Self {
            dir,
            url,
            inbox: String::new(),
        };
        let init = cli.run(&["init"]).await;
        cli.inbox = init["inbox_id"].as_str().unwrap().to_owned();
        cli
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_arx"));
        command
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--node", &self.url, "--json"])
            .args(args);
        command
    }

    /// Runs to completion; panics unless it succeeds.
    async fn run(&self, args: &[&str]) -> Value {
        let mut command = self.command(args);
        let out = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "arx {args:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap()
    }

    /// Runs until the process pauses at fault point `point`, then SIGKILLs it.
    async fn kill_at(&self, point: &str, args: &[&str]) {
        let mut command = self.command(args);
        command
            .env("ARX_FAULT_PAUSE_AT", point)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let point = point.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            let stderr = child.stderr.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    if line.contains("paused at fault point") {
                        let _ = tx.send(line);
                        return;
                    }
                }
            });
            let paused = rx.recv_timeout(Duration::from_secs(60));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let line = paused.unwrap_or_else(|_| panic!("never reached fault point {point}"));
            assert!(line.ends_with(&point), "{line}");
        })
        .await
        .unwrap();
    }

    async fn messages(&self, conversation: &str) -> Vec<String> {
        let out = self.run(&["messages", conversation]).await;
        out["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let who = if m["mine"].as_bool().unwrap() {
                    "me".to_owned()
                } else {
                    m["sender_inbox"].as_str().unwrap()[..12].to_owned()
                };
                format!("{who}: {}", m["text"].as_str().unwrap())
            })
            .collect()
    }

    async fn members(&self, conversation: &str) -> Vec<String> {
        let out = self.run(&["group", "members", conversation]).await;
        let mut inboxes: Vec<String> = out["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().split(' ').next().unwrap().to_owned())
            .collect();
        inboxes.sort();
        inboxes.dedup();
        inboxes
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

/// Envelopes on a group's topic at the node.
async fn on_topic(node: &TestNode, conversation: &str) -> usize {
    let id = hex::decode(conversation).unwrap();
    query_all(
        &mut connect(&node.node.url()).await,
        &[Topic::group(&id).unwrap()],
    )
    .await
    .len()
}

fn count(messages: &[String], text: &str) -> usize {
    messages.iter().filter(|m| m.ends_with(text)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_killed_between_publish_and_echo_is_delivered_once_after_restart() {
    let node = TestNode::start().await;
    let (alice, bob) = (Cli::new(&node).await, Cli::new(&node).await);
    let group = alice.run(&["group", "create", &bob.inbox]).await["conversation"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = on_topic(&node, &group).await;

    alice
        .kill_at("intent.published", &["send", &group, "through the crash"])
        .await;
    assert_eq!(on_topic(&node, &group).await, before + 1, "the node has it");
    alice.run(&["sync"]).await;

    assert_eq!(
        on_topic(&node, &group).await,
        before + 1,
        "not published again"
    );
    let mine = alice.messages(&group).await;
    assert_eq!(count(&mine, "me: through the crash"), 1, "{mine:?}");
    let theirs = bob.messages(&group).await;
    assert_eq!(count(&theirs, ": through the crash"), 1, "{theirs:?}");
    assert!(alice.path().join("arx.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_killed_before_publish_is_encrypted_again_after_a_commit_and_delivered_once() {
    let node = TestNode::start().await;
    let (alice, bob, carol) = (
        Cli::new(&node).await,
        Cli::new(&node).await,
        Cli::new(&node).await,
    );
    let group = bob.run(&["group", "create", &alice.inbox]).await["conversation"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.run(&["sync"]).await;

    // Alice's message is encrypted and stored, then she dies before publishing it; meanwhile
    // Bob adds Carol, so the epoch her stored ciphertext is for has ended.
    alice
        .kill_at("intent.prepared", &["send", &group, "from the old epoch"])
        .await;
    bob.run(&["group", "add", &group, &carol.inbox]).await;
    alice.run(&["sync"]).await;

    // Carol joined at the new epoch: she can read it only because it was encrypted again.
    for person in [&alice, &bob, &carol] {
        let seen = person.messages(&group).await;
        assert_eq!(count(&seen, "from the old epoch"), 1, "{seen:?}");
    }
    assert_eq!(alice.members(&group).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_killed_between_publish_and_echo_completes_once_after_restart() {
    let node = TestNode::start().await;
    let (alice, bob, carol) = (
        Cli::new(&node).await,
        Cli::new(&node).await,
        Cli::new(&node).await,
    );
    let group = alice.run(&["group", "create", &bob.inbox]).await["conversation"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = on_topic(&node, &group).await;

    alice
        .kill_at("intent.published", &["group", "add", &group, &carol.inbox])
        .await;
    assert_eq!(
        on_topic(&node, &group).await,
        before + 1,
        "the commit is out"
    );
    // Carol has no welcome yet: it leaves only after the commit is merged.
    assert!(carol.run(&["conversations"]).await["conversations"]
        .as_array()
        .unwrap()
        .is_empty());

    alice.run(&["sync"]).await;
    assert_eq!(
        on_topic(&node, &group).await,
        before + 1,
        "one commit in all"
    );
    let members = alice.members(&group).await;
    assert_eq!(members.len(), 3);
    for person in [&bob, &carol] {
        assert_eq!(person.members(&group).await, members);
    }
    alice.run(&["send", &group, "welcome carol"]).await;
    for person in [&bob, &carol] {
        let seen = person.messages(&group).await;
        assert_eq!(count(&seen, ": welcome carol"), 1, "{seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_applying_a_commit_the_commit_is_applied_once_after_restart() {
    let node = TestNode::start().await;
    let (alice, bob, carol) = (
        Cli::new(&node).await,
        Cli::new(&node).await,
        Cli::new(&node).await,
    );
    let group = alice
        .run(&["group", "create", &bob.inbox, &carol.inbox])
        .await["conversation"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.run(&["sync"]).await;

    // Alice's own remove: killed inside the transaction that merges its echo.
    alice
        .kill_at(
            "commit.applying",
            &["group", "remove", &group, &carol.inbox],
        )
        .await;
    alice.run(&["sync"]).await;
    let members = alice.members(&group).await;
    assert_eq!(members.len(), 2);
    assert_eq!(bob.members(&group).await, members);

    // Alice killed while she applies a commit of Bob's.
    let dave = Cli::new(&node).await;
    alice
        .run(&["group", "role", &group, &bob.inbox, "admin"])
        .await;
    bob.run(&["group", "add", &group, &dave.inbox]).await;
    alice.kill_at("commit.applying", &["sync"]).await;
    alice.run(&["send", &group, "after both crashes"]).await;
    let members = alice.members(&group).await;
    assert_eq!(members.len(), 3);
    for person in [&bob, &dave] {
        assert_eq!(person.members(&group).await, members);
        let seen = person.messages(&group).await;
        assert_eq!(count(&seen, ": after both crashes"), 1, "{seen:?}");
    }
}
