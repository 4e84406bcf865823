use super::*;
use crate::api::Verdict;
use crate::executor::outcome::*;
use crate::executor::run::PendingPush;
use serde_json::json;

fn task() -> AgenticTask {
    let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t, namespace: ns}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
    let crate::api::Object::Task(t) = crate::api::load_str("t", yaml).unwrap().remove(0) else {
        panic!("not a task")
    };
    *t
}

fn condition(t: &AgenticTask, type_: &str) -> (String, String, String) {
    t.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

fn facts() -> RunFacts {
    RunFacts {
        transcript_ref: json!("j.jsonl"),
        turn_count: 3,
        elapsed_sec: 1.0,
    }
}

fn result(r: ResultEnvelope) -> Terminal {
    Terminal::Result {
        result: Box::new(r),
        transcript_ref: Some("j.jsonl".into()),
    }
}

/// One row: its name, what ended the run → phase, verdict, Completed (status, reason),
/// status.branch.
type Row = (
    &'static str,
    Terminal,
    TaskPhase,
    Verdict,
    (&'static str, &'static str),
    Option<&'static str>,
);

#[test]
fn every_way_a_run_ends_writes_its_status() {
    use TaskPhase::{Failed, Succeeded};
    let f = facts();
    let mut rows: Vec<Row> = vec![
        (
            "GO",
            result(go("foreman/x", "abc", "fixed", None, true, &f)),
            Succeeded,
            Verdict::Go,
            ("True", "ExecutorSucceeded"),
            Some("foreman/x"),
        ),
        (
            "NO-GO decided by the model",
            result(model_decided("NO-GO", "out of scope", None, &f)),
            Succeeded,
            Verdict::NoGo,
            ("True", "ExecutorSucceeded"),
            None,
        ),
        (
            "NO-GO without a diff",
            result(no_changes("foreman/x", "did it", &f)),
            Succeeded,
            Verdict::NoGo,
            ("True", "ExecutorSucceeded"),
            Some("foreman/x"),
        ),
        (
            "NO-GO, push failed",
            result(push_failed("foreman/x", "abc", "denied", &f)),
            Succeeded,
            Verdict::NoGo,
            ("True", "ExecutorSucceeded"),
            Some("foreman/x"),
        ),
        (
            "model ERROR",
            result(model_decided("ERROR", "tests fail", None, &f)),
            Succeeded,
            Verdict::Incomplete,
            ("True", "ModelReportedError"),
            None,
        ),
        (
            "executor error",
            Terminal::executor_error("connection refused"),
            Failed,
            Verdict::Incomplete,
            ("False", "ExecutorError"),
            None,
        ),
    ];
    for (reason, name) in [
        (Incomplete::MaxTurnsExhausted, "MaxTurnsExhausted"),
        (
            Incomplete::AssistantHallucinatedFinish,
            "AssistantHallucinatedFinish",
        ),
        (Incomplete::LoopContractViolation, "LoopContractViolation"),
    ] {
        let r = loop_incomplete(reason, &f);
        rows.push((
            name,
            result(r),
            Succeeded,
            Verdict::Incomplete,
            ("True", name),
            None,
        ));
    }
    for p in [
        Precondition::AgentNotFound,
        Precondition::InferenceServiceUnavailable,
        Precondition::AuthUnavailable,
        Precondition::GitRemoteNotConfigured,
        Precondition::CloneFailed,
        Precondition::BranchCheckoutFailed,
        Precondition::ToolRegistryBuildFailed,
    ] {
        rows.push((
            p.as_str(),
            result(precondition_failed(p, "why", 0.1)),
            Succeeded,
            Verdict::Incomplete,
            ("True", p.as_str()),
            None,
        ));
    }
    for (name, end, phase, verdict, completed, branch) in rows {
        let mut t = task();
        crate::fleet::status::mark_claimed(&mut t, "node-a");
        apply_terminal(&mut t, &end);
        let s = t.status.as_ref().unwrap();
        assert_eq!(s.phase, Some(phase), "{}", name);
        assert_eq!(s.verdict, Some(verdict), "{}", name);
        assert!(s.finished_at.is_some(), "{}", name);
        let (status, reason, message) = condition(&t, "Completed");
        assert_eq!((status.as_str(), reason.as_str()), completed, "{}", name);
        let want_message = match &end {
            Terminal::Result { result, .. } => result.summary.clone(),
            Terminal::Failed { message, .. } => message.clone(),
        };
        assert_eq!(message, want_message, "{}", name);
        assert_eq!(s.branch.as_deref(), branch, "{}", name);
        let running = condition(&t, "Running");
        // Upstream leaves the claim's condition as it was.
        assert_eq!(
            (running.0.as_str(), running.1.as_str()),
            ("True", "Claimed")
        );
        if let Terminal::Result { .. } = end {
            assert_eq!(s.transcript_ref.as_deref(), Some("j.jsonl"), "{}", name);
            assert!(s.result.is_some(), "{}", name);
        }
    }
}

#[test]
fn go_copies_the_commit_and_a_pending_push_says_where_its_clone_is() {
    let rep = RunReport {
        result: go("foreman/x", "abc", "fixed", None, false, &facts()),
        pending_push: Some(PendingPush {
            workspace: "/ws/ns/t".into(),
            remote: "http://git/acme.git".into(),
            branch: "foreman/x".into(),
            sha: "abc".into(),
        }),
        journal: "j.jsonl".into(),
    };
    let env = envelope_of(rep);
    assert_eq!(env.extra.workspace.as_deref(), Some("/ws/ns/t"));
    assert_eq!(env.extra.remote.as_deref(), Some("http://git/acme.git"));
    assert_eq!(env.extra.pushed, Some(false));
    let mut t = task();
    apply_terminal(&mut t, &result(env));
    let s = t.status.as_ref().unwrap();
    assert_eq!(s.commit_sha.as_deref(), Some("abc"));
    assert_eq!(
        crate::fleet::task_state(&t),
        crate::fleet::TaskState::AwaitingApproval
    );
}
