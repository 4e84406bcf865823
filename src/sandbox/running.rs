//! A command started in the sandbox, whichever way it runs: through the sandbox's supervisor
//! (the fast path for `bash`) or as its own bwrap (hooks, or no supervisor). One interface, so
//! the caller's timeouts, output caps and kills are the same for both.

use super::SandboxError;
#[cfg(target_os = "linux")]
use super::session::{Link, Session};
#[cfg(target_os = "linux")]
use super::wire::Reply;
use std::io;
use std::process::{ExitStatus, Stdio};
use tokio::io::AsyncRead;

/// One output stream of the command.
pub type Output = Box<dyn AsyncRead + Send + Unpin>;

/// How long the supervisor may take to confirm that nothing of a call is left.
#[cfg(target_os = "linux")]
const CLEAN_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A started command. Dropping it before [`Running::finish`] kills everything it started.
pub struct Running<'a> {
    pub stdout: Option<Output>,
    pub stderr: Option<Output>,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Child {
        child: tokio::process::Child,
        group: GroupGuard,
    },
    #[cfg(target_os = "linux")]
    Session {
        /// `None` once the session was given up (it is dropped, so its namespace is gone).
        call: Option<(Session, Link)>,
        pool: &'a std::sync::Mutex<Vec<Session>>,
        kill_sent: bool,
    },
    #[cfg(not(target_os = "linux"))]
    #[allow(dead_code)]
    Never(std::marker::PhantomData<&'a ()>),
}

impl<'a> Running<'a> {
    /// Spawns `cmd` (a whole sandbox per call) in its own process group.
    pub(crate) fn child(cmd: std::process::Command) -> Result<Running<'a>, SandboxError> {
        let mut child = tokio::process::Command::from(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SandboxError::Spawn(e.to_string()))?;
        let pgid = child
            .id()
            .and_then(|id| libc::pid_t::try_from(id).ok())
            .ok_or_else(|| {
                SandboxError::Spawn("it exited before its process id was known".into())
            })?;
        let stdout = child.stdout.take().map(|s| Box::new(s) as Output);
        let stderr = child.stderr.take().map(|s| Box::new(s) as Output);
        Ok(Running {
            stdout,
            stderr,
            kind: Kind::Child {
                child,
                group: GroupGuard { pgid, armed: true },
            },
        })
    }

    /// A command the supervisor of `session` has started.
    #[cfg(target_os = "linux")]
    pub(crate) fn session(
        session: Session,
        link: Link,
        pool: &'a std::sync::Mutex<Vec<Session>>,
        stdout: Output,
        stderr: Output,
    ) -> Running<'a> {
        Running {
            stdout: Some(stdout),
            stderr: Some(stderr),
            kind: Kind::Session {
                call: Some((session, link)),
                pool,
                kill_sent: false,
            },
        }
    }

    /// How the command ended. Cancel-safe (usable in `select!`); call it until it returns.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match &mut self.kind {
            Kind::Child { child, .. } => child.wait().await,
            #[cfg(target_os = "linux")]
            Kind::Session { call, .. } => {
                use std::os::unix::process::ExitStatusExt;
                let Some((_, link)) = call.as_mut() else {
                    return Ok(ExitStatus::from_raw(libc::SIGKILL));
                };
                loop {
                    match link.reply().await {
                        Ok(Reply::Exited(raw)) => return Ok(ExitStatus::from_raw(raw)),
                        Ok(Reply::Clean) => {}
                        Ok(r) => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("unexpected {r:?} from the sandbox supervisor"),
                            ));
                        }
                        Err(e) => {
                            // Whatever happened, nothing of this sandbox may run on.
                            *call = None;
                            return Err(e);
                        }
                    }
                }
            }
            #[cfg(not(target_os = "linux"))]
            Kind::Never(_) => unreachable!(),
        }
    }

    /// Starts killing everything the command started (returns at once).
    pub fn kill(&mut self) {
        match &mut self.kind {
            Kind::Child { group, .. } => group.kill(),
            #[cfg(target_os = "linux")]
            Kind::Session {
                call, kill_sent, ..
            } => {
                if *kill_sent {
                    return;
                }
                *kill_sent = true;
                if !call.as_ref().is_some_and(|(_, link)| link.try_kill()) {
                    // Could not ask: end the whole sandbox instead.
                    *call = None;
                }
            }
            #[cfg(not(target_os = "linux"))]
            Kind::Never(_) => {}
        }
    }

    /// Ends the call: with the supervisor, everything the command started is gone when this
    /// returns, and the sandbox is kept for the next command.
    pub async fn finish(mut self) {
        match &mut self.kind {
            Kind::Child { group, .. } => group.armed = false,
            #[cfg(target_os = "linux")]
            Kind::Session { .. } => {
                self.kill();
                let Kind::Session { call, pool, .. } = &mut self.kind else {
                    return;
                };
                let Some((session, mut link)) = call.take() else {
                    return;
                };
                let clean = tokio::time::timeout(CLEAN_WITHIN, async {
                    loop {
                        match link.reply().await {
                            Ok(Reply::Clean) => return true,
                            Ok(Reply::Exited(_)) => {}
                            _ => return false,
                        }
                    }
                })
                .await;
                drop(link);
                if clean == Ok(true) {
                    pool.lock().unwrap_or_else(|p| p.into_inner()).push(session);
                }
            }
            #[cfg(not(target_os = "linux"))]
            Kind::Never(_) => {}
        }
    }
}

/// SIGKILLs the process group when armed and dropped. The group id stays valid while any
/// member lives, so killing it cannot hit an unrelated process.
struct GroupGuard {
    pgid: libc::pid_t,
    armed: bool,
}

impl GroupGuard {
    #[allow(unsafe_code)] // killpg has no safe std equivalent
    fn kill(&self) {
        // SAFETY: killpg only sends a signal; a stale or empty group yields ESRCH, ignored.
        unsafe {
            libc::killpg(self.pgid, libc::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
    }
}
