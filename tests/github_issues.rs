//! The issues client against the testbed's git/API server (`git_http_server.py`'s issues
//! endpoint): paging through the `Link` header, the labels filter, pull requests left out,
//! a GHE base, and 401/404/422 turned into messages that say what to do.

mod common;

use foreman::github::{GitHubClient, GitHubConfig, GitHubError, IssueQuery};

const TOKEN: &str = "s3cret-issues-token";

struct Server {
    server: common::GitServer,
    _root: tempfile::TempDir,
    log: std::path::PathBuf,
}

fn start() -> Server {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("acme")).unwrap();
    let issues = serde_json::json!([
        {"number": 1, "title": "Fix the greeting", "body": "It says Helo.", "labels": ["good first issue"], "state": "open"},
        {"number": 2, "title": "Add tests", "body": null, "labels": ["tests"], "state": "open"},
        {"number": 3, "title": "Old bug", "body": "gone", "labels": ["good first issue"], "state": "closed"},
        {"number": 4, "title": "Bump deps", "body": "cargo update", "labels": ["good first issue", "deps"], "state": "open"},
        {"number": 5, "title": "A pull request", "body": "", "labels": [], "state": "open",
         "pull_request": {"url": "http://x/pulls/5"}},
        {"number": 6, "title": "Docs typo", "body": "teh", "labels": [], "state": "open"}
    ]);
    std::fs::write(
        root.path().join("acme/fleet.issues.json"),
        issues.to_string(),
    )
    .unwrap();
    let log = root.path().join("server.log");
    let server = common::GitServer::start_logged(root.path(), TOKEN, Some(&log));
    Server {
        server,
        _root: root,
        log,
    }
}

fn client(s: &Server, base: &str, token: &str) -> GitHubClient {
    GitHubClient::new(GitHubConfig {
        api_base: format!("http://127.0.0.1:{}{base}", s.server.port),
        token: token.into(),
    })
    .unwrap()
}

#[tokio::test]
async fn pages_follow_the_link_header_and_pull_requests_are_left_out() {
    let s = start();
    // A GHE-style base (`/api/v3`) is kept on every request, the next-page links too.
    let c = client(&s, "/api/v3", TOKEN);
    let mut q = IssueQuery::new("acme", "fleet");
    q.per_page = 2;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = c.list_issues(&q).await.unwrap();
        pages += 1;
        seen.extend(page.issues.iter().map(|i| i.number));
        match page.next_page {
            Some(n) => q.page = n,
            None => break,
        }
    }
    // Open items 6, 5 (a PR), 4, 2, 1: three pages of two, the PR dropped from its page.
    assert_eq!(pages, 3);
    assert_eq!(seen, vec![6, 4, 2, 1]);

    let mut labelled = IssueQuery::new("acme", "fleet");
    labelled.labels = vec!["good first issue".into()];
    let page = c.list_issues(&labelled).await.unwrap();
    let got: Vec<u64> = page.issues.iter().map(|i| i.number).collect();
    assert_eq!(got, vec![4, 1]);
    assert_eq!(page.next_page, None);
    assert!(page.issues[1].matches("helo") && !page.issues[0].matches("helo"));
    labelled.labels.push("deps".into());
    let both = c.list_issues(&labelled).await.unwrap();
    assert_eq!(both.issues.len(), 1);
    assert_eq!(both.issues[0].labels, vec!["good first issue", "deps"]);

    let one = c.get_issue("acme", "fleet", 1).await.unwrap();
    assert_eq!(one.prompt(), "Fix the greeting\n\nIt says Helo.");
    assert!(one.html_url.ends_with("/acme/fleet/issues/1"), "{one:?}");
    let no_body = c.get_issue("acme", "fleet", 2).await.unwrap();
    assert_eq!(no_body.body, "");

    // The token went only in the Authorization header: never in a logged request line.
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(log.contains("/api/v3/repos/acme/fleet/issues"), "{log}");
    assert!(!log.contains(TOKEN), "{log}");
}

