//! The real Socket.IO clients (python-socketio, socket.io-client for Node),
//! installed at pinned versions by `tests/clients/setup.sh`, run as child
//! processes with a deadline.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one external client may run.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(60);

/// The folder the clients are installed in (installed on first use).
pub fn clients_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(root.join("tests/clients/setup.sh"))
            .output()
            .expect("cannot run tests/clients/setup.sh");
        assert!(
            out.status.success(),
            "installing the Socket.IO clients failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
    .clone()
}

/// Runs a client program to completion (killed at [`CLIENT_DEADLINE`]);
/// panics with its output unless it exits 0; returns its stdout.
pub async fn run_client(program: PathBuf, args: Vec<String>) -> String {
    actix_web::rt::task::spawn_blocking(move || {
        let mut child = Command::new(&program)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let deadline = Instant::now() + CLIENT_DEADLINE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\n{}\n{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap()
}
