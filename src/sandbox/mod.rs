//! The sandbox every command the model causes runs in: the `bash` tool, the repository hooks
//! the executor runs at commit time, and any later verification command (issue 9).
//!
//! Policy ([`Policy`]): system dirs read-only; the workspace and a private temp dir
//! read-write; the workspace's `.git` read-only (the executor commits, not the model); the
//! operator's HOME hidden except the allowed toolchain caches, read-only; only the sandbox's
//! own processes visible; network `none`, `loopback` or `full`; and nothing it started
//! outlives the call, a timeout, or foreman itself (even SIGKILLed).
//!
//! Linux: bubblewrap's namespaces plus a seccomp filter (see `bwrap`, `seccomp`). macOS: a
//! Seatbelt profile (see `seatbelt`). If the sandbox cannot be set up, [`Sandbox::command`]
//! fails with an error naming the fix; only the operator's `mode = "off"` runs unconfined.

#[cfg(target_os = "linux")]
mod bwrap;
mod policy;
mod running;
mod scratch;
pub mod seatbelt;
#[cfg(target_os = "linux")]
mod seccomp;
#[cfg(target_os = "linux")]
mod session;
#[cfg(target_os = "linux")]
pub mod supervisor;
#[cfg(target_os = "linux")]
mod wire;

pub use crate::api::SandboxNetwork as Network;
pub use policy::{DEFAULT_ALLOW_PATHS, Mode, Policy, PolicyError, Settings};
pub use running::{Output, Running};

use scratch::Scratch;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Why a command could not be sandboxed. The message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "sandbox unavailable: {0}; or, to run the model's commands unconfined, set \
         [sandbox] mode = \"off\" in the foreman config"
    )]
    Unavailable(String),
    #[error("sandbox setup failed: {0}")]
    Setup(String),
    /// The sandbox stands but the command could not be started in it.
    #[error("{0}")]
    Spawn(String),
}

/// What `foreman doctor` and the console header report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Confining, with a one-line description of the mechanism.
    Ready(String),
    /// The operator opted out: commands run unconfined.
    Off,
    /// Cannot confine: every command will be refused until the fix is applied.
    Unavailable(String),
}

/// The sandbox state for `mode` on this machine (probing it once per process).
pub fn status(mode: Mode) -> Status {
    if mode == Mode::Off {
        return Status::Off;
    }
    match backend() {
        Ok(b) => Status::Ready(b.describe()),
        Err(e) => Status::Unavailable(e.clone()),
    }
}

/// One command to run in the sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub program: &'a OsStr,
    pub args: &'a [&'a OsStr],
    /// Must exist inside the workspace (or be it).
    pub cwd: &'a Path,
    /// The command's whole environment (nothing is inherited).
    pub env: &'a [(String, String)],
    /// Host paths readable for this command only (an operator's hooks dir outside the
    /// workspace).
    pub read_only: &'a [PathBuf],
}

/// The private temp dir, as the host and the sandboxed command each see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScratchDir {
    pub host: PathBuf,
    pub inside: PathBuf,
}

