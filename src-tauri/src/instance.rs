//! One process per profile. The first start of a profile holds the profile's lock file and
//! listens on a loopback port, written with a random token to `instance.json` in the private
//! profile directory. A second start of the same profile hands its arguments (an `arx://` link,
//! say) to the first, which brings its window forward, and exits.
//!
//! `tauri-plugin-single-instance` is not used: on Windows and macOS it keys the instance on the
//! app identifier, so a second profile (`--profile NAME`, another person on the computer) could
//! not start at all.

use std::{
    fs::File,
    io::{BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};

/// How long a start waits for another process of the same profile to exit (a restart into an
/// update starts the new process while the old one is still stopping).
const PATIENCE: Duration = Duration::from_secs(5);
/// The most a second start may send (its arguments).
const MAX_REQUEST: u64 = 64 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const FILE: &str = "instance.json";

/// Where the first instance listens, and the token a second start must present.
#[derive(Debug, Serialize, Deserialize)]
struct Address {
    port: u16,
    token: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    token: String,
    args: Vec<String>,
}

/// The profile's lock, held for the life of the process.
pub struct Lock(#[allow(dead_code)] File);

/// What a start of the profile got.
pub enum Start {
    /// This process is the profile's instance.
    First(Lock),
    /// The running instance took the arguments; this process should exit.
    Handed,
}

/// Takes the profile's lock, or hands `args` to the process that holds it.
pub fn start(dir: &Path, profile: &str, args: &[String]) -> Result<Start, String> {
    arx_identity::secret_file::private_dir(dir)
        .map_err(|e| format!("data directory {}: {e}", dir.display()))?;
    let file = File::create(dir.join("app.lock")).map_err(|e| format!("lock file: {e}"))?;
    let step = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Start::First(Lock(file))),
            Err(std::fs::TryLockError::WouldBlock) => {
                if hand_over(dir, args).is_ok() {
                    return Ok(Start::Handed);
                }
                if waited >= PATIENCE {
                    return Err(format!(
                        "ARX is already open for profile {profile:?} but does not answer \
                         (use --profile NAME for another person)"
                    ));
                }
                std::thread::sleep(step);
                waited += step;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(format!("lock file: {e}")),
        }
    }
}

/// Sends the arguments to the running instance; Ok once it has taken them.
fn hand_over(dir: &Path, args: &[String]) -> Result<(), String> {
    let bytes = std::fs::read(dir.join(FILE)).map_err(|e| e.to_string())?;
    let address: Address = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let mut stream =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, address.port).into(), IO_TIMEOUT)
            .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = Request {
        token: address.token,
        args: args.to_vec(),
    };
    let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream.write_all(&line).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    BufReader::new(stream)
        .take(16)
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    if answer.trim() == "ok" {
        Ok(())
    } else {
        Err(format!("the running instance answered {answer:?}"))
    }
}

/// The first instance's end: takes other starts' arguments until it is closed.
pub struct Listener {
    file: PathBuf,
    closing: Arc<AtomicBool>,
}

impl Listener {
    /// Listens on loopback and writes the address file; `on_start` gets each later start's
    /// arguments (on the listener's thread).
    pub fn open(
        dir: &Path,
        on_start: impl Fn(Vec<String>) + Send + 'static,
    ) -> Result<Self, String> {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("listen: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("listen: {e}"))?
            .port();
        let token = hex::encode(rand::random::<[u8; 16]>());
        let file = dir.join(FILE);
        let bytes = serde_json::to_vec(&Address {
            port,
            token: token.clone(),
        })
        .map_err(|e| e.to_string())?;
        // The profile directory is private to this user, so the token is too.
        std::fs::write(&file, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        let closing = Arc::new(AtomicBool::new(false));
        let stop = closing.clone();
        std::thread::Builder::new()
            .name("arx-instance".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    match serve(stream, &token, &stop) {
                        Ok(Some(args)) => on_start(args),
                        Ok(None) => {}
                        Err(err) => tracing::debug!("a second start was not understood: {err}"),
                    }
                }
            })
            .map_err(|e| format!("listener thread: {e}"))?;
        Ok(Self { file, closing })
    }

    /// From now on, later starts wait for this process to exit instead of handing over.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Reads one request; answers "ok" when it is taken, "closing" while this process exits.
fn serve(
    mut stream: TcpStream,
    token: &str,
    closing: &AtomicBool,
) -> Result<Option<Vec<String>>, String> {
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream.try_clone().map_err(|e| e.to_string())?)
        .take(MAX_REQUEST)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let request: Request = serde_json::from_str(&line).map_err(|e| e.to_string())?;
    if request.token != token {
        return Err("wrong token".into());
    }
    if closing.load(Ordering::SeqCst) {
        let _ = stream.write_all(b"closing\n");
        return Ok(None);
    }
    stream.write_all(b"ok\n").map_err(|e| e.to_string())?;
    Ok(Some(request.args))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_second_start_hands_its_arguments_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let Start::First(_lock) = start(dir.path(), "p", &[]).unwrap() else {
            panic!("the first start must get the lock");
        };
        let (tx, rx) = mpsc::channel();
        let listener = Listener::open(dir.path(), move |args| {
            let _ = tx.send(args);
        })
        .unwrap();
        let args = vec!["arx://dm/0xabc".to_owned()];
        assert!(matches!(
            start(dir.path(), "p", &args).unwrap(),
            Start::Handed
        ));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), args);

        // While the first one exits, a later start waits for the lock instead.
        listener.close();
        assert!(hand_over(dir.path(), &args).is_err());
    }

    #[test]
    fn a_request_without_the_token_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let _listener = Listener::open(dir.path(), move |args| {
            let _ = tx.send(args);
        })
        .unwrap();
        let address: Address =
            serde_json::from_slice(&std::fs::read(dir.path().join(FILE)).unwrap()).unwrap();
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, address.port)).unwrap();
        stream
            .write_all(b"{\"token\":\"guess\",\"args\":[\"x\"]}\n")
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert_eq!(answer, "");
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    }
}
