//! Shared fixtures for integration tests: manifests, local git remotes, the commit identity
//! and the scripted model's README fix.
#![allow(dead_code)]

pub mod cluster_ui;
pub mod k8s;
pub mod local;
pub mod pty;
pub mod scripted_oai;
pub mod ui;

use foreman::api::{Agent, AgenticTask, Object, load_str};
use foreman::workspace::{CommitError, CommitOutcome, CommitRequest, commit_all};
pub use local::bot;
use scripted_oai::Reply;
use std::path::{Path, PathBuf};
use std::process::Command;

/// git CLI isolated from the machine's config, for seeding and inspecting remotes.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Seeder")
        .env("GIT_AUTHOR_EMAIL", "seed@example.com")
        .env("GIT_COMMITTER_NAME", "Seeder")
        .env("GIT_COMMITTER_EMAIL", "seed@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository at `<root>/<rel>` seeded with `files` on `main`.
pub fn seed_bare(root: &Path, rel: &str, files: &[(&str, &str)]) -> PathBuf {
    let bare = root.join(rel);
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        root,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let work = root.join(format!("seed-{}", rel.replace('/', "-")));
    git(root, &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    for (name, body) in files {
        let p = work.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "initial"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

/// A temp dir holding `acme/fleet.git`, whose README has the typo [`fix_readme`] fixes.
pub struct FleetRepo {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub bare: PathBuf,
}

pub fn fleet_repo() -> FleetRepo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let bare = seed_bare(
        &root,
        "acme/fleet.git",
        &[("README.md", "# Fleet\nteh fleet\n")],
    );
    FleetRepo {
        _dir: dir,
        root,
        bare,
    }
}

/// The model's edit of the fleet README: `teh` → `the`.
pub fn fix_readme() -> Reply {
    Reply::tool_call(
        "str_replace",
        r#"{"path":"README.md","old_string":"teh","new_string":"the"}"#,
    )
}

/// The model's `submit_result` with `verdict` and `commit_message` (summary "fixed the typo").
pub fn submit_result(verdict: &str, commit_message: &str) -> Reply {
    Reply::tool_call(
        "submit_result",
        serde_json::json!({"verdict": verdict, "summary": "fixed the typo", "commit_message": commit_message})
            .to_string(),
    )
}

/// A whole good run: [`fix_readme`], then GO with `commit_message`.
pub fn fix_then_go(commit_message: &str) -> Vec<Reply> {
    vec![fix_readme(), submit_result("GO", commit_message)]
}

/// The model's answer to a request for changes on the fleet README: a line below the fixed
/// one (`write_file`), then GO "docs: point to CONTRIBUTING".
pub fn answer_feedback() -> Vec<Reply> {
    vec![
        Reply::tool_call(
            "write_file",
            serde_json::json!({"path": "README.md", "content": "# Fleet\nthe fleet\nSee CONTRIBUTING.\n"})
                .to_string(),
        ),
        submit_result("GO", "docs: point to CONTRIBUTING"),
    ]
}

/// Two attempts of the fleet task, two turns each: the typo fixed and GO "docs: fix typo",
/// then [`answer_feedback`].
pub fn two_attempts() -> Vec<Reply> {
    let mut replies = fix_then_go("docs: fix typo");
    replies.extend(answer_feedback());
    replies
}

/// Commits everything in `repo` as [`bot`].
pub fn commit(
    repo: &git2::Repository,
    message: &str,
    fixes: Option<i32>,
) -> Result<CommitOutcome, CommitError> {
    commit_all(
        repo,
        &CommitRequest {
            identity: &bot(),
            message,
            fixes_issue: fixes,
        },
    )
}

/// An executable `#!/bin/sh` hook `dir/name` running `body`.
pub fn write_hook(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn task(yaml_spec: &str) -> AgenticTask {
    let text = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: fix-1, namespace: default}}\nspec:\n{yaml_spec}"
    );
    match load_str("task", &text).unwrap().remove(0) {
        Object::Task(t) => *t,
        other => panic!("not a task: {other:?}"),
    }
}

pub fn issue_task() -> AgenticTask {
    task(
        "  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}\n",
    )
}

pub fn agent(extra: &str) -> Agent {
    let text = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: coder}}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n{extra}"
    );
    match load_str("agent", &text).unwrap().remove(0) {
        Object::Agent(a) => *a,
        other => panic!("not an agent: {other:?}"),
    }
}

pub fn file_agent(path: &Path) -> Agent {
    match foreman::api::load_file(path).unwrap().remove(0) {
        Object::Agent(a) => *a,
        other => panic!("not an agent: {other:?}"),
    }
}

/// Where the peers live: `FOREMAN_TESTBED` (scripts/test sets it), else the repository's own
/// copies in scripts/peers.
pub fn testbed() -> PathBuf {
    std::env::var_os("FOREMAN_TESTBED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers"))
}

/// A running `git_http_server.py` (smart HTTP + pulls API, token auth) on a free loopback
/// port, serving `<root>/<owner>/<repo>.git`; killed on drop.
pub struct GitServer {
    child: std::process::Child,
    pub port: u16,
}

impl GitServer {
    pub fn start(root: &Path, token: &str) -> GitServer {
        Self::start_logged(root, token, None)
    }

    /// As `start`, with the server's request log (stderr) written to `log`.
    pub fn start_logged(root: &Path, token: &str, log: Option<&Path>) -> GitServer {
        Self::start_with(root, token, log, 0)
    }

    /// As `start`, with every git request answered `delay_ms` late: a slow remote.
    pub fn start_slow(root: &Path, token: &str, delay_ms: u64) -> GitServer {
        Self::start_with(root, token, None, delay_ms)
    }

    fn start_with(root: &Path, token: &str, log: Option<&Path>, delay_ms: u64) -> GitServer {
        let script = testbed().join("git_http_server.py");
        assert!(
            script.exists(),
            "{} not found: set FOREMAN_TESTBED to the folder holding git_http_server.py",
            script.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(root)
            .arg(port.to_string())
            .arg(token)
            .env("GIT_PEER_DELAY_MS", delay_ms.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(match log {
                Some(p) => std::process::Stdio::from(std::fs::File::create(p).expect("log file")),
                None => std::process::Stdio::null(),
            })
            .spawn()
            .expect("python3 runs git_http_server.py");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return GitServer { child, port };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("git_http_server.py exited early ({status})");
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("git_http_server.py not ready on :{port} within 10 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}.git", self.port)
    }

    pub fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `sig` to `pid` (a negative pid is a process group); false when there is no such
/// process.
#[allow(unsafe_code)] // kill(2) has no safe std equivalent
pub fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill only sends a signal; a missing process yields ESRCH.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Makes this test process's sandboxes use the foreman binary as their supervisor, as the
/// foreman binary does for itself at startup (one bwrap per sandbox, not one per command).
pub fn supervised() {
    foreman::sandbox::use_supervisor(PathBuf::from(env!("CARGO_BIN_EXE_foreman")));
}

/// Host processes (not zombies) whose command line contains `marker`.
#[allow(dead_code)]
pub fn running(marker: &str) -> usize {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            let p = e.path();
            let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
            let live = std::fs::read_to_string(p.join("stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit(')')
                        .next()
                        .map(|r| !r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false);
            live && String::from_utf8_lossy(&cmd).contains(marker)
        })
        .count()
}