/// A policy bound to its private directory (created on first use, removed on drop).
pub struct Sandbox {
    policy: Policy,
    scratch: OnceLock<Result<Scratch, String>>,
    /// Idle supervisors (one per concurrent caller; usually one), reused by [`Sandbox::spawn`].
    #[cfg(target_os = "linux")]
    sessions: std::sync::Mutex<Vec<session::Session>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    pub fn new(policy: Policy) -> Sandbox {
        Sandbox {
            policy,
            scratch: OnceLock::new(),
            #[cfg(target_os = "linux")]
            sessions: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The private temp dir (the command's `/tmp`; its host path for files handed in).
    pub fn scratch_dir(&self) -> Result<ScratchDir, SandboxError> {
        let s = self.scratch()?;
        let inside = if cfg!(target_os = "linux") && self.policy.mode == Mode::On {
            PathBuf::from("/tmp")
        } else {
            s.tmp.clone()
        };
        Ok(ScratchDir {
            host: s.tmp.clone(),
            inside,
        })
    }

    fn scratch(&self) -> Result<&Scratch, SandboxError> {
        self.scratch
            .get_or_init(|| Scratch::create().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| SandboxError::Setup(format!("cannot create the private temp dir: {e}")))
    }

    /// A `Command` that runs `inv` under the policy; the caller sets stdio and spawns it.
    /// Fails (never falls back to unconfined) when the sandbox cannot be set up.
    pub fn command(&self, inv: &Invocation<'_>) -> Result<Command, SandboxError> {
        if !inv.cwd.is_dir() {
            return Err(SandboxError::Setup(format!(
                "the working directory {} does not exist",
                inv.cwd.display()
            )));
        }
        if self.policy.mode == Mode::Off {
            let mut cmd = Command::new(inv.program);
            cmd.args(inv.args);
            cmd.current_dir(inv.cwd)
                .env_clear()
                .envs(env_pairs(inv.env));
            return Ok(cmd);
        }
        let backend = backend().map_err(|e| SandboxError::Unavailable(e.clone()))?;
        let scratch = self.scratch()?;
        backend.command(&self.policy, scratch, inv)
    }
}

impl Sandbox {
    /// Starts `inv` with stdin empty and both outputs piped. `bash` goes through here: on
    /// Linux, once [`use_supervisor`] named the supervisor's executable, commands without
    /// extra mounts run in this sandbox's long-lived supervisor (a fork and an exec per call
    /// instead of a bwrap setup); otherwise each gets its own sandbox from
    /// [`Sandbox::command`]. Same policy, timeouts and kills either way.
    pub async fn spawn(&self, inv: &Invocation<'_>) -> Result<Running<'_>, SandboxError> {
        #[cfg(target_os = "linux")]
        if self.policy.mode == Mode::On
            && inv.read_only.is_empty()
            && inv.cwd.is_dir()
            && SUPERVISOR.get().is_some()
        {
            match self.spawn_in_session(inv).await {
                Ok(r) => return Ok(r),
                Err(e @ SandboxError::Spawn(_)) => return Err(e),
                Err(e) => {
                    static WARNED: std::sync::Once = std::sync::Once::new();
                    WARNED.call_once(|| {
                        tracing::warn!("{e}; running each command in its own sandbox instead")
                    });
                }
            }
        }
        Running::child(self.command(inv)?)
    }

    #[cfg(target_os = "linux")]
    async fn spawn_in_session(&self, inv: &Invocation<'_>) -> Result<Running<'_>, SandboxError> {
        let setup = |e: std::io::Error| SandboxError::Setup(e.to_string());
        let frame = wire::encode_run(inv.cwd.as_os_str(), inv.program, inv.args, inv.env);
        let (out_rx, out_tx) = std::io::pipe().map_err(setup)?;
        let (err_rx, err_tx) = std::io::pipe().map_err(setup)?;
        let (out_tx, err_tx) = (out_tx.into(), err_tx.into());
        let session = self.idle_session().await?;
        let mut link = session::Link::new(&session).map_err(setup)?;
        link.send_run(&frame, &out_tx, &err_tx)
            .await
            .map_err(setup)?;
        // Only the command may hold the write ends now: EOF means it and its children are done.
        drop((out_tx, err_tx));
        match link.reply().await.map_err(setup)? {
            wire::Reply::Started => {}
            wire::Reply::SpawnFailed(errno) => {
                drop(link);
                self.sessions_lock().push(session);
                let e = std::io::Error::from_raw_os_error(errno);
                return Err(SandboxError::Spawn(format!(
                    "{}: {e}",
                    inv.program.to_string_lossy()
                )));
            }
            r => {
                return Err(SandboxError::Setup(format!(
                    "the supervisor answered {r:?}"
                )));
            }
        }
        let rx = |p: std::io::PipeReader| {
            tokio::net::unix::pipe::Receiver::from_owned_fd(p.into())
                .map(|r| Box::new(r) as Output)
                .map_err(setup)
        };
        Ok(Running::session(
            session,
            link,
            &self.sessions,
            rx(out_rx)?,
            rx(err_rx)?,
        ))
    }

    #[cfg(target_os = "linux")]
    fn sessions_lock(&self) -> std::sync::MutexGuard<'_, Vec<session::Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle supervisor that is still alive, or a new one.
    #[cfg(target_os = "linux")]
    async fn idle_session(&self) -> Result<session::Session, SandboxError> {
        while let Some(mut s) = self.sessions_lock().pop() {
            if s.alive() {
                return Ok(s);
            }
        }
        let exe = SUPERVISOR
            .get()
            .ok_or_else(|| SandboxError::Setup("no supervisor executable".into()))?;
        let Backend::Bubblewrap { path, probe } =
            backend().map_err(|e| SandboxError::Unavailable(e.clone()))?;
        let args = [OsStr::new(supervisor::ARG)];
        let inv = Invocation {
            program: OsStr::new(bwrap::SUPERVISOR_INSIDE),
            args: &args,
            cwd: &self.policy.workspace,
            env: &[],
            read_only: &[],
        };
        // A new supervisor's start, for the `overhead` bench.
        let _span = tracing::debug_span!("sandbox.start");
        let cmd = linux_command(path, probe, &self.policy, self.scratch()?, &inv, Some(exe))?;
        session::Session::start(cmd)
            .await
            .map_err(SandboxError::Setup)
    }
}

/// The executable that can serve as a sandbox's supervisor (one whose `main` starts with
/// [`supervisor::serve_if_asked`]; the foreman binary). Set once, at startup.
#[cfg(target_os = "linux")]
static SUPERVISOR: OnceLock<PathBuf> = OnceLock::new();

/// Names the supervisor's executable (the foreman binary calls this with its own path).
/// Without it every command gets its own bwrap (slower, equally confined).
pub fn use_supervisor(exe: PathBuf) {
    #[cfg(target_os = "linux")]
    let _ = SUPERVISOR.set(exe);
    #[cfg(not(target_os = "linux"))]
    let _ = exe;
}

fn env_pairs(env: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// The mechanism found on this machine.
#[derive(Debug)]
enum Backend {
    #[cfg(target_os = "linux")]
    Bubblewrap { path: PathBuf, probe: bwrap::Probe },
    #[cfg(target_os = "macos")]
    Seatbelt,
}

/// Detected once per process: a missing or broken backend stays so until foreman restarts.
fn backend() -> Result<&'static Backend, &'static String> {
    static BACKEND: OnceLock<Result<Backend, String>> = OnceLock::new();
    BACKEND.get_or_init(detect).as_ref()
}

#[cfg(target_os = "linux")]
fn detect() -> Result<Backend, String> {
    let path = bwrap::find().ok_or_else(|| {
        "bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: apt-get install \
         bubblewrap; Fedora: dnf install bubblewrap; Arch: pacman -S bubblewrap)"
            .to_string()
    })?;
    let probe = bwrap::probe(&path)?;
    Ok(Backend::Bubblewrap { path, probe })
}

#[cfg(target_os = "macos")]
fn detect() -> Result<Backend, String> {
    if Path::new(seatbelt::SANDBOX_EXEC).exists() {
        Ok(Backend::Seatbelt)
    } else {
        Err(format!("{} is missing", seatbelt::SANDBOX_EXEC))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn detect() -> Result<Backend, String> {
    Err(format!(
        "foreman has no sandbox for {}",
        std::env::consts::OS
    ))
}

impl Backend {
    fn describe(&self) -> String {
        match *self {
            #[cfg(target_os = "linux")]
            Backend::Bubblewrap {
                ref path,
                ref probe,
            } => format!(
                "{} ({}): user, PID, mount and network namespaces + seccomp",
                probe.version,
                path.display()
            ),
            #[cfg(target_os = "macos")]
            Backend::Seatbelt => format!("Seatbelt ({})", seatbelt::SANDBOX_EXEC),
        }
    }

    #[allow(unused_variables)]
    fn command(
        &self,
        policy: &Policy,
        scratch: &Scratch,
        inv: &Invocation<'_>,
    ) -> Result<Command, SandboxError> {
        match *self {
            #[cfg(target_os = "linux")]
            Backend::Bubblewrap {
                ref path,
                ref probe,
            } => linux_command(path, probe, policy, scratch, inv, None),
            #[cfg(target_os = "macos")]
            Backend::Seatbelt => {
                let profile = seatbelt::profile(policy, &scratch.tmp, inv.read_only);
                let mut cmd = Command::new(seatbelt::SANDBOX_EXEC);
                cmd.arg("-p").arg(profile).arg(inv.program).args(inv.args);
                cmd.current_dir(inv.cwd)
                    .env_clear()
                    .envs(env_pairs(inv.env))
                    .env("TMPDIR", &scratch.tmp);
                Ok(cmd)
            }
        }
    }
}

/// bwrap with the seccomp program on an inherited pipe (bwrap reads it before the command
/// starts; the pipe's read end is made inheritable only in the child).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // pre_exec is unsafe: the closure only calls fcntl (async-signal-safe)
fn linux_command(
    bwrap_path: &Path,
    probe: &bwrap::Probe,
    policy: &Policy,
    scratch: &Scratch,
    inv: &Invocation<'_>,
    supervisor: Option<&Path>,
) -> Result<Command, SandboxError> {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let program = seccomp_program(policy.network).map_err(SandboxError::Setup)?;
    let (reader, mut writer) =
        std::io::pipe().map_err(|e| SandboxError::Setup(format!("pipe: {e}")))?;
    writer
        .write_all(program)
        .map_err(|e| SandboxError::Setup(format!("writing the seccomp filter: {e}")))?;
    drop(writer);
    let fd = reader.as_raw_fd();
    let mut cmd = Command::new(bwrap_path);
    cmd.args(bwrap::args(
        probe,
        policy,
        scratch,
        inv.read_only,
        inv.cwd,
        Some(fd),
        supervisor,
    ))
    .arg(inv.program)
    .args(inv.args)
    .current_dir(inv.cwd)
    .env_clear()
    .envs(env_pairs(inv.env));
    // SAFETY: fcntl is async-signal-safe; the closure owns `reader`, so the fd is open.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(reader.as_raw_fd(), libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// The compiled filter per network mode, built once per process.
#[cfg(target_os = "linux")]
fn seccomp_program(network: Network) -> Result<&'static [u8], String> {
    static PROGRAMS: OnceLock<[Result<Vec<u8>, String>; 3]> = OnceLock::new();
    let all = PROGRAMS
        .get_or_init(|| [Network::None, Network::Loopback, Network::Full].map(seccomp::program));
    let i = match network {
        Network::None => 0,
        Network::Loopback => 1,
        Network::Full => 2,
    };
    all[i].as_deref().map_err(Clone::clone)
}
