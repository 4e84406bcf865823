//! The Result envelope (`status.result`, schema `foreman.v1`) and its outcomes, exactly as
//! upstream's table (spec §3.5), with a model `ERROR` mapped to INCOMPLETE (§11.2), and
//! HEAD's additions: `failureReason` on every INCOMPLETE, `LOOP-BUDGET-EXHAUSTED`,
//! `STUCK-LOOP-DETECTED`, and a model's `ALREADY-RESOLVED`/`NEEDS-VERIFICATION` promoted.

use crate::agent::progress::StuckLoop;
use crate::api::FailureReason;
use crate::fleet::extra::ResultExtra;
use crate::fleet::reasons::failure_reason_of;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const RESULT_SCHEMA: &str = "foreman.v1";
/// HEAD's outcome of a run its loop budget stopped.
pub const LOOP_BUDGET_EXHAUSTED: &str = "LOOP-BUDGET-EXHAUSTED";
/// HEAD's outcome of a run the stuck-loop detector stopped.
pub const STUCK_LOOP_DETECTED: &str = "STUCK-LOOP-DETECTED";
/// HEAD's outcome of a coder NO-GO because the work is already done (#970).
pub const ALREADY_RESOLVED: &str = "ALREADY-RESOLVED";
/// HEAD's outcome of a Job-mode NO-GO without one of its own; no Job mode runs here, so it
/// is only ever read (from results upstream's agent wrote).
pub const MODEL_NO_GO: &str = "MODEL-NO-GO";
pub const EXECUTOR_KIND: &str = "native-agent-loop";

/// `status.result` as upstream writes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResultEnvelope {
    pub schema_version: String,
    pub kind: String,
    pub verdict: String,
    /// HEAD's category of why an INCOMPLETE landed (`extra.reason` keeps the detail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    pub summary: String,
    #[serde(default, skip_serializing_if = "ResultExtra::is_empty")]
    pub extra: ResultExtra,
    pub elapsed_sec: f64,
}

impl ResultEnvelope {
    pub fn outcome(&self) -> &str {
        self.extra.outcome.as_deref().unwrap_or("")
    }
    pub fn reason(&self) -> Option<&str> {
        self.extra.reason.as_deref()
    }
}

/// Why the executor could not start the loop (`EXECUTOR-PRECONDITION-FAILED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    AgentNotFound,
    InferenceServiceUnavailable,
    AuthUnavailable,
    GitRemoteNotConfigured,
    CloneFailed,
    BranchCheckoutFailed,
    ToolRegistryBuildFailed,
    /// An issue-fix task with an empty prompt whose issue could not be read (#571).
    IssueUnavailable,
}

impl Precondition {
    pub fn as_str(self) -> &'static str {
        match self {
            Precondition::AgentNotFound => "AgentNotFound",
            Precondition::InferenceServiceUnavailable => "InferenceServiceUnavailable",
            Precondition::AuthUnavailable => "AuthUnavailable",
            Precondition::GitRemoteNotConfigured => "GitRemoteNotConfigured",
            Precondition::CloneFailed => "CloneFailed",
            Precondition::BranchCheckoutFailed => "BranchCheckoutFailed",
            Precondition::ToolRegistryBuildFailed => "ToolRegistryBuildFailed",
            Precondition::IssueUnavailable => "IssueUnavailable",
        }
    }
}

/// Why the loop ended without a submission (`LOOP-INCOMPLETE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incomplete {
    MaxTurnsExhausted,
    AssistantHallucinatedFinish,
    LoopContractViolation,
}

impl Incomplete {
    pub fn as_str(self) -> &'static str {
        match self {
            Incomplete::MaxTurnsExhausted => "MaxTurnsExhausted",
            Incomplete::AssistantHallucinatedFinish => "AssistantHallucinatedFinish",
            Incomplete::LoopContractViolation => "LoopContractViolation",
        }
    }
    fn summary(self) -> &'static str {
        match self {
            Incomplete::MaxTurnsExhausted => "model did not call submit_result within max_turns",
            Incomplete::AssistantHallucinatedFinish => {
                "model returned text without tool_calls; loop cannot make progress"
            }
            Incomplete::LoopContractViolation => "loop ended without a terminal result",
        }
    }
}

/// Facts every post-loop outcome carries.
#[derive(Clone, Debug, Default)]
pub struct RunFacts {
    /// `{"kind":"ConfigMap",...}` in cluster mode, the journal path locally, or null.
    pub transcript_ref: Value,
    pub turn_count: u32,
    pub elapsed_sec: f64,
}

