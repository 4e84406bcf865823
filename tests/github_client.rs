//! `ensure_pr` against the testbed's real git smart-HTTP server with its GitHub-style pulls
//! API (`git_http_server.py`): a bare repo with `main` and a pushed Foreman branch.

mod common;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use foreman::github::{GitHubConfig, GitHubError, PrRequest, ensure_pr};

const TOKEN: &str = "s3cret-test-token";
const BRANCH: &str = "foreman/issue-1";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Foreman Bot",
            "-c",
            "user.email=bot@example.com",
        ])
        .args(args)
        .output()
        .expect("git CLI must be installed for this test");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server process plus its temp dirs; killed (by its own pid) on drop.
struct Server {
    _server: common::GitServer,
    port: u16,
    _root: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let root = tempfile::tempdir().unwrap();
        let bare = root.path().join("acme/fleet.git");
        std::fs::create_dir_all(&bare).unwrap();
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        let work = root.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("README.md"), "hello\n").unwrap();
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "initial"]);
        git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
        git(&work, &["checkout", "-q", "-b", BRANCH]);
        std::fs::write(work.join("README.md"), "hello, world\n").unwrap();
        git(&work, &["commit", "-q", "-am", "fix: greet the world"]);
        git(&work, &["push", "-q", bare.to_str().unwrap(), BRANCH]);

        let server = common::GitServer::start(root.path(), TOKEN);
        Server {
            port: server.port,
            _server: server,
            _root: root,
        }
    }

    fn cfg(&self, prefix: &str, token: &str) -> GitHubConfig {
        GitHubConfig {
            api_base: format!("http://127.0.0.1:{}{prefix}", self.port),
            token: token.into(),
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn request(head: &str) -> PrRequest {
    PrRequest {
        owner: "acme".into(),
        repo: "fleet".into(),
        title: "fix: greet the world".into(),
        head: head.into(),
        base: "main".into(),
        body: "## What\n\n> greet\n\nFixes #1\n".into(),
        draft: false,
    }
}

#[tokio::test]
async fn creates_then_finds_the_existing_pr() {
    let s = Server::start();
    let cfg = s.cfg("", TOKEN);
    let pr = ensure_pr(&cfg, &request(BRANCH)).await.unwrap();
    assert!(pr.created);
    assert_eq!(pr.number, 1);
    assert_eq!(pr.state, "open");
    assert_eq!(pr.head_ref, BRANCH);
    assert_eq!(pr.base_ref, "main");
    assert_eq!(
        pr.html_url,
        format!("http://127.0.0.1:{}/acme/fleet/pull/1", s.port)
    );

    // Pressing "open PR" again: the server answers 422 "already exists"; we return that PR.
    let again = ensure_pr(&cfg, &request(BRANCH)).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.number, 1);
    assert_eq!(again.html_url, pr.html_url);

    // The cross-fork spelling `owner:branch` finds the same PR.
    let labelled = ensure_pr(&cfg, &request(&format!("acme:{BRANCH}")))
        .await
        .unwrap();
    assert_eq!((labelled.number, labelled.created), (1, false));
}

#[tokio::test]
async fn ghe_api_v3_layout_works() {
    let s = Server::start();
    let pr = ensure_pr(&s.cfg("/api/v3", TOKEN), &request(BRANCH))
        .await
        .unwrap();
    assert!(pr.created);
    assert_eq!(pr.head_ref, BRANCH);
}

#[tokio::test]
async fn wrong_token_is_a_clear_401_without_the_token() {
    let s = Server::start();
    let wrong = "ghp_wrong_token_value";
    let err = ensure_pr(&s.cfg("", wrong), &request(BRANCH))
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::Unauthorized { .. }), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("GITHUB_TOKEN"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn missing_branch_surfaces_the_validation_message() {
    let s = Server::start();
    let err = ensure_pr(&s.cfg("", TOKEN), &request("foreman/not-pushed"))
        .await
        .unwrap_err();
    match &err {
        GitHubError::Validation {
            status, messages, ..
        } => {
            assert_eq!(*status, 422);
            assert!(
                messages.iter().any(|m| m.contains("head: invalid")),
                "{messages:?}"
            );
        }
        other => panic!("expected Validation, got {other:?}"),
    }
    assert!(err.to_string().contains("push"), "{err}");
}

#[tokio::test]
async fn unknown_repo_is_not_found() {
    let s = Server::start();
    let mut req = request(BRANCH);
    req.repo = "nope".into();
    let err = ensure_pr(&s.cfg("", TOKEN), &req).await.unwrap_err();
    assert!(matches!(err, GitHubError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("acme/nope"), "{err}");
}

#[tokio::test]
async fn unreachable_api_asks_about_the_base_url() {
    let port = free_port(); // nothing listens here any more
    let cfg = GitHubConfig {
        api_base: format!("http://127.0.0.1:{port}"),
        token: TOKEN.into(),
    };
    let err = ensure_pr(&cfg, &request(BRANCH)).await.unwrap_err();
    assert!(matches!(err, GitHubError::Transport { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("API base URL"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}
