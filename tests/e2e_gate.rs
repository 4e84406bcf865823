#![cfg(feature = "e2e")]
//! The coder gate (issue 12) in real runs: the scripted model, `execute`, and the smart-HTTP
//! testbed remote (`git http-backend` behind token auth). Pass, fail → retry → pass (two
//! commits, the second on top of the first, both pushed), fail → stop (CODER-GATE-FAILED),
//! timeout, and a gate command that hunts for the token and finds nothing.
//! `cargo test --features e2e --test e2e_gate`.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::{git, seed_bare, submit_result};
use foreman::agent::transcript::{Record, read_journal};
use foreman::api::gate::{GateRun, GateStatus};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecEvent, ExecutorConfig, RunReport, execute, push_pending};
use foreman::workspace::Token;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TOKEN: &str = "ghp_GATETOKENMARKER5678";

struct Remote {
    _server: common::GitServer,
    root: tempfile::TempDir,
    url: String,
}

fn remote() -> Remote {
    let root = tempfile::tempdir().unwrap();
    seed_bare(root.path(), "acme/fleet.git", &[("README.md", "# fleet\n")]);
    let server = common::GitServer::start(root.path(), TOKEN);
    let url = server.url("acme/fleet");
    Remote {
        _server: server,
        root,
        url,
    }
}

impl Remote {
    fn bare(&self) -> PathBuf {
        self.root.path().join("acme/fleet.git")
    }

    /// `git rev-parse REV` in the bare repository.
    fn rev(&self, rev: &str) -> String {
        let bare = self.bare();
        git(
            &bare,
            &["--git-dir", bare.to_str().unwrap(), "rev-parse", rev],
        )
        .trim()
        .to_string()
    }
}

struct Ran {
    report: RunReport,
    events: Vec<ExecEvent>,
    took: Duration,
}

/// One run of a coder whose Agent has `gate` (YAML flow mapping) against `replies`.
async fn run(r: &Remote, gate: &str, replies: Vec<Reply>) -> (Ran, ScriptedServer) {
    let scripted = ScriptedServer::start(replies).unwrap();
    let cfg = ExecutorConfig {
        base_url: scripted.base_url(),
        git_remote_url: Some(r.url.clone()),
        workspace_root: r.root.path().join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: common::bot(),
        push_now: false,
        journal_path: r.root.path().join("journal.jsonl"),
        token: TokenSource::Given(Token::new(TOKEN)),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    };
    let task = common::task(
        "  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, branch: foreman/gated, prompt: fix}\n",
    );
    let agent = common::agent(&format!("  gate: {gate}\n"));
    let mut events = Vec::new();
    let started = Instant::now();
    let report = execute(&task, &agent, &cfg, &mut |e| events.push(e))
        .await
        .unwrap();
    let ran = Ran {
        report,
        events,
        took: started.elapsed(),
    };
    (ran, scripted)
}

fn write(path: &str, content: &str) -> Reply {
    Reply::tool_call(
        "write_file",
        serde_json::json!({"path": path, "content": content}).to_string(),
    )
}

fn go() -> Reply {
    submit_result("GO", "fix: the answer\n\nFixes #7")
}

impl Ran {
    fn gate(&self) -> GateRun {
        let v = serde_json::to_value(&self.report.result).unwrap();
        GateRun::of_result(Some(&v)).expect("the Result records the gate")
    }

