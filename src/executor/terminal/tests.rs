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

/// One row: what ended the run → phase, verdict, Completed (status, reason), status.branch.
struct Row {
    name: &'static str,
    end: Terminal,
    phase: TaskPhase,
    verdict: Verdict,
    completed: (&'static str, &'static str),
    branch: Option<&'static str>,
}

fn row(
    name: &'static str,
    end: Terminal,
    phase: TaskPhase,
    verdict: Verdict,
    completed: (&'static str, &'static str),
    branch: Option<&'static str>,
) -> Row {
    Row {
        name,
        end,
        phase,
        verdict,
        completed,
        branch,
    }
}

#[test]
fn every_way_a_run_ends_writes_its_status() {
    use TaskPhase::{Failed, Succeeded};
    let f = facts();
    let mut rows = vec![
        row(
            "GO",
            result(go("foreman/x", "abc", "fixed", None, true, &f)),
            Succeeded,
            Verdict::Go,
            ("True", "ExecutorSucceeded"),
            Some("foreman/x"),
        ),
        row(
            "NO-GO decided by the model",
            result(model_decided("NO-GO", "out of scope", None, &f)),
            Succeeded,
            Verdict::NoGo,
            ("True", "ExecutorSucceeded"),
            None,
        ),
        row(
            "NO-GO without a diff",
            result(no_changes("foreman/x", "did it", &f)),
            Succeeded,
            Verdict::NoGo,
            ("True", "ExecutorSucceeded"),
            Some("foreman/x"),
        ),
        row(
            "NO-GO, push failed",
            result(push_failed("foreman/x", "abc", "denied", &f)),
            Succeeded,
            Verdict::NoGo,
            ("True", "ExecutorSucceeded"),
            Some("foreman/x"),
        ),
        row(
            "model ERROR",
            result(model_decided("ERROR", "tests fail", None, &f)),
            Succeeded,
            Verdict::Incomplete,
            ("True", "ModelReportedError"),
            None,
        ),
        row(
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
        (Incomplete::LoopBudgetExhausted, "LoopBudgetExhausted"),
    ] {
        let r = loop_incomplete(reason, &f);
        rows.push(row(
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
        Precondition::GitRemoteURLNotConfigured,
        Precondition::CloneFailed,
        Precondition::BranchCheckoutFailed,
        Precondition::ToolRegistryBuildFailed,
    ] {
        rows.push(row(
            p.as_str(),
            result(precondition_failed(p, "why", 0.1)),
            Succeeded,
            Verdict::Incomplete,
            ("True", p.as_str()),
            None,
        ));
    }
    for r in rows {
        let mut t = task();
        apply_terminal(&mut t, &r.end);
        let s = t.status.as_ref().unwrap();
        assert_eq!(s.phase, Some(r.phase), "{}", r.name);
        assert_eq!(s.verdict, Some(r.verdict), "{}", r.name);
        assert!(s.finished_at.is_some(), "{}", r.name);
        let (status, reason, message) = condition(&t, "Completed");
        assert_eq!(
            (status.as_str(), reason.as_str()),
            r.completed,
            "{}",
            r.name
        );
        let want_message = match &r.end {
            Terminal::Result { result, .. } => result.summary.clone(),
            Terminal::Failed { message, .. } => message.clone(),
        };
        assert_eq!(message, want_message, "{}", r.name);
        assert_eq!(s.branch.as_deref(), r.branch, "{}", r.name);
        let running = condition(&t, "Running");
        assert_eq!(
            (running.0.as_str(), running.1.as_str()),
            ("False", "Finished")
        );
        if let Terminal::Result { .. } = r.end {
            assert_eq!(s.transcript_ref.as_deref(), Some("j.jsonl"), "{}", r.name);
            assert!(s.result.is_some(), "{}", r.name);
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
