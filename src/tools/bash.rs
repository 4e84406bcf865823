//! `bash`: one `sh -c` command in the workspace, inside the [`Sandbox`] (issue 9), in its own
//! process group, with a scrubbed environment and bounded time and output.
//!
//! Differences from upstream P550, on purpose: the environment never carries the GitHub token
//! or an askpass helper (§11.6); each stream keeps its head *and* tail around an omission
//! marker (§11.7), so the error at the end of a long build log survives; and the command
//! cannot see the operator's files, other processes or (by default) the network.

use super::ToolError;
use super::ToolOutput;
use super::args::Args;
use crate::oai::ToolSpec;
use crate::sandbox::{Invocation, Sandbox, SandboxError};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

pub(crate) const NAME: &str = "bash";
/// Per-stream output cap (P550), split evenly between head and tail.
pub(crate) const STREAM_CAP: usize = 16 * 1024;
/// Parent variables a shell may see; anything else (tokens, askpass helpers, proxies with
/// credentials) is dropped.
pub(crate) const ENV_ALLOWLIST: [&str; 6] = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ"];
/// How long pipes may stay open after the shell exited (a backgrounded child holding them)
/// before the group is killed.
const PIPE_GRACE: Duration = Duration::from_secs(1);
/// After that kill, how long to keep draining before giving up on the pipes (a process that
/// left the group with `setsid` can hold them forever).
const DRAIN_AFTER_KILL: Duration = Duration::from_millis(250);

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::function(
        NAME,
        "Run a shell command with `sh -c` in the repository root and return its exit code, \
         stdout and stderr. Use it to build, run tests, list files (ls, find) and inspect git \
         state. stdin is empty; interactive programs will not work. Each call is a fresh shell \
         (cd does not persist). Long output keeps the first and last 8 KiB of each stream. \
         A command running longer than the timeout is killed (timed_out: true, exit_code -1).",
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "Shell command line, e.g. \"cargo test 2>&1 | tail -n 50\"."}
            },
            "required": ["command"],
            "additionalProperties": false
        }),
    )
}

/// A bash tool bound to one workspace and sandbox; the environment is fixed at construction.
#[derive(Clone, Debug)]
pub(crate) struct Bash {
    cwd: PathBuf,
    timeout: Duration,
    env: Vec<(String, String)>,
    sandbox: Arc<Sandbox>,
}

impl Bash {
    /// `parent_env` is the environment to filter through [`ENV_ALLOWLIST`] (the real process
    /// environment in production, a fake one in tests); `extra` is appended unfiltered (the
    /// registry has already refused secret-looking names in it).
    pub(crate) fn new(
        cwd: PathBuf,
        timeout: Duration,
        parent_env: impl IntoIterator<Item = (String, String)>,
        extra: &[(String, String)],
        sandbox: Arc<Sandbox>,
    ) -> Bash {
        let mut env: Vec<(String, String)> = parent_env
            .into_iter()
            .filter(|(k, _)| ENV_ALLOWLIST.contains(&k.as_str()))
            .collect();
        env.extend(extra.iter().cloned());
        Bash {
            cwd,
            timeout,
            env,
            sandbox,
        }
    }

    pub(crate) async fn run(&self, args: &Value) -> Result<ToolOutput, ToolError> {
        let a = Args::new(NAME, args, &["command"])?;
        let command = a.str("command")?;
        if command.trim().is_empty() {
            return Err(a.err("\"command\" must be a non-empty shell command"));
        }
        let r = self.exec(command).await.map_err(|e| a.err(e))?;
        Ok(ToolOutput::data(json!({
            "command": command,
            "exit_code": r.exit_code,
            "stdout": r.stdout,
            "stderr": r.stderr,
            "timed_out": r.timed_out,
        })))
    }

    /// This shell with another time limit (the coder gate's budget, not the model's).
    pub(crate) fn with_timeout(&self, timeout: Duration) -> Bash {
        Bash {
            timeout,
            ..self.clone()
        }
    }

    pub(crate) async fn exec(&self, command: &str) -> Result<ExecResult, String> {
        let args = [OsStr::new("-c"), OsStr::new(command)];
        let mut child = self
            .sandbox
            .spawn(&Invocation {
                program: OsStr::new("sh"),
                args: &args,
                cwd: &self.cwd,
                env: &self.env,
                read_only: &[],
            })
            .await
            .map_err(|e| match e {
                SandboxError::Unavailable(_) => e.to_string(),
                SandboxError::Setup(_) | SandboxError::Spawn(_) => format!("cannot start sh: {e}"),
            })?;
        // If this future is dropped (the loop was cancelled), dropping `child` takes down
        // everything it started.
        let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take())
        else {
            return Err("sh started without output pipes".into());
        };

