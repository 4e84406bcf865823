//! The real `foreman` console in a pseudo-terminal, as an operator's terminal runs it: the
//! child gets the pty as its controlling terminal (own session) at a fixed size, and the test
//! reads what it draws from the master side. Benches include this file with `#[path]`, so it
//! names only std and libc.
#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child on a pty; what it writes arrives on `output` (read by a thread, so a child that
/// floods the pty never blocks on a full buffer).
pub struct PtyChild {
    pub child: Child,
    pub master: File,
    output: mpsc::Receiver<Vec<u8>>,
    /// Everything read so far.
    pub seen: Vec<u8>,
}

/// Opens a pty of `cols`x`rows`.
#[allow(unsafe_code)] // openpty(3) has no safe std equivalent
fn open_pty(cols: u16, rows: u16) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into the given ints; name and termios may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just opened by openpty and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

/// Starts `cmd` with the pty's slave side as stdin, stdout, stderr and controlling terminal.
#[allow(unsafe_code)] // setsid(2) and TIOCSCTTY in the child before exec
pub fn spawn(cmd: &mut Command, cols: u16, rows: u16) -> std::io::Result<PtyChild> {
    let (master, slave) = open_pty(cols, rows)?;
    cmd.stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let master = File::from(master);
    let mut reader = master.try_clone()?;
    let (tx, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    Ok(PtyChild {
        child,
        master,
        output,
        seen: Vec::new(),
    })
}

impl PtyChild {
    /// Waits until everything read contains `needle`; returns when it was read, or None after
    /// `timeout` (or when the child closed the pty).
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let needle = needle.as_bytes();
        loop {
            if contains(&self.seen, needle) {
                return Some(Instant::now());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.seen.extend_from_slice(&chunk),
                Err(_) => return None,
            }
        }
    }

    /// Everything read so far (and what is waiting to be read), as text.
    pub fn output(&mut self) -> String {
        while let Ok(chunk) = self.output.try_recv() {
            self.seen.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Types `bytes` as the operator would.
    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let _ = self.master.write_all(bytes);
        let _ = self.master.flush();
    }

    /// The child's peak resident memory (VmHWM) in MiB, while it runs.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = s
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
