#![cfg(feature = "e2e")]
//! Contract test: the pull-request request `ensure_pr` sends is validated by Prism against
//! GitHub's official OpenAPI description (`@octokit/openapi`). A valid request gets 201; a
//! malformed one sent through the same client plumbing gets 422, proving Prism really checks.
//!
//! Needs the Prism install (see the message in `prism_dir`); ~40 s to start.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use foreman::github::{GitHubClient, GitHubConfig, GitHubError, IssueQuery, PrRequest, ensure_pr};

const SPEC: &str = "node_modules/@octokit/openapi/generated/api.github.com.json";

fn prism_dir() -> PathBuf {
    let dir = std::env::var_os("FOREMAN_PRISM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME must be set");
            PathBuf::from(home).join(".cache/foreman-peers/prism")
        });
    let cli = dir.join("node_modules/@stoplight/prism-cli");
    assert!(
        cli.exists() && dir.join(SPEC).exists(),
        "Prism or GitHub's OpenAPI description is not installed in {d}. Install it with:\n  \
         mkdir -p {d} && cd {d} && npm install --no-audit --no-fund \
         @stoplight/prism-cli@5 @octokit/openapi@23\n(or set FOREMAN_PRISM_DIR to an existing \
         install)",
        d = dir.display()
    );
    dir
}

/// `npx prism mock` in its own process group, so the npm → sh → node tree is ended by
/// that group's id on drop.
struct Prism {
    child: Child,
    port: u16,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        common::signal(-pgid, libc::SIGTERM);
        std::thread::sleep(Duration::from_millis(300));
        common::signal(-pgid, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn start_prism() -> Prism {
    use std::os::unix::process::CommandExt;
    let dir = prism_dir();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("npx")
        .current_dir(&dir)
        .args(["--no-install", "prism", "mock", "-h", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .arg(SPEC)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("npx not found: install Node.js/npm to run the GitHub contract test");
    let stdout = child.stdout.take().unwrap();
    let prism = Prism { child, port };
    let (tx, rx) = mpsc::channel();
    // Keep draining Prism's chatty log, or it blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Prism is listening") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(180))
        .expect("Prism did not print \"Prism is listening\" within 180 s");
    prism
}

#[tokio::test]
async fn pull_request_matches_githubs_openapi_description() {
    let prism = start_prism();
    let cfg = GitHubConfig {
        api_base: format!("http://127.0.0.1:{}", prism.port),
        token: "ghp_contract_test".into(),
    };
    let req = PrRequest {
        owner: "Defilan".into(),
        repo: "LLMKube".into(),
        title: "fix(docs): correct typo".into(),
        head: "Defilan:foreman/issue-42".into(),
        base: "main".into(),
        body: "## What\n\n> fixed\n\nFixes #42\n".into(),
        draft: false,
    };

    // The real call: Prism validates path, headers and body, then answers its 201 example.
    let pr = ensure_pr(&cfg, &req)
        .await
        .expect("Prism rejected ensure_pr's request");
    assert!(pr.created);
    assert!(
        pr.number > 0 && pr.html_url.starts_with("https://"),
        "{pr:?}"
    );

    let client = GitHubClient::new(cfg).unwrap();
    let same = client
        .post_pulls_raw(&req.owner, &req.repo, &req.to_json())
        .await
        .unwrap();
    assert_eq!(same.status, 201, "{:?}", same.body);

    // Same plumbing, malformed bodies: Prism must refuse them.
    let mut no_head = req.to_json();
    no_head.as_object_mut().unwrap().remove("head");
    let r = client
        .post_pulls_raw(&req.owner, &req.repo, &no_head)
        .await
        .unwrap();
    assert_eq!(r.status, 422, "missing head accepted: {:?}", r.body);

    let mut bad_draft = req.to_json();
    bad_draft["draft"] = serde_json::json!("yes");
    let r = client
        .post_pulls_raw(&req.owner, &req.repo, &bad_draft)
        .await
        .unwrap();
    assert_eq!(r.status, 422, "string draft accepted: {:?}", r.body);
}

/// The issues requests (list with labels and paging, get one) validated by Prism: its 200
/// answer carries GitHub's `Link` example (next page 2) and an example issue that is a pull
/// request (it has `pull_request`), which the client leaves out; 404 and 422 (asked for with
/// Prism's `Prefer: code=`) become the messages that say what to do.
#[tokio::test]
async fn issues_requests_match_githubs_openapi_description() {
    let prism = start_prism();
    let cfg = GitHubConfig {
        api_base: format!("http://127.0.0.1:{}", prism.port),
        token: "ghp_contract_test".into(),
    };
    let client = GitHubClient::new(cfg).unwrap();
    let mut q = IssueQuery::new("defilantech", "LLMKube");
    q.labels = vec!["good first issue".into(), "bug".into()];
    q.per_page = 50;
    let page = client
        .list_issues(&q)
        .await
        .expect("Prism rejected list_issues' request");
    assert_eq!(page.next_page, Some(2), "{page:?}");
    assert!(
        page.issues.is_empty(),
        "the example is a pull request: {page:?}"
    );
    // The example parses (else BadResponse); being a pull request, it is not an issue.
    let e = client
        .get_issue("defilantech", "LLMKube", 1347)
        .await
        .unwrap_err();
    // Prism accepted the request (a request that breaks the contract is answered 4xx, which
    // would be another error). What it serves for this operation varies with its example
    // choice: the pull-request example (refused as not an issue) or a body without the
    // fields an issue needs (a clear BadResponse); either way nothing is taken as an issue.
    assert!(
        matches!(
            e,
            GitHubError::IssueNotFound { status: 200, .. } | GitHubError::BadResponse { .. }
        ),
        "{e}"
    );

    let with = |code: &str| {
        client
            .clone()
            .with_header("Prefer", &format!("code={code}"))
    };
    let e = with("404").list_issues(&q).await.unwrap_err();
    assert!(matches!(e, GitHubError::NotFound { .. }), "{e}");
    let e = with("404")
        .get_issue("defilantech", "LLMKube", 7)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GitHubError::IssueNotFound { status: 404, .. }),
        "{e}"
    );
    let e = with("422").list_issues(&q).await.unwrap_err();
    assert!(matches!(e, GitHubError::BadIssueQuery { .. }), "{e}");
    assert!(e.to_string().contains("check the labels"), "{e}");
}
