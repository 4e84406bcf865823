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
    push(&repo, "foreman/issue-7", Some(&token)).unwrap();

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
    let err = push(&repo, "foreman/t", Some(&wrong)).unwrap_err();
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
    let err = push(&repo, "foreman/t", Some(&token)).unwrap_err();
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
