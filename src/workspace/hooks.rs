//! Running the repository's own commit hooks, like `git commit` does, inside the same
//! [`Sandbox`] as the model's `bash` (issue 9): a hook is code from the work tree or a path
//! the model may have influenced, so it gets the model's confinement (workspace writable,
//! `.git` read-only, HOME hidden, no token anywhere it can look).
//!
//! Not `git2-hooks`: it runs hooks with the parent's whole environment, and ours must be
//! scrubbed (PATH, HOME, LANG and the commit identity only) so no secret in the executor's
//! environment reaches repository-controlled code. Lookup follows git: `core.hooksPath`
//! (relative = relative to the work tree) else `$GIT_DIR/hooks`; non-executable files are
//! skipped, as git does. A hooks directory outside the workspace is made readable to it.

use super::identity::Identity;
use crate::sandbox::{Invocation, Sandbox};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const PRE_COMMIT: &str = "pre-commit";
pub const PREPARE_COMMIT_MSG: &str = "prepare-commit-msg";
pub const COMMIT_MSG: &str = "commit-msg";
pub const POST_COMMIT: &str = "post-commit";

/// Most output kept from one hook run (the tail: errors come last).
pub const OUTPUT_CAP: usize = 8 * 1024;
/// A hook that runs longer is killed (with its process group) and counts as failed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(600);

/// One finished hook run.
#[derive(Debug)]
pub struct HookRun {
    pub success: bool,
    /// Combined stdout+stderr in the order written, capped to the last [`OUTPUT_CAP`] bytes.
    pub output: String,
}

/// The hook file git would run for `name`, if present and executable.
pub fn find_hook(repo: &git2::Repository, name: &str) -> Option<PathBuf> {
    let configured = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    let dir = match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or_else(|| repo.path()).join(p),
        None => repo.path().join("hooks"),
    };
    let path = dir.join(name);
    is_executable_file(&path).then_some(path)
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Run hook `name` with `args` in `sandbox` if the repository has it; `Ok(None)` when it has
/// not. `Err` means the hook could not be started at all (the message says why).
pub fn run_hook(
    repo: &git2::Repository,
    name: &str,
    args: &[&OsStr],
    identity: &Identity,
    sandbox: &Sandbox,
) -> Result<Option<HookRun>, String> {
    let Some(path) = find_hook(repo, name) else {
        return Ok(None);
    };
    let cwd = repo.workdir().unwrap_or_else(|| repo.path());
    // A script without a shebang runs through the shell, as git does. Decided up front: the
    // exec happens inside the sandbox, where ENOEXEC cannot be seen.
    let (program, pre): (&OsStr, Vec<&OsStr>) = if is_exec_format(&path) {
        (path.as_os_str(), Vec::new())
    } else {
        (OsStr::new("/bin/sh"), vec![path.as_os_str()])
    };
    let argv: Vec<&OsStr> = pre.into_iter().chain(args.iter().copied()).collect();
    let dir = path.parent().map(Path::to_path_buf);
    let outside: Vec<PathBuf> = dir
        .filter(|d| !d.starts_with(&sandbox.policy().workspace))
        .into_iter()
        .collect();
    let env = hook_env(identity);
    let fail =
        |e: &dyn std::fmt::Display| format!("cannot run {name} hook {}: {e}", path.display());
    let cmd = sandbox
        .command(&Invocation {
            program,
            args: &argv,
            cwd,
            env: &env,
            read_only: &outside,
        })
        .map_err(|e| fail(&e))?;
    spawn_and_collect(cmd).map(Some).map_err(|e| fail(&e))
}

/// Whether the kernel can exec the file itself (a `#!` script or an ELF binary).
fn is_exec_format(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].starts_with(b"#!") || head[..n] == *b"\x7fELF"
}

/// The whole environment a hook sees: no inherited variables besides these.
fn hook_env(identity: &Identity) -> Vec<(String, String)> {
    let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
    let env: [(&str, String); 7] = [
        ("PATH", var("PATH", "/usr/local/bin:/usr/bin:/bin")),
        ("HOME", var("HOME", "/tmp")),
        ("LANG", var("LANG", "C.UTF-8")),
        ("GIT_AUTHOR_NAME", identity.name.clone()),
        ("GIT_AUTHOR_EMAIL", identity.email.clone()),
        ("GIT_COMMITTER_NAME", identity.name.clone()),
        ("GIT_COMMITTER_EMAIL", identity.email.clone()),
    ];
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn spawn_and_collect(mut cmd: Command) -> std::io::Result<HookRun> {
    use std::os::unix::process::CommandExt;
    let (mut reader, writer) = std::io::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let mut child = cmd.spawn()?;
    // Drop our copies of the pipe's write end, or the reader never sees EOF.
    drop(cmd);

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tail = Vec::new();
        let mut dropped = 0usize;
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 2 * OUTPUT_CAP {
                let cut = tail.len() - OUTPUT_CAP;
                dropped += cut;
                tail.drain(..cut);
            }
        }
        let _ = tx.send((tail, dropped));
    });

    let deadline = Instant::now() + HOOK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            kill_group(child.id());
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // A background grandchild may hold the pipe open; don't wait on it for long.
    let (mut tail, mut dropped) = rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    if tail.len() > OUTPUT_CAP {
        let cut = tail.len() - OUTPUT_CAP;
        dropped += cut;
        tail.drain(..cut);
    }
    let mut output = String::new();
    if dropped > 0 {
        output.push_str(&format!("[… {dropped} earlier bytes omitted …]\n"));
    }
    output.push_str(&String::from_utf8_lossy(&tail));
    let success = match status {
        Some(s) => s.success(),
        None => {
            output.push_str(&format!(
                "\n[hook killed after {} s timeout]",
                HOOK_TIMEOUT.as_secs()
            ));
            false
        }
    };
    Ok(HookRun { success, output })
}

#[allow(unsafe_code)] // kill(-pgid) has no safe std equivalent
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: plain syscall on the process group we created for our own child.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
