//! foreman's side of a sandbox supervisor ([`super::supervisor`]): one bwrap per sandbox,
//! started on the first command and kept for the next, so a `bash` call pays a fork and an
//! exec, not a whole bwrap setup. The socket is registered with the calling runtime only for
//! the length of a call ([`Link`]), so a session outlives the runtime that started it.

use super::wire::{self, Reply};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::Interest;

/// How long the supervisor may take to start (bwrap's setup, exec of foreman).
const READY_WITHIN: Duration = Duration::from_secs(10);

/// One running supervisor. Dropping it SIGKILLs bwrap, which takes the namespace down.
pub(crate) struct Session {
    bwrap: std::process::Child,
    ctl: UnixStream,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.bwrap.kill();
        let _ = self.bwrap.wait();
    }
}

impl Session {
    /// Starts bwrap (`cmd`, already carrying the policy and the supervisor) and waits until
    /// the supervisor says it is ready; the error quotes what bwrap printed.
    pub(crate) async fn start(mut cmd: std::process::Command) -> Result<Session, String> {
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        cmd.stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawned = cmd.spawn();
        // The Command holds our copy of the supervisor's end: close it, or EOF never comes.
        drop(cmd);
        let mut bwrap = spawned.map_err(|e| format!("cannot run bwrap: {e}"))?;
        let stderr = bwrap.stderr.take();
        ours.set_nonblocking(true)
            .map_err(|e| format!("socket: {e}"))?;
        let session = Session { bwrap, ctl: ours };
        let ready = match Link::new(&session) {
            Ok(mut link) => tokio::time::timeout(READY_WITHIN, link.reply()).await,
            Err(e) => Ok(Err(e)),
        };
        match ready {
            Ok(Ok(Reply::Ready)) => Ok(session),
            other => {
                drop(session);
                let said = stderr
                    .map(|mut s| {
                        let mut t = String::new();
                        let _ = std::io::Read::read_to_string(&mut s, &mut t);
                        t.trim().to_string()
                    })
                    .unwrap_or_default();
                let why = match other {
                    Err(_) => format!("no answer within {}s", READY_WITHIN.as_secs()),
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(r)) => format!("unexpected {r:?}"),
                };
                Err(format!(
                    "the sandbox supervisor did not start ({why}): {said}"
                ))
            }
        }
    }

    /// Whether bwrap (so the supervisor) is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.bwrap.try_wait(), Ok(None))
    }
}

/// The session's socket registered with the current runtime for one call.
pub(crate) struct Link {
    s: tokio::net::UnixStream,
    buf: Vec<u8>,
}

impl Link {
    pub(crate) fn new(session: &Session) -> io::Result<Link> {
        let s = tokio::net::UnixStream::from_std(session.ctl.try_clone()?)?;
        Ok(Link {
            s,
            buf: Vec::with_capacity(wire::REPLY_LEN * 2),
        })
    }

    /// The next reply. Cancel-safe: a partly read reply is kept for the next call.
    pub(crate) async fn reply(&mut self) -> io::Result<Reply> {
        loop {
            if self.buf.len() >= wire::REPLY_LEN {
                let mut b = [0u8; wire::REPLY_LEN];
                b.copy_from_slice(&self.buf[..wire::REPLY_LEN]);
                self.buf.drain(..wire::REPLY_LEN);
                return Reply::decode(b).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "the supervisor sent garbage")
                });
            }
            self.s.readable().await?;
            let mut tmp = [0u8; 64];
            match self.s.try_read(&mut tmp) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the sandbox supervisor ended",
                    ));
                }
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends a `Run` frame with the call's stdout and stderr write ends.
    pub(crate) async fn send_run(
        &self,
        frame: &[u8],
        out: &OwnedFd,
        err: &OwnedFd,
    ) -> io::Result<()> {
        let fds = [out.as_raw_fd(), err.as_raw_fd()];
        let sent = self
            .s
            .async_io(Interest::WRITABLE, || {
                sendmsg::<()>(
                    self.s.as_raw_fd(),
                    &[IoSlice::new(frame)],
                    &[ControlMessage::ScmRights(&fds)],
                    MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_err(io::Error::from)
            })
            .await?;
        let mut rest = &frame[sent..];
        while !rest.is_empty() {
            self.s.writable().await?;
            match self.s.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends `Kill` without waiting; false when it could not be sent whole.
    pub(crate) fn try_kill(&self) -> bool {
        matches!(self.s.try_write(&wire::KILL), Ok(n) if n == wire::KILL.len())
    }
}