#[tokio::test]
async fn errors_say_what_to_do() {
    let s = start();
    let c = client(&s, "", TOKEN);
    let e = client(&s, "", "wrong")
        .list_issues(&IssueQuery::new("acme", "fleet"))
        .await
        .unwrap_err();
    assert!(matches!(e, GitHubError::Unauthorized { .. }), "{e}");
    assert!(e.to_string().contains("GITHUB_TOKEN"), "{e}");

    let e = c
        .list_issues(&IssueQuery::new("acme", "nope"))
        .await
        .unwrap_err();
    assert!(matches!(e, GitHubError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("acme/nope"), "{e}");

    let mut bad = IssueQuery::new("acme", "fleet");
    bad.per_page = 500;
    let e = c.list_issues(&bad).await.unwrap_err();
    assert!(matches!(e, GitHubError::BadIssueQuery { .. }), "{e}");
    assert!(
        e.to_string().contains("HTTP 422") && e.to_string().contains("labels"),
        "{e}"
    );

    for n in [5, 99] {
        let e = c.get_issue("acme", "fleet", n).await.unwrap_err();
        assert!(
            matches!(e, GitHubError::IssueNotFound { number, .. } if number == n),
            "{e}"
        );
        assert!(
            e.to_string().contains(&format!("#{n} of acme/fleet")),
            "{e}"
        );
    }
    assert!(!format!("{:?}", c).contains(TOKEN));
}

/// `foreman dispatch` into the local state: one task per issue, named and labelled as
/// upstream's dispatch, the issue's title and body as the prompt.
#[test]
fn dispatch_creates_one_labelled_task_per_issue() {
    let s = start();
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
            .env("FOREMAN_STATE_DIR", state.path())
            .env("HOME", state.path())
            .env("FOREMAN_CONFIG", state.path().join("none.toml"))
            .env(
                "FOREMAN_GITHUB_API_BASE",
                format!("http://127.0.0.1:{}", s.server.port),
            )
            .env("GITHUB_TOKEN", TOKEN)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    std::fs::write(state.path().join("none.toml"), "").unwrap();
    let (code, out, err) = run(&[
        "dispatch",
        "--repo",
        "acme/fleet",
        "--label",
        "good first issue",
        "--agent",
        "coder",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains("issue #4 -> agent coder") && out.contains("issue #1 -> agent coder"),
        "{out}"
    );
    assert!(!out.contains("issue #2 "), "{out}");
    let (_, yaml, err) = run(&["get", "tasks", "-o", "yaml"]);
    assert!(
        yaml.contains("foreman.llmkube.dev/dispatch-run"),
        "{yaml}\n{err}"
    );
    assert!(
        yaml.contains("foreman.llmkube.dev/issue: '1'")
            || yaml.contains("foreman.llmkube.dev/issue: \"1\""),
        "{yaml}"
    );
    assert!(yaml.contains("foreman.llmkube.dev/agent: coder"), "{yaml}");
    assert!(
        yaml.contains("Fix the greeting") && yaml.contains("It says Helo."),
        "{yaml}"
    );
    assert!(yaml.contains("name: dispatch-1-"), "{yaml}");

    // Named issues; a pull request's number is refused with what to check, nothing created.
    let (code, _, err) = run(&["dispatch", "--repo", "acme/fleet", "6", "5"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("#5 of acme/fleet"), "{err}");
    let (_, table, _) = run(&["get", "tasks"]);
    assert!(!table.contains("dispatch-6-"), "{table}");
    let (code, _, err) = run(&["dispatch", "--repo", "acme", "1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("OWNER/REPO"), "{err}");
}

/// `foreman dispatch --watch` follows its tasks in the local state while another process (here
/// the test, standing in for the console that runs them) ends them: a line per outcome as it
/// comes, the summary table, and an exit code that says whether every task ended GO.
#[test]
fn dispatch_watch_prints_each_outcome_a_summary_and_exits_by_the_verdicts() {
    use foreman::api::{TaskPhase, Verdict};
    use foreman::backend::embedded::Store;
    let s = start();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("none.toml"), "").unwrap();
    let watch = |issues: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
            .env("FOREMAN_STATE_DIR", state.path())
            .env("HOME", state.path())
            .env("FOREMAN_CONFIG", state.path().join("none.toml"))
            .env("FOREMAN_GITHUB_API_BASE", s.server.api())
            .env("GITHUB_TOKEN", TOKEN)
            .args(["dispatch", "--repo", "acme/fleet", "--watch"])
            .args(issues)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Ends the task of `issue` as the console would, once dispatch has created it.
    let end = |issue: i32, phase: TaskPhase, verdict: Verdict, extra: serde_json::Value| {
        let (mut store, _) = Store::open(state.path()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut t = loop {
            store.refresh().unwrap();
            let found = store.tasks().into_iter().find(|t| {
                t.spec.payload.issue == Some(issue)
                    && t.status.as_ref().is_none_or(|s| s.verdict.is_none())
            });
            if let Some(t) = found {
                break t;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "dispatch made no task for #{issue}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        let st = t.status.get_or_insert_with(Default::default);
        st.phase = Some(phase);
        st.verdict = Some(verdict);
        st.branch = Some(format!("foreman/issue-{issue}"));
        st.result = Some(serde_json::json!({ "extra": extra }));
        store.save_task(&t).unwrap();
    };
    let finish = |child: std::process::Child| {
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let child = watch(&["1", "4"]);
    end(
        4,
        TaskPhase::Failed,
        Verdict::Incomplete,
        serde_json::json!({}),
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    end(
        1,
        TaskPhase::Succeeded,
        Verdict::Go,
        serde_json::json!({"pushed": false}),
    );
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("watching 2 task(s)"), "{out}");
    let first = out.find("INCOMPLETE").expect("#4's outcome line");
    let second = out.find("AwaitingApproval").expect("#1's outcome line");
    assert!(first < second, "outcomes out of order:\n{out}");
    let table = &out[out.find("TASK ").expect("the summary table")..];
    assert_eq!(
        table.lines().filter(|l| l.starts_with("dispatch-")).count(),
        2,
        "{out}"
    );
    assert!(out.contains("1 of 2 task(s) ended GO"), "{out}");

    // Every task GO: exit 0.
    let child = watch(&["6"]);
    end(
        6,
        TaskPhase::Succeeded,
        Verdict::Go,
        serde_json::json!({"pushed": false}),
    );
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("1 of 1 task(s) ended GO"), "{out}");
}

/// `foreman dispatch --workload NAME` into the local state: the issues become one Workload
/// (the issues shortcut), fanned out at once into `NAME-code-N`; `foreman get workloads` shows
/// its mode, stages and rollup; a second identical dispatch creates nothing twice; bad flags
/// are refused before anything is read.
#[test]
fn dispatch_workload_makes_the_issues_one_workload() {
    let s = start();
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
            .env("FOREMAN_STATE_DIR", state.path())
            .env("HOME", state.path())
            .env("FOREMAN_CONFIG", state.path().join("none.toml"))
            .env(
                "FOREMAN_GITHUB_API_BASE",
                format!("http://127.0.0.1:{}", s.server.port),
            )
            .env("GITHUB_TOKEN", TOKEN)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    std::fs::write(state.path().join("none.toml"), "").unwrap();
    let args = [
        "dispatch",
        "--repo",
        "acme/fleet",
        "--agent",
        "coder",
        "--workload",
        "batch",
        "1",
        "4",
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains("created workload batch") && out.contains("batch-code-1, batch-code-4"),
        "{out}"
    );
    let (_, yaml, err) = run(&["get", "tasks", "-o", "yaml"]);
    assert!(yaml.contains("name: batch-code-1"), "{yaml}\n{err}");
    assert!(
        yaml.contains("foreman.llmkube.dev/workload: batch"),
        "{yaml}"
    );
    assert!(yaml.contains("branch: foreman/issue-4"), "{yaml}");
    assert!(!yaml.contains("dispatch-1-"), "no loose tasks: {yaml}");
    let (_, table, err) = run(&["get", "workloads"]);
    let header = table.lines().next().unwrap_or_default().to_string();
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "NAME",
            "MODE",
            "STAGES",
            "INCOMPLETE",
            "PHASE",
            "REPO",
            "TASKS",
            "FAILED",
            "AGE"
        ],
        "{table}\n{err}"
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        &row[..6],
        ["batch", "issues", "2", "<none>", "Planned", "acme/fleet"],
        "{table}"
    );

    // The same dispatch again: the Workload is unchanged and no task is made twice.
    let (code, out, err) = run(&args);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let (_, table, _) = run(&["get", "tasks"]);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("batch-code-"))
            .count(),
        2,
        "{table}"
    );

    for (bad, says) in [
        (
            vec!["--agent", "coder", "--workload", "Bad_Name"],
            "lower-case",
        ),
        (vec!["--workload", "ok"], "--agent"),
    ] {
        let mut a = vec!["dispatch", "--repo", "acme/fleet"];
        a.extend(bad);
        a.push("1");
        let (code, _, err) = run(&a);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
