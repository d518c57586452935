//! Real Kubo (IPFS) daemons for tests: each with its own repository in a temporary folder,
//! listening on loopback only (the `test` profile: no bootstrap peers, no discovery, random
//! ports), joined to each other and to nobody else.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

/// The Kubo binary: `ARX_KUBO_BIN`, or the one `scripts/build-kubo.sh` builds (once, cached).
pub fn kubo_binary() -> PathBuf {
    if let Ok(path) = std::env::var("ARX_KUBO_BIN") {
        return PathBuf::from(path);
    }
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-kubo.sh");
            let out = Command::new("bash")
                .arg(&script)
                .stderr(Stdio::inherit())
                .output()
                .expect("run scripts/build-kubo.sh");
            assert!(out.status.success(), "scripts/build-kubo.sh failed");
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .clone()
}

/// One running daemon; stopped (and its repository removed) when dropped.
pub struct Kubo {
    child: Child,
    repo: tempfile::TempDir,
    /// The RPC API, e.g. `http://127.0.0.1:40123`.
    pub api_url: String,
    /// Its swarm address with its peer id.
    pub swarm: String,
}

impl Kubo {
    fn command(&self) -> Command {
        let mut command = Command::new(kubo_binary());
        command.env("IPFS_PATH", self.repo.path());
        command
    }

    /// Starts a daemon with a fresh repository.
    pub async fn start() -> Kubo {
        let repo = tempfile::tempdir().expect("temp dir");
        let init = Command::new(kubo_binary())
            .env("IPFS_PATH", repo.path())
            .args(["init", "--profile=test"])
            .output()
            .expect("ipfs init");
        assert!(init.status.success(), "ipfs init: {init:?}");
        let child = Command::new(kubo_binary())
            .env("IPFS_PATH", repo.path())
            .args(["daemon", "--enable-gc=false"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ipfs daemon");
        let mut kubo = Kubo {
            child,
            repo,
            api_url: String::new(),
            swarm: String::new(),
        };
        // The daemon writes its API address once it listens; a loaded machine can take a
        // while (up to a minute is allowed).
        let api_file = kubo.repo.path().join("api");
        for _ in 0..600 {
            if let Ok(text) = std::fs::read_to_string(&api_file) {
                if let Some(url) = multiaddr_url(text.trim()) {
                    if tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
                        .await
                        .is_ok()
                    {
                        kubo.api_url = url;
                        break;
                    }
                }
            }
            if let Ok(Some(status)) = kubo.child.try_wait() {
                panic!("ipfs daemon exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!kubo.api_url.is_empty(), "ipfs daemon did not start");
        let id = kubo
            .command()
            .args(["id", "-f", "<addrs>"])
            .output()
            .expect("ipfs id");
        kubo.swarm = String::from_utf8_lossy(&id.stdout)
            .lines()
            .find(|l| l.starts_with("/ip4/127.0.0.1/tcp/"))
            .expect("a loopback swarm address")
            .to_owned();
        kubo
    }

    /// Two daemons joined to each other.
    pub async fn pair() -> (Kubo, Kubo) {
        let a = Kubo::start().await;
        let b = Kubo::start().await;
        b.connect(&a);
        (a, b)
    }

    /// Joins this daemon to `other`.
    pub fn connect(&self, other: &Kubo) {
        let out = self
            .command()
            .args(["swarm", "connect", &other.swarm])
            .output()
            .expect("ipfs swarm connect");
        assert!(out.status.success(), "swarm connect: {out:?}");
    }

    /// The engine's media store over this daemon.
    pub fn store(&self) -> Arc<dyn arx_media::MediaStore> {
        Arc::new(arx_media::KuboStore::new(&self.api_url).expect("a Kubo URL"))
    }

    /// Whether this daemon holds `cid` locally (without asking the network).
    pub fn has_locally(&self, cid: &str) -> bool {
        self.command()
            .args(["block", "stat", "--offline", cid])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Every byte this daemon holds in its block store (to check that plaintext never
    /// reached IPFS).
    pub fn blocks_dir(&self) -> PathBuf {
        self.repo.path().join("blocks")
    }
}

impl Drop for Kubo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `http://127.0.0.1:PORT` from `/ip4/127.0.0.1/tcp/PORT`.
fn multiaddr_url(addr: &str) -> Option<String> {
    let mut parts = addr.split('/').skip(1);
    let (Some("ip4"), Some(ip), Some("tcp"), Some(port)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(format!("http://{ip}:{port}"))
}
