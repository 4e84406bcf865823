//! The Result envelope (`status.result`, schema `foreman.v1`) and its outcomes, exactly as
//! upstream's table (spec §3.5), with a model `ERROR` mapped to INCOMPLETE (§11.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub const RESULT_SCHEMA: &str = "foreman.v1";
pub const EXECUTOR_KIND: &str = "native-agent-loop";

/// `status.result` as upstream writes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResultEnvelope {
    pub schema_version: String,
    pub kind: String,
    pub verdict: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
    pub elapsed_sec: f64,
}

impl ResultEnvelope {
    pub fn outcome(&self) -> &str {
        self.extra_str("outcome").unwrap_or("")
    }
    pub fn reason(&self) -> Option<&str> {
        self.extra_str("reason")
    }
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.as_ref()?.get(key)?.as_str()
    }
}

/// Why the executor could not start the loop (`EXECUTOR-PRECONDITION-FAILED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    AgentNotFound,
    InferenceServiceUnavailable,
    AuthUnavailable,
    GitRemoteURLNotConfigured,
    CloneFailed,
    BranchCheckoutFailed,
    ToolRegistryBuildFailed,
}

impl Precondition {
    pub fn as_str(self) -> &'static str {
        match self {
            Precondition::AgentNotFound => "AgentNotFound",
            Precondition::InferenceServiceUnavailable => "InferenceServiceUnavailable",
            Precondition::AuthUnavailable => "AuthUnavailable",
            Precondition::GitRemoteURLNotConfigured => "GitRemoteURLNotConfigured",
            Precondition::CloneFailed => "CloneFailed",
            Precondition::BranchCheckoutFailed => "BranchCheckoutFailed",
            Precondition::ToolRegistryBuildFailed => "ToolRegistryBuildFailed",
        }
    }
}

/// Why the loop ended without a submission (`LOOP-INCOMPLETE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incomplete {
    MaxTurnsExhausted,
    AssistantHallucinatedFinish,
    LoopContractViolation,
    /// Extension: the task's `timeoutSeconds` budget ran out (upstream never enforced it).
    LoopBudgetExhausted,
}

impl Incomplete {
    pub fn as_str(self) -> &'static str {
        match self {
            Incomplete::MaxTurnsExhausted => "MaxTurnsExhausted",
            Incomplete::AssistantHallucinatedFinish => "AssistantHallucinatedFinish",
            Incomplete::LoopContractViolation => "LoopContractViolation",
            Incomplete::LoopBudgetExhausted => "LoopBudgetExhausted",
        }
    }
    fn summary(self) -> &'static str {
        match self {
            Incomplete::MaxTurnsExhausted => "model did not call submit_result within max_turns",
            Incomplete::AssistantHallucinatedFinish => {
                "model returned text without tool_calls; loop cannot make progress"
            }
            Incomplete::LoopContractViolation => "loop ended without a terminal result",
            Incomplete::LoopBudgetExhausted => {
                "the task's timeoutSeconds budget ran out before submit_result"
            }
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

fn envelope(
    verdict: &str,
    summary: impl Into<String>,
    extra: Value,
    elapsed: f64,
) -> ResultEnvelope {
    ResultEnvelope {
        schema_version: RESULT_SCHEMA.into(),
        kind: EXECUTOR_KIND.into(),
        verdict: verdict.into(),
        summary: summary.into(),
        extra: match extra {
            Value::Object(m) => Some(m),
            _ => None,
        },
        elapsed_sec: elapsed,
    }
}

pub fn precondition_failed(reason: Precondition, message: &str, elapsed: f64) -> ResultEnvelope {
    envelope(
        "INCOMPLETE",
        message,
        json!({"outcome": "EXECUTOR-PRECONDITION-FAILED", "reason": reason.as_str()}),
        elapsed,
    )
}

pub fn loop_incomplete(reason: Incomplete, f: &RunFacts) -> ResultEnvelope {
    envelope(
        "INCOMPLETE",
        reason.summary(),
        json!({"outcome": "LOOP-INCOMPLETE", "reason": reason.as_str(),
               "transcriptRef": f.transcript_ref, "turnCount": f.turn_count}),
        f.elapsed_sec,
    )
}

/// NO-GO (or reviewer GO) decided by the model; `ERROR` becomes INCOMPLETE/ModelReportedError.
pub fn model_decided(
    model_verdict: &str,
    summary: &str,
    model_extra: Option<Value>,
    f: &RunFacts,
) -> ResultEnvelope {
    let mut extra = json!({"outcome": "MODEL-DECIDED", "transcriptRef": f.transcript_ref,
                           "turnCount": f.turn_count, "modelExtra": model_extra});
    let verdict = if model_verdict == "ERROR" {
        extra["reason"] = json!("ModelReportedError");
        extra["modelVerdict"] = json!("ERROR");
        "INCOMPLETE"
    } else {
        model_verdict
    };
    envelope(verdict, summary, extra, f.elapsed_sec)
}

pub fn no_changes(branch: &str, model_summary: &str, f: &RunFacts) -> ResultEnvelope {
    envelope(
        "NO-GO",
        "model emitted GO but produced no diff",
        json!({"outcome": "NO-CHANGES", "intendedBranch": branch, "transcriptRef": f.transcript_ref,
               "turnCount": f.turn_count, "modelSummary": model_summary}),
        f.elapsed_sec,
    )
}

pub fn commit_rejected(branch: &str, error: &str, f: &RunFacts) -> ResultEnvelope {
    envelope(
        "NO-GO",
        "commit rejected",
        json!({"outcome": "COMMIT-REJECTED", "intendedBranch": branch, "error": error,
               "transcriptRef": f.transcript_ref, "turnCount": f.turn_count}),
        f.elapsed_sec,
    )
}

pub fn push_failed(branch: &str, sha: &str, error: &str, f: &RunFacts) -> ResultEnvelope {
    envelope(
        "NO-GO",
        "push to fork failed",
        json!({"outcome": "PUSH-FAILED", "intendedBranch": branch, "commitSHA": sha, "error": error,
               "transcriptRef": f.transcript_ref, "turnCount": f.turn_count}),
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
    envelope(
        "GO",
        summary,
        json!({"branch": branch, "commitSHA": sha, "transcriptRef": f.transcript_ref,
               "turnCount": f.turn_count, "modelExtra": model_extra, "pushed": pushed}),
        f.elapsed_sec,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(r.extra.as_ref().unwrap()["turnCount"], 4);

        let r = push_failed("foreman/issue-1", "abc", "rejected", &facts());
        assert_eq!((r.verdict.as_str(), r.outcome()), ("NO-GO", "PUSH-FAILED"));
        assert_eq!(r.extra_str("commitSHA"), Some("abc"));

        let r = no_changes("b", "did it", &facts());
        assert_eq!((r.verdict.as_str(), r.outcome()), ("NO-GO", "NO-CHANGES"));

        let r = go("b", "abc", "fixed", None, true, &facts());
        assert_eq!((r.verdict.as_str(), r.outcome()), ("GO", ""));
        assert_eq!(r.extra_str("branch"), Some("b"));
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