        let mut out = Capped::default();
        let mut err = Capped::default();
        let (mut out_open, mut err_open) = (true, true);
        let mut obuf = vec![0u8; 32 * 1024];
        let mut ebuf = vec![0u8; 32 * 1024];
        let mut status = None;
        let mut timed_out = false;
        let mut killed = false;
        let deadline = Instant::now() + self.timeout;
        // Set when the shell has exited: pipes must close before it.
        let mut pipe_deadline: Option<Instant> = None;
        // Set after everything was killed: stop reading at it regardless.
        let mut give_up: Option<Instant> = None;
        let far = deadline + Duration::from_secs(86_400);

        while status.is_none() || out_open || err_open {
            tokio::select! {
                r = stdout.read(&mut obuf), if out_open => match r {
                    Ok(n) if n > 0 => out.push(&obuf[..n]),
                    _ => out_open = false,
                },
                r = stderr.read(&mut ebuf), if err_open => match r {
                    Ok(n) if n > 0 => err.push(&ebuf[..n]),
                    _ => err_open = false,
                },
                s = child.wait(), if status.is_none() => {
                    let s = s.map_err(|e| format!("waiting for sh: {e}"))?;
                    status = Some(s);
                    pipe_deadline = Some(Instant::now() + PIPE_GRACE);
                },
                _ = tokio::time::sleep_until(deadline), if status.is_none() && !timed_out => {
                    timed_out = true;
                    killed = true;
                    child.kill();
                },
                _ = tokio::time::sleep_until(pipe_deadline.unwrap_or(far)),
                    if pipe_deadline.is_some() && give_up.is_none() => {
                    // The shell is gone but something it started still holds the pipes.
                    if !killed {
                        killed = true;
                        child.kill();
                    }
                    give_up = Some(Instant::now() + DRAIN_AFTER_KILL);
                },
                _ = tokio::time::sleep_until(give_up.unwrap_or(far)), if give_up.is_some() => {
                    break;
                },
            }
        }
        // With the supervisor: nothing the command started is left when this returns.
        child.finish().await;

        let exit_code = match (timed_out, status) {
            (true, _) | (false, None) => -1,
            (false, Some(s)) => exit_code(s),
        };
        Ok(ExecResult {
            exit_code,
            stdout: out.finish(),
            stderr: err.finish(),
            timed_out,
        })
    }
}

/// One finished command: what `bash` returns to the model, and what the coder gate records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecResult {
    /// -1 when it timed out.
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// The exit status, or 128 + signal number when a signal ended the shell (shell convention).
fn exit_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code()
        .or_else(|| s.signal().map(|sig| 128 + sig))
        .unwrap_or(-1)
}

/// One output stream, bounded: the first `STREAM_CAP / 2` bytes and the last `STREAM_CAP / 2`
/// bytes, with a count of what was dropped in between.
#[derive(Default)]
struct Capped {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: usize,
}

impl Capped {
    const HALF: usize = STREAM_CAP / 2;

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len();
        let room = Self::HALF - self.head.len();
        if room > 0 {
            let take = room.min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.len() >= Self::HALF {
            self.tail.clear();
            self.tail.extend(&data[data.len() - Self::HALF..]);
            return;
        }
        let overflow = (self.tail.len() + data.len()).saturating_sub(Self::HALF);
        self.tail.drain(..overflow);
        self.tail.extend(data);
    }

    fn finish(self) -> String {
        let kept = self.head.len() + self.tail.len();
        let mut bytes = self.head;
        if self.total > kept {
            let omitted = self.total - kept;
            bytes.extend_from_slice(format!("\n... [{omitted} bytes omitted] ...\n").as_bytes());
        }
        bytes.extend(self.tail);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant as StdInstant;

    fn bash_with(env: Vec<(String, String)>, timeout: Duration) -> (tempfile::TempDir, Bash) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let b = Bash::new(
            tmp.path().to_path_buf(),
            timeout,
            env,
            &[],
            sandbox(tmp.path()),
        );
        (tmp, b)
    }

    fn sandbox(dir: &std::path::Path) -> Arc<Sandbox> {
        Arc::new(Sandbox::new(crate::sandbox::Policy::new(dir)))
    }

