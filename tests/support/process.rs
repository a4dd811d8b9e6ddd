//! The `herald` binary as a child process: started with chosen `HERALD__…`
//! variables in a chosen working directory, waited for with a deadline,
//! stopped with SIGTERM or SIGKILL, and killed on drop.

use super::{client, WAIT};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Longest any one run of the binary may take before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);
/// How often a running process or a starting server is polled.
pub const POLL: Duration = Duration::from_millis(20);

/// A running `herald` process; killed on drop if still running.
pub struct Herald {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    /// Holds the output files, apart from the working directory.
    _logs: tempfile::TempDir,
}

/// How a run ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(
            self.status.success(),
            "exit {:?}: {}",
            self.status,
            self.stderr
        );
    }

    /// Asserts a non-zero exit whose message names `key`.
    #[track_caller]
    pub fn assert_refused_naming(&self, key: &str) {
        assert!(
            !self.status.success(),
            "expected a refusal naming {key}, got success: {}",
            self.stdout
        );
        assert!(
            self.status.code().is_some(),
            "killed, not exited: {:?}",
            self.status
        );
        assert!(
            self.stderr.contains(key),
            "stderr does not name {key}: {}",
            self.stderr
        );
    }
}

impl Herald {
    /// Starts `herald ARGS` in `dir` with only the given `HERALD__…` variables.
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Herald {
        let logs = tempfile::tempdir().unwrap();
        let stdout = logs.path().join("stdout");
        let stderr = logs.path().join("stderr");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        cmd.current_dir(dir).args(args).stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("HERALD__") {
                cmd.env_remove(name);
            }
        }
        cmd.env("RUST_LOG", "info").envs(env.iter().copied());
        cmd.stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        Herald {
            child: cmd.spawn().unwrap(),
            stdout,
            stderr,
            _logs: logs,
        }
    }

    /// The process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> Option<Finished> {
        self.child.try_wait().unwrap().map(|status| Finished {
            status,
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        })
    }

    /// Waits for the process to exit, at most [`RUN_LIMIT`].
    pub fn wait(&mut self) -> Finished {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            if let Some(done) = self.exited() {
                return done;
            }
            self.give_up_after(deadline);
            std::thread::sleep(POLL);
        }
    }

    /// [`Herald::wait`] without blocking the test's runtime.
    pub async fn wait_async(&mut self) -> Finished {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            if let Some(done) = self.exited() {
                return done;
            }
            self.give_up_after(deadline);
            actix_web::rt::time::sleep(POLL).await;
        }
    }

    pub fn give_up_after(&mut self, deadline: Instant) {
        if Instant::now() > deadline {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            panic!("herald did not exit within {RUN_LIMIT:?}: {stderr}");
        }
    }

    /// Sends SIGKILL: the process dies mid-work, as in a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, as a service manager does.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Polls `/healthz` on `base` until it answers 200; fails if the process exits first.
    pub async fn wait_healthy(&mut self, base: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(done) = self.exited() {
                panic!("herald exited before serving: {done:?}");
            }
            let answered = client().get(format!("{base}/healthz")).send().await;
            if answered.is_ok_and(|r| r.status().as_u16() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "herald never became healthy");
            actix_web::rt::time::sleep(POLL).await;
        }
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `herald ARGS` in `dir` to completion.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    Herald::spawn(dir, args, env).wait()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