    /// The gate runs reported live, pending ones included.
    fn gate_events(&self) -> Vec<GateRun> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Gate(g) => Some(g.clone()),
                _ => None,
            })
            .collect()
    }

    fn journal_gates(&self) -> Vec<GateRun> {
        read_journal(&self.report.journal)
            .unwrap()
            .into_iter()
            .filter_map(|r| match r {
                Record::Gate(g) => Some(g),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_gate_ends_awaiting_approval_with_the_gate_recorded() {
    let r = remote();
    let (ran, _s) = run(
        &r,
        "{commands: [\"grep -q 42 answer.txt\", \"echo checked\"]}",
        vec![write("answer.txt", "42\n"), go()],
    )
    .await;
    assert_eq!(ran.report.result.verdict, "GO", "{:?}", ran.report.result);
    let pending = ran.report.pending_push.clone().expect("awaits approval");
    let g = ran.gate();
    assert_eq!((g.status, g.attempt), (GateStatus::Passed, 1));
    assert!(g.output.contains("$ echo checked\nchecked"), "{}", g.output);
    assert_eq!(g.commit.as_deref(), Some(pending.sha.as_str()));
    let live: Vec<GateStatus> = ran.gate_events().iter().map(|g| g.status).collect();
    assert_eq!(live, [GateStatus::Pending, GateStatus::Passed]);
    assert_eq!(ran.journal_gates(), [g]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_gate_is_handed_back_and_the_fix_lands_on_top() {
    let r = remote();
    let (ran, scripted) = run(
        &r,
        "{commands: [\"grep -q 42 answer.txt || { echo 'expected 42, got' $(cat answer.txt); exit 3; }\"], onFail: retry, maxAttempts: 2}",
        vec![
            write("answer.txt", "41\n"),
            go(),
            write("answer.txt", "42\n"),
            go(),
        ],
    )
    .await;
    assert_eq!(ran.report.result.verdict, "GO", "{:?}", ran.report.result);
    let gates = ran.journal_gates();
    assert_eq!(gates.len(), 2, "{gates:?}");
    assert_eq!(
        (gates[0].status, gates[0].exit_code),
        (GateStatus::Failed, Some(3))
    );
    assert_eq!(gates[1].status, GateStatus::Passed);
    // The third request (after the failed gate) carries the failure as a user message.
    let reqs = scripted.requests();
    assert_eq!(reqs.len(), 4);
    let last = reqs[2]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "user");
    let text = last["content"].as_str().unwrap();
    assert!(
        text.starts_with(foreman::executor::gate::GATE_FAILED_PREFIX)
            && text.contains("expected 42, got 41")
            && text.contains("exited 3"),
        "{text}"
    );
    // Two commits: the second on top of the first, both pushed on approval.
    let pending = ran.report.pending_push.clone().unwrap();
    let first = gates[0].commit.clone().unwrap();
    assert_ne!(first, pending.sha);
    let ws = &pending.workspace;
    assert_eq!(git(ws, &["rev-parse", "HEAD~1"]).trim(), first);
    assert_eq!(git(ws, &["rev-parse", "HEAD"]).trim(), pending.sha);
    push_pending(&pending, Some(Token::new(TOKEN)))
        .await
        .unwrap();
    assert_eq!(r.rev("refs/heads/foreman/gated"), pending.sha);
    assert_eq!(r.rev("refs/heads/foreman/gated~1"), first);
}

/// What the gate's commands leave (a cache dir, a rewritten tracked file) is put back after
/// each run: the retry's commit holds only the model's fix, and the tree awaiting approval
/// is the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_gate_leaves_behind_never_reaches_a_commit() {
    let r = remote();
    let (ran, _s) = run(
        &r,
        "{commands: [\"mkdir -p __pycache__ && echo pyc > __pycache__/a.pyc && echo reformatted >> README.md && grep -q 42 answer.txt\"], onFail: retry, maxAttempts: 2}",
        vec![
            write("answer.txt", "41\n"),
            go(),
            write("answer.txt", "42\n"),
            go(),
        ],
    )
    .await;
    assert_eq!(ran.report.result.verdict, "GO", "{:?}", ran.report.result);
    let gates = ran.journal_gates();
    assert_eq!(gates.len(), 2, "{gates:?}");
    let pending = ran.report.pending_push.clone().unwrap();
    let ws = &pending.workspace;
    let files = git(ws, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.trim(), "answer.txt", "the retry's commit: {files}");
    let tree = git(ws, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(!tree.contains("__pycache__"), "{tree}");
    assert_eq!(git(ws, &["show", "HEAD:README.md"]), "# fleet\n");
    assert_eq!(
        git(ws, &["status", "--porcelain"]).trim(),
        "",
        "the tree is the commit"
    );
    let said: Vec<String> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Status(s) if s.contains("the gate left") => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].contains("__pycache__/a.pyc") && said[0].contains("README.md"),
        "{said:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_gate_under_stop_ends_coder_gate_failed() {
    let r = remote();
    let (ran, scripted) = run(
        &r,
        "{commands: [\"echo broken >&2; exit 1\", \"echo never-run\"], onFail: stop}",
        vec![write("answer.txt", "41\n"), go()],
    )
    .await;
    let res = &ran.report.result;
    assert_eq!(
        (res.verdict.as_str(), res.outcome()),
        ("NO-GO", "CODER-GATE-FAILED")
    );
    assert!(ran.report.pending_push.is_none());
    let g = ran.gate();
    assert_eq!(g.status, GateStatus::Failed);
    assert!(
        g.output.contains("broken") && !g.output.contains("never-run"),
        "{}",
        g.output
    );
    assert_eq!(scripted.requests().len(), 2, "the model is not asked again");
    let bare = git2::Repository::open_bare(r.bare()).unwrap();
    assert!(
        bare.find_reference("refs/heads/foreman/gated").is_err(),
        "nothing was pushed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_outlasts_its_timeout_is_killed_and_fails() {
    let r = remote();
    let (ran, _s) = run(
        &r,
        "{commands: [\"echo started; sleep 60\"], timeoutSeconds: 1}",
        vec![write("answer.txt", "42\n"), go()],
    )
    .await;
    assert!(ran.took < Duration::from_secs(20), "took {:?}", ran.took);
    assert_eq!(ran.report.result.outcome(), "CODER-GATE-FAILED");
    let g = ran.gate();
    assert!(g.timed_out && g.status == GateStatus::Failed, "{g:?}");
    assert!(g.duration_ms >= 1000 && g.duration_ms < 10_000, "{g:?}");
    assert!(g.output.contains("started"), "{}", g.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_command_hunting_for_the_token_finds_nothing() {
    let r = remote();
    let me = std::process::id();
    let hunt = format!(
        "env; cat /proc/{me}/environ; cat .git/config; git config --list; \
         cat $HOME/.git-credentials; grep -rs ghp_GATE / --exclude-dir=proc --exclude-dir=sys \
         --exclude-dir=usr --exclude-dir=.rustup --exclude-dir=.cargo; echo HUNT-DONE"
    );
    let gate = format!("{{commands: [{}]}}", serde_json::to_string(&hunt).unwrap());
    let (ran, _s) = run(&r, &gate, vec![write("answer.txt", "42\n"), go()]).await;
    let g = ran.gate();
    assert!(g.output.contains("HUNT-DONE"), "{}", g.output);
    assert!(!g.output.contains(TOKEN), "the token leaked: {}", g.output);
    assert!(g.output.contains("PATH="), "env ran: {}", g.output);
}
