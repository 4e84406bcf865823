//! The run's sandbox supervisor: the foreman binary itself, started once per sandbox inside
//! bubblewrap as the PID namespace's init (`--as-pid-1`), so each `bash` call costs a fork
//! and an exec instead of a whole bwrap setup (issue 9: ≤ 5 ms overhead per call).
//!
//! It reads [`wire`] frames on its stdin (a Unix socket to foreman), runs each command in its
//! own process group with the call's pipes, reports how it ended, and on `Kill` SIGKILLs every
//! other process in the namespace (`kill(-1)` from init) and reaps until none is left, so
//! nothing the model started outlives its call. As init it cannot be signalled from inside
//! (the kernel drops signals to a namespace's init that it has no handler for), it is not
//! dumpable (no ptrace, no /proc/1/mem), and it dies with foreman (`--die-with-parent`):
//! when it exits, the kernel kills the whole namespace.

use super::wire::{self, Reply};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::Stdio;

/// The hidden first argument that makes the foreman binary the supervisor.
pub const ARG: &str = "--foreman-sandbox-supervisor";

/// Call first thing in `main`: when this process was started as the supervisor, serve and
/// return its exit code; otherwise `None` (and nothing happened).
#[allow(clippy::print_stderr)] // its stderr is bwrap's, which foreman quotes on a failed start
pub fn serve_if_asked() -> Option<std::process::ExitCode> {
    if std::env::args_os().nth(1).is_none_or(|a| a != ARG) {
        return None;
    }
    // kill(-1) is only safe as a PID namespace's init: anywhere else it would hit the host.
    if std::process::id() != 1 {
        eprintln!("foreman: {ARG} is internal: it runs only inside the sandbox foreman starts");
        return Some(std::process::ExitCode::from(2));
    }
    match serve() {
        Ok(()) => Some(std::process::ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("foreman sandbox supervisor: {e}");
            Some(std::process::ExitCode::from(1))
        }
    }
}

fn serve() -> Result<(), String> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| format!("prctl: {e}"))?;
    let stdin = std::io::stdin();
    let sock = stdin.as_fd();
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.thread_block()
        .map_err(|e| format!("blocking SIGCHLD: {e}"))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;
    send(sock, Reply::Ready)?;
    let mut current: Option<Pid> = None;
    loop {
        let mut fds = [
            PollFd::new(sock, PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        let sock_ready = fds[0].any().unwrap_or(false);
        let child_ready = fds[1].any().unwrap_or(false);
        if child_ready {
            while let Ok(Some(_)) = sfd.read_signal() {}
            reap(sock, &mut current, Some(WaitPidFlag::WNOHANG))?;
        }
        if !sock_ready {
            continue;
        }
        match read_frame(sock)? {
            // foreman closed the socket: exiting as init ends everything else too.
            Frame::Eof => return Ok(()),
            Frame::Kill => {
                reap(sock, &mut current, None)?;
                send(sock, Reply::Clean)?;
            }
            Frame::Run(run, out, err) => {
                if current.is_some() {
                    send(sock, Reply::SpawnFailed(Errno::EBUSY as i32))?;
                    continue;
                }
                match spawn(run, out, err) {
                    Ok(pid) => {
                        current = Some(pid);
                        send(sock, Reply::Started)?;
                    }
                    Err(e) => send(sock, Reply::SpawnFailed(e.raw_os_error().unwrap_or(0)))?,
                }
            }
        }
    }
}

/// Reaps children; reports the current command's end. With no flags (a `Kill`): SIGKILLs
/// everything else before each wait, until no child is left; as init every process of the
/// namespace is a descendant, so none is left anywhere.
fn reap(
    sock: BorrowedFd<'_>,
    current: &mut Option<Pid>,
    flags: Option<WaitPidFlag>,
) -> Result<(), String> {
    let killing = flags.is_none();
    loop {
        if killing {
            let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        }
        let (pid, raw) = match waitpid(None::<Pid>, flags) {
            Ok(WaitStatus::Exited(pid, code)) => (pid, (code & 0xff) << 8),
            Ok(WaitStatus::Signaled(pid, sig, core)) => {
                (pid, sig as i32 | if core { 0x80 } else { 0 })
            }
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(format!("waitpid: {e}")),
        };
        if *current == Some(pid) {
            *current = None;
            send(sock, Reply::Exited(raw))?;
        }
    }
}

fn spawn(run: wire::Run, out: OwnedFd, err: OwnedFd) -> std::io::Result<Pid> {
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new(&run.program)
        .args(&run.args)
        .current_dir(&run.cwd)
        .env_clear()
        .envs(run.env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()?;
    // Not waited through `child`: `reap` collects it with every orphan.
    Ok(Pid::from_raw(child.id() as i32))
}

enum Frame {
    Eof,
    Kill,
    Run(wire::Run, OwnedFd, OwnedFd),
}

/// One frame; its file descriptors arrive with the first bytes of the length prefix.
fn read_frame(sock: BorrowedFd<'_>) -> Result<Frame, String> {
    let mut head = [0u8; 4];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 2]);
    let (n, mut fds) = {
        let mut iov = [IoSliceMut::new(&mut head)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("recvmsg: {e}"))?;
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(|e| format!("recvmsg: {e}"))? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                fds.extend(raw.into_iter().map(owned));
            }
        }
        (msg.bytes, fds)
    };
    if n == 0 {
        return Ok(Frame::Eof);
    }
    read_exact(sock, &mut head[n..])?;
    let len = u32::from_le_bytes(head) as usize;
    if len == 0 {
        return Ok(Frame::Kill);
    }
    if len > wire::MAX_FRAME {
        return Err(format!("a {len}-byte frame (at most {})", wire::MAX_FRAME));
    }
    let mut payload = vec![0u8; len];
    read_exact(sock, &mut payload)?;
    let run = wire::decode_run(&payload)?;
    match (fds.pop(), fds.pop(), fds.is_empty()) {
        (Some(err), Some(out), true) => Ok(Frame::Run(run, out, err)),
        _ => Err("a command frame without exactly two pipes".into()),
    }
}

/// Takes ownership of a descriptor `recvmsg` just installed in this process.
#[allow(unsafe_code)] // from_raw_fd is unsafe: nothing else knows about a freshly received fd
fn owned(fd: std::os::fd::RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: SCM_RIGHTS created this descriptor for us; no other owner exists.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn read_exact(sock: BorrowedFd<'_>, mut buf: &mut [u8]) -> Result<(), String> {
    while !buf.is_empty() {
        match nix::unistd::read(sock, buf) {
            Ok(0) => return Err("foreman closed the socket inside a frame".into()),
            Ok(n) => buf = &mut buf[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Ok(())
}

fn send(sock: BorrowedFd<'_>, r: Reply) -> Result<(), String> {
    let b = r.encode();
    let mut at = 0;
    while at < b.len() {
        match nix::unistd::write(sock, &b[at..]) {
            Ok(n) => at += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(())
}