/// The envelope; an INCOMPLETE's `failureReason` is the category of its `extra.reason`, so
/// the two never disagree.
fn envelope(
    verdict: &str,
    summary: impl Into<String>,
    extra: ResultExtra,
    elapsed: f64,
) -> ResultEnvelope {
    let failure_reason = match (verdict, extra.reason.as_deref()) {
        ("INCOMPLETE", Some(r)) => failure_reason_of(r),
        ("INCOMPLETE", None) => Some(FailureReason::InfrastructureError),
        _ => None,
    };
    ResultEnvelope {
        schema_version: RESULT_SCHEMA.into(),
        kind: EXECUTOR_KIND.into(),
        verdict: verdict.into(),
        failure_reason,
        summary: summary.into(),
        extra,
        elapsed_sec: elapsed,
    }
}

/// The facts every post-loop extra carries, with this outcome.
fn after_loop(outcome: Option<&str>, f: &RunFacts) -> ResultExtra {
    ResultExtra {
        outcome: outcome.map(str::to_string),
        transcript_ref: Some(f.transcript_ref.clone()),
        turn_count: Some(f.turn_count.into()),
        ..Default::default()
    }
}

pub fn precondition_failed(reason: Precondition, message: &str, elapsed: f64) -> ResultEnvelope {
    let extra = ResultExtra {
        outcome: Some("EXECUTOR-PRECONDITION-FAILED".into()),
        reason: Some(reason.as_str().into()),
        ..Default::default()
    };
    envelope("INCOMPLETE", message, extra, elapsed)
}

pub fn loop_incomplete(reason: Incomplete, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        reason: Some(reason.as_str().into()),
        ..after_loop(Some("LOOP-INCOMPLETE"), f)
    };
    envelope("INCOMPLETE", reason.summary(), extra, f.elapsed_sec)
}

/// HEAD's `LOOP-BUDGET-EXHAUSTED` (#532): the loop's wall-clock budget (the Agent's
/// `requestTimeoutSeconds` under HEAD, or the task's `timeoutSeconds`) ran out at `turn`.
/// `modelExtra` is the terminal upstream's loop synthesizes.
pub fn loop_budget_exhausted(turn: u32, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        reason: Some("LoopBudgetExhausted".into()),
        model_extra: Some(json!({"outcome": LOOP_BUDGET_EXHAUSTED, "terminateTurn": turn})),
        ..after_loop(Some(LOOP_BUDGET_EXHAUSTED), f)
    };
    let summary = "loop wall-clock budget exhausted before the agent finished";
    envelope("INCOMPLETE", summary, extra, f.elapsed_sec)
}

/// HEAD's `STUCK-LOOP-DETECTED` (#544/#569): the progress monitor stopped a run that ignored
/// its nudge. `modelExtra` is upstream's force-terminate envelope (signal, detail, turn).
pub fn stuck_loop(stuck: &StuckLoop, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        reason: Some("StuckLoopDetected".into()),
        model_extra: Some(json!({
            "outcome": STUCK_LOOP_DETECTED,
            "signal": stuck.signal,
            "detail": stuck.detail,
            "terminateTurn": stuck.turn,
        })),
        ..after_loop(Some(STUCK_LOOP_DETECTED), f)
    };
    let summary = format!("stuck-loop detector intervened: {}", stuck.signal);
    envelope("INCOMPLETE", summary, extra, f.elapsed_sec)
}

/// The model's own terminal outcomes HEAD lifts from `modelExtra.outcome` to the top level
/// (`promoteTerminalOutcome`), with the field each carries along.
const PROMOTED: [(&str, &str); 2] = [
    (ALREADY_RESOLVED, "resolvedBy"),
    ("NEEDS-VERIFICATION", "unverified"),
];

/// NO-GO (or reviewer GO) decided by the model; `ERROR` becomes INCOMPLETE/ModelReportedError.
/// A model `extra.outcome` of `ALREADY-RESOLVED` or `NEEDS-VERIFICATION` becomes the outcome.
pub fn model_decided(
    model_verdict: &str,
    summary: &str,
    model_extra: Option<Value>,
    f: &RunFacts,
) -> ResultEnvelope {
    let mut extra = ResultExtra {
        model_extra: Some(model_extra.unwrap_or(Value::Null)),
        ..after_loop(Some("MODEL-DECIDED"), f)
    };
    let promoted = model_extra_outcome(extra.model_extra.as_ref());
    if let Some((outcome, field)) = PROMOTED.iter().find(|(o, _)| Some(*o) == promoted) {
        extra.outcome = Some((*outcome).into());
        if let Some(v) = extra.model_extra.as_ref().and_then(|m| m.get(*field)) {
            extra.other.insert((*field).into(), v.clone());
        }
    }
    let verdict = if model_verdict == "ERROR" {
        extra.reason = Some("ModelReportedError".into());
        extra.model_verdict = Some("ERROR".into());
        "INCOMPLETE"
    } else {
        model_verdict
    };
    envelope(verdict, summary, extra, f.elapsed_sec)
}

fn model_extra_outcome(model_extra: Option<&Value>) -> Option<&str> {
    model_extra?.get("outcome")?.as_str()
}