    /// Host processes whose command line contains `marker` (the sandbox's PIDs are its own,
    /// so a PID printed inside means nothing outside).
    fn running(marker: &str) -> usize {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return 0;
        };
        rd.flatten()
            .filter(|e| {
                let p = e.path();
                let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
                let zombie = std::fs::read_to_string(p.join("stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit(')')
                            .next()
                            .map(|r| r.trim_start().starts_with('Z'))
                    })
                    .unwrap_or(true);
                !zombie && String::from_utf8_lossy(&cmd).contains(marker)
            })
            .count()
    }

    fn path_env() -> Vec<(String, String)> {
        vec![(
            "PATH".into(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        )]
    }

    async fn sh(b: &Bash, cmd: &str) -> Value {
        b.run(&json!({ "command": cmd })).await.expect("run").output
    }

    #[test]
    fn capped_keeps_head_and_tail() {
        let mut c = Capped::default();
        c.push(b"hello");
        assert_eq!(c.finish(), "hello");

        let mut c = Capped::default();
        let data: Vec<u8> = (0..STREAM_CAP).map(|i| b'a' + (i % 26) as u8).collect();
        c.push(&data);
        assert_eq!(
            c.finish().as_bytes(),
            &data[..],
            "exactly the cap is kept whole"
        );

        let mut c = Capped::default();
        let data: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        for chunk in data.chunks(777) {
            c.push(chunk);
        }
        let s = c.finish();
        let marker = format!("\n... [{} bytes omitted] ...\n", 100_000 - STREAM_CAP);
        let expect = [
            &data[..Capped::HALF],
            marker.as_bytes(),
            &data[100_000 - Capped::HALF..],
        ]
        .concat();
        assert_eq!(s.as_bytes(), &expect[..]);
    }

    #[tokio::test]
    async fn exit_codes_and_streams_are_data() {
        let (tmp, b) = bash_with(path_env(), Duration::from_secs(10));
        let out = sh(&b, "echo out; echo err >&2; exit 3").await;
        assert_eq!(
            out,
            json!({"command": "echo out; echo err >&2; exit 3", "exit_code": 3,
                   "stdout": "out\n", "stderr": "err\n", "timed_out": false})
        );
        let out = sh(&b, "pwd").await;
        let pwd = std::fs::canonicalize(tmp.path()).expect("canon");
        assert_eq!(out["stdout"], format!("{}\n", pwd.display()));
        let out = sh(&b, "read x; echo \"[$x]\"").await;
        assert_eq!(out["stdout"], "[]\n", "stdin is /dev/null");
        let out = sh(&b, "kill -9 $$").await;
        assert_eq!(out["exit_code"], 137);
    }

    #[tokio::test]
    async fn bad_arguments_are_errors() {
        let (_t, b) = bash_with(path_env(), Duration::from_secs(10));
        let e = |v: Value| {
            let b = b.clone();
            async move { b.run(&v).await.err().map(|e| e.0).unwrap_or_default() }
        };
        assert_eq!(
            e(json!({"command": "  "})).await,
            "bash: \"command\" must be a non-empty shell command"
        );
        assert_eq!(
            e(json!({})).await,
            "bash: missing required argument \"command\" (string)"
        );
        assert_eq!(
            e(json!({"command": ["ls"]})).await,
            "bash: \"command\" must be a string, got an array"
        );
    }

    #[tokio::test]
    async fn spawn_failure_is_an_error() {
        let b = Bash::new(
            PathBuf::from("/nonexistent/dir/for/test"),
            Duration::from_secs(5),
            path_env(),
            &[],
            sandbox(std::path::Path::new("/nonexistent/dir/for/test")),
        );
        let e = b.run(&json!({"command": "true"})).await.err().map(|e| e.0);
        assert!(e.is_some_and(|m| m.starts_with("bash: cannot start sh")));
    }

    #[tokio::test]
    async fn environment_is_scrubbed_to_the_allowlist_plus_extra() {
        let mut parent = path_env();
        for (k, v) in [
            ("GITHUB_TOKEN", "ghp_SECRETMARKER"),
            ("GIT_ASKPASS", "/bin/askpass-marker"),
            ("AWS_SECRET_ACCESS_KEY", "aws-marker"),
            ("HOME", "/home/marker"),
            ("LANG", "C.UTF-8"),
        ] {
            parent.push((k.into(), v.into()));
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let extra = [("GIT_AUTHOR_NAME".to_string(), "Foreman Bot".to_string())];
        let b = Bash::new(
            tmp.path().to_path_buf(),
            Duration::from_secs(10),
            parent,
            &extra,
            sandbox(tmp.path()),
        );
        let out = sh(&b, "env").await;
        let env = out["stdout"].as_str().unwrap_or("");
        assert!(!env.contains("MARKER") && !env.contains("marker-"), "{env}");
        assert!(
            !env.contains("GITHUB_TOKEN") && !env.contains("ASKPASS"),
            "{env}"
        );
        assert!(!env.contains("aws-marker"), "{env}");
        assert!(env.contains("HOME=/home/marker"));
        assert!(env.contains("LANG=C.UTF-8"));
        assert!(env.contains("GIT_AUTHOR_NAME=Foreman Bot"));
        // Nothing beyond the allowlist, the extra var and what sh itself sets.
        for line in env.lines() {
            let key = line.split('=').next().unwrap_or("");
            assert!(
                ENV_ALLOWLIST.contains(&key)
                    || ["GIT_AUTHOR_NAME", "PWD", "SHLVL", "_", "OLDPWD"].contains(&key),
                "unexpected variable {key}"
            );
        }
    }

    #[tokio::test]
    async fn extra_env_overrides_the_parent() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut parent = path_env();
        parent.push(("HOME".into(), "/home/real".into()));
        let extra = [("HOME".to_string(), "/scratch/home".to_string())];
        let b = Bash::new(
            tmp.path().to_path_buf(),
            Duration::from_secs(10),
            parent,
            &extra,
            sandbox(tmp.path()),
        );
        assert_eq!(sh(&b, "echo $HOME").await["stdout"], "/scratch/home\n");
    }

    #[tokio::test]
    async fn backgrounded_child_holding_pipes_does_not_hang() {
        let (_t, b) = bash_with(path_env(), Duration::from_secs(20));
        let start = StdInstant::now();
        let out = sh(&b, "sleep 30 & echo started").await;
        let took = start.elapsed();
        assert!(took < Duration::from_secs(4), "took {took:?}");
        assert_eq!(out["stdout"], "started\n");
        assert_eq!(out["exit_code"], 0);
        assert_eq!(out["timed_out"], false);
    }

    #[tokio::test]
    async fn huge_output_is_capped_head_and_tail() {
        let (_t, b) = bash_with(path_env(), Duration::from_secs(30));
        // 10 MB of numbered lines on stdout, a short line on stderr.
        let out = sh(
            &b,
            "yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c 10000000; echo; echo LAST-LINE; echo e >&2",
        )
        .await;
        let s = out["stdout"].as_str().unwrap_or("");
        assert!(s.len() < STREAM_CAP + 100, "len {}", s.len());
        assert!(s.starts_with("0123456789abcdef"));
        assert!(s.ends_with("LAST-LINE\n"), "tail kept");
        let omitted = 10_000_000 + 1 + 10 - STREAM_CAP;
        assert!(
            s.contains(&format!("\n... [{omitted} bytes omitted] ...\n")),
            "marker"
        );
        assert_eq!(out["stderr"], "e\n");
        assert_eq!(out["exit_code"], 0);
    }

    #[tokio::test]
    async fn timeout_kills_everything_the_command_started() {
        let (_tmp, b) = bash_with(path_env(), Duration::from_millis(700));
        let marker = format!("60.{}", std::process::id());
        let start = StdInstant::now();
        let out = sh(
            &b,
            &format!("sleep {marker} & setsid sleep {marker} & echo before; wait"),
        )
        .await;
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(out["timed_out"], true);
        assert_eq!(out["exit_code"], -1);
        assert_eq!(out["stdout"], "before\n");
        // Even the child that left the process group with setsid must be gone shortly after.
        let until = StdInstant::now() + Duration::from_secs(3);
        while running(&marker) > 0 && StdInstant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(running(&marker), 0, "a sleep {marker} survived the timeout");
    }

    #[tokio::test]
    async fn background_children_are_gone_when_the_call_returns() {
        let (_tmp, b) = bash_with(path_env(), Duration::from_secs(20));
        let marker = format!("61.{}", std::process::id());
        let out = sh(&b, &format!("setsid sleep {marker} & sleep 0.2; echo up")).await;
        assert_eq!(out["stdout"], "up\n");
        let until = StdInstant::now() + Duration::from_secs(3);
        while running(&marker) > 0 && StdInstant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(running(&marker), 0, "a sleep {marker} outlived the call");
    }

    #[tokio::test]
    async fn an_unconfined_bash_is_only_what_the_operator_asked_for() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut policy = crate::sandbox::Policy::new(tmp.path());
        policy.mode = crate::sandbox::Mode::Off;
        let b = Bash::new(
            tmp.path().to_path_buf(),
            Duration::from_secs(10),
            path_env(),
            &[],
            Arc::new(Sandbox::new(policy)),
        );
        // Off means the host: the operator's real processes are visible again.
        let out = sh(
            &b,
            &format!("test -d /proc/{} && echo host", std::process::id()),
        )
        .await;
        assert_eq!(out["stdout"], "host\n");
        let (_t, confined) = bash_with(path_env(), Duration::from_secs(10));
        let out = sh(
            &confined,
            &format!("test -d /proc/{} || echo own-pids", std::process::id()),
        )
        .await;
        assert_eq!(out["stdout"], "own-pids\n");
    }
}
