//! The app's IPFS daemon: Kubo, run by the app on loopback with a private repository in the
//! profile's data directory (zero set-up), unless a Kubo RPC URL is set in Settings or by
//! `ARX_IPFS_API`. The binary ships with the app (`ipfs` beside the executable, or
//! `/usr/lib/arx-messenger/ipfs` from the Debian package; built from source by
//! `scripts/build-kubo.sh`); `ARX_KUBO_BIN` points elsewhere.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::process::{Child, Command};

/// The Kubo binary: `ARX_KUBO_BIN`, or `ipfs` beside this executable.
pub fn kubo_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ARX_KUBO_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Beside the executable (a build tree, Windows, macOS bundles), or where the Debian
    // package puts it (/usr/bin/arx-messenger → /usr/lib/arx-messenger/ipfs).
    [
        dir.join("ipfs"),
        dir.join("ipfs.exe"),
        dir.join("../lib/arx-messenger/ipfs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// A Kubo daemon this app started; stopped when dropped.
pub struct EmbeddedKubo {
    _child: Child,
    pub api_url: String,
}

async fn run(binary: &Path, repo: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(binary)
        .env("IPFS_PATH", repo)
        .args(args)
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ipfs {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl EmbeddedKubo {
    /// Starts Kubo on the repository at `repo` (made on first use: random swarm ports, the API
    /// and gateway on loopback only) and waits until its API answers.
    pub async fn start(binary: &Path, repo: &Path) -> Result<Self, String> {
        arx_identity::secret_file::private_dir(repo).map_err(|e| e.to_string())?;
        if !repo.join("config").exists() {
            run(binary, repo, &["init", "--profile=randomports"]).await?;
        }
        for (key, value) in [
            ("Addresses.API", "/ip4/127.0.0.1/tcp/0"),
            ("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0"),
        ] {
            run(binary, repo, &["config", key, value]).await?;
        }
        // A file left by a daemon that did not stop cleanly would name a dead port.
        let api_file = repo.join("api");
        let _ = std::fs::remove_file(&api_file);
        let mut child = Command::new(binary)
            .env("IPFS_PATH", repo)
            .args(["daemon", "--migrate=true"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        for _ in 0..600 {
            if let Some(url) = std::fs::read_to_string(&api_file)
                .ok()
                .and_then(|text| api_url(text.trim()))
            {
                let addr = url.trim_start_matches("http://").to_owned();
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    return Ok(Self {
                        _child: child,
                        api_url: url,
                    });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("the IPFS daemon exited ({status})"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the IPFS daemon did not start within a minute".into())
    }
}

/// `http://127.0.0.1:PORT` from Kubo's `/ip4/127.0.0.1/tcp/PORT`.
fn api_url(multiaddr: &str) -> Option<String> {
    let mut parts = multiaddr.split('/').skip(1);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("ip4"), Some(ip), Some("tcp"), Some(port)) if port.parse::<u16>().is_ok() => {
            Some(format!("http://{ip}:{port}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_file_gives_a_loopback_url() {
        assert_eq!(
            api_url("/ip4/127.0.0.1/tcp/45001").as_deref(),
            Some("http://127.0.0.1:45001")
        );
        assert_eq!(api_url("/ip6/::1/tcp/5001"), None);
        assert_eq!(api_url("/ip4/127.0.0.1/tcp/x"), None);
    }
}