pub fn no_changes(branch: &str, model_summary: &str, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        intended_branch: Some(branch.into()),
        model_summary: Some(model_summary.into()),
        ..after_loop(Some("NO-CHANGES"), f)
    };
    envelope(
        "NO-GO",
        "model emitted GO but produced no diff",
        extra,
        f.elapsed_sec,
    )
}

pub fn commit_rejected(branch: &str, error: &str, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        intended_branch: Some(branch.into()),
        error: Some(error.into()),
        ..after_loop(Some("COMMIT-REJECTED"), f)
    };
    envelope("NO-GO", "commit rejected", extra, f.elapsed_sec)
}

pub fn push_failed(branch: &str, sha: &str, error: &str, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        intended_branch: Some(branch.into()),
        commit_sha: Some(sha.into()),
        error: Some(error.into()),
        ..after_loop(Some("PUSH-FAILED"), f)
    };
    envelope("NO-GO", "push to fork failed", extra, f.elapsed_sec)
}

/// The coder gate failed on the GO commit and its policy (`onFail: stop`, or retries used up
/// with nobody to approve) ends the run: upstream HEAD's `CODER-GATE-FAILED`, nothing pushed.
pub fn coder_gate_failed(branch: &str, sha: &str, failure: &str, f: &RunFacts) -> ResultEnvelope {
    let extra = ResultExtra {
        intended_branch: Some(branch.into()),
        commit_sha: Some(sha.into()),
        error: Some(failure.into()),
        ..after_loop(Some("CODER-GATE-FAILED"), f)
    };
    envelope(
        "NO-GO",
        format!("the coder gate failed: {failure}"),
        extra,
        f.elapsed_sec,
    )
}

/// GO. `pushed` is false while the push waits for the operator (extension: upstream always
/// pushed); the console flips it when the push is approved and succeeds.
pub fn go(
    branch: &str,
    sha: &str,
    summary: &str,
    model_extra: Option<Value>,
    pushed: bool,
    f: &RunFacts,
) -> ResultEnvelope {
    let extra = ResultExtra {
        branch: Some(branch.into()),
        commit_sha: Some(sha.into()),
        model_extra: Some(model_extra.unwrap_or(Value::Null)),
        pushed: Some(pushed),
        ..after_loop(None, f)
    };
    envelope("GO", summary, extra, f.elapsed_sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> RunFacts {
        RunFacts {
            transcript_ref: json!("t.jsonl"),
            turn_count: 4,
            elapsed_sec: 1.5,
        }
    }

    #[test]
    fn shapes_match_upstream() {
        let r = precondition_failed(Precondition::CloneFailed, "clone failed: x", 0.1);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["schemaVersion"], "foreman.v1");
        assert_eq!(v["kind"], "native-agent-loop");
        assert_eq!(v["verdict"], "INCOMPLETE");
        assert_eq!(v["extra"]["outcome"], "EXECUTOR-PRECONDITION-FAILED");
        assert_eq!(v["extra"]["reason"], "CloneFailed");
        assert!(v["elapsedSec"].is_f64());

        let r = loop_incomplete(Incomplete::MaxTurnsExhausted, &facts());
        assert_eq!(
            r.summary,
            "model did not call submit_result within max_turns"
        );
        assert_eq!(r.extra.turn_count, Some(4));

        let r = push_failed("foreman/issue-1", "abc", "rejected", &facts());
        assert_eq!((r.verdict.as_str(), r.outcome()), ("NO-GO", "PUSH-FAILED"));
        assert_eq!(r.extra.commit_sha.as_deref(), Some("abc"));

        let r = no_changes("b", "did it", &facts());
        assert_eq!((r.verdict.as_str(), r.outcome()), ("NO-GO", "NO-CHANGES"));

        let r = coder_gate_failed("b", "abc", "`make test` exited 2", &facts());
        assert_eq!(
            (r.verdict.as_str(), r.outcome()),
            ("NO-GO", "CODER-GATE-FAILED")
        );
        assert_eq!(r.summary, "the coder gate failed: `make test` exited 2");
        assert_eq!(r.extra.commit_sha.as_deref(), Some("abc"));

        let r = go("b", "abc", "fixed", None, true, &facts());
        assert_eq!((r.verdict.as_str(), r.outcome()), ("GO", ""));
        assert_eq!(r.extra.branch.as_deref(), Some("b"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["extra"]["modelExtra"],
            Value::Null,
            "upstream writes null"
        );
        assert_eq!(v["extra"]["transcriptRef"], "t.jsonl");
    }

    #[test]
    fn model_error_maps_to_incomplete() {
        let r = model_decided("ERROR", "tests fail", None, &facts());
        assert_eq!(r.verdict, "INCOMPLETE");
        assert_eq!(r.outcome(), "MODEL-DECIDED");
        assert_eq!(r.reason(), Some("ModelReportedError"));
        let r = model_decided("NO-GO", "epic", None, &facts());
        assert_eq!(r.verdict, "NO-GO");
        assert_eq!(r.reason(), None);
    }
}
