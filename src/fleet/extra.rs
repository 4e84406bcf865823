//! `status.result.extra`, typed: the Result's own facts (outcome, reason, branch, commit,
//! transcript) and what the console adds after the run (the push decision, the pull request,
//! where the clone is). Every writer and reader goes through [`ResultExtra`], so no key is
//! spelled twice; keys it does not know (upstream's, a newer version's) are kept as they are.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The operator's answer to a GO awaiting approval.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PushDecision {
    Approved,
    Rejected,
}

/// `status.result.extra`. `None` fields are absent on the wire; `Some(Value::Null)` in the
/// `Value` fields is an explicit `null` (upstream writes `"transcriptRef": null`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResultExtra {
    /// Upstream's outcome (`LOOP-INCOMPLETE`, `NO-CHANGES`, ...); absent on a GO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Why an INCOMPLETE ended (`MaxTurnsExhausted`, `CloneFailed`, `ModelReportedError`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The branch a NO-GO would have pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_branch: Option<String>,
    #[serde(rename = "commitSHA", default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// The journal path, the transcript ConfigMap reference, or `null`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub transcript_ref: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_count: Option<u64>,
    /// What the model put in `submit_result`'s `extra`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub model_extra: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_verdict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_summary: Option<String>,
    /// A commit hook's or push's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// GO: false while the push awaits the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_decision: Option<PushDecision>,
    /// RFC 3339, whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// The node whose console decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_number: Option<u64>,
    /// The kept clone (on the node that ran the task) and its redacted remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// The local journal of a cluster run (on the node that ran it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// Across a fork (#875): the upstream `owner/name` the PR is opened on, its head
    /// `forkowner:branch`, and the base branch the work was cut from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_head: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// Set when writes to the run's journal failed (a full disk): its transcript lacks records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_incomplete: Option<bool>,
    /// Keys this version does not know, kept as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A field that is present (even as `null`) is `Some`; only a missing one is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl ResultExtra {
    /// Reads an `extra` object; anything unreadable (not an object, a known key of the wrong
    /// type) reads as empty rather than failing the reader.
    /// Read in place (no copy of the Value): the console asks every task's state per frame.
    pub fn from_value(v: Option<&Value>) -> ResultExtra {
        v.and_then(|v| ResultExtra::deserialize(v).ok())
            .unwrap_or_default()
    }

    /// The set fields as a JSON object (what a merge into an existing `extra` writes).
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    /// `self` with every set field of `over` written over it.
    pub fn merged(&self, over: &ResultExtra) -> ResultExtra {
        let mut m = self.to_map();
        m.extend(over.to_map());
        ResultExtra::from_value(Some(&Value::Object(m)))
    }

    pub fn is_empty(&self) -> bool {
        self.to_map().is_empty()
    }

    /// The one writer of a push decision, for both backends: approved means pushed.
    pub fn decided(decision: PushDecision, by: &str, at: jiff::Timestamp) -> ResultExtra {
        let at = jiff::Timestamp::from_second(at.as_second()).unwrap_or(at);
        ResultExtra {
            pushed: (decision == PushDecision::Approved).then_some(true),
            push_decision: Some(decision),
            decided_at: Some(at.to_string()),
            decided_by: Some(by.to_string()),
            ..Default::default()
        }
    }

    /// The pull request opened for a pushed GO.
    pub fn pull_request(url: &str, number: u64) -> ResultExtra {
        ResultExtra {
            pr_url: Some(url.to_string()),
            pr_number: Some(number),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_keys_are_typed_and_unknown_ones_survive_a_round_trip() {
        let wire = json!({
            "outcome": "LOOP-INCOMPLETE", "reason": "MaxTurnsExhausted",
            "transcriptRef": null, "turnCount": 4, "modelExtra": {"k": 1},
            "branch": "foreman/x", "commitSHA": "abc", "pushed": false,
            "pushDecision": "rejected", "decidedBy": "mac", "prNumber": 7,
            "upstreamOnly": {"a": [1, 2]}, "modelRef": "qwen"
        });
        let e = ResultExtra::from_value(Some(&wire));
        assert_eq!(e.reason.as_deref(), Some("MaxTurnsExhausted"));
        assert_eq!(e.transcript_ref, Some(Value::Null));
        assert_eq!(e.commit_sha.as_deref(), Some("abc"));
        assert_eq!(e.pushed, Some(false));
        assert_eq!(e.push_decision, Some(PushDecision::Rejected));
        assert_eq!(e.pr_number, Some(7));
        assert_eq!(e.other["upstreamOnly"], json!({"a": [1, 2]}));
        assert_eq!(serde_json::to_value(&e).unwrap(), wire);
    }

    #[test]
    fn merged_overrides_only_the_set_fields() {
        let base = ResultExtra {
            branch: Some("a".into()),
            pushed: Some(false),
            ..Default::default()
        };
        let m = base.merged(&ResultExtra {
            pushed: Some(true),
            ..Default::default()
        });
        assert_eq!((m.branch.as_deref(), m.pushed), (Some("a"), Some(true)));
    }

    #[test]
    fn unreadable_extras_read_as_empty() {
        assert_eq!(ResultExtra::from_value(None), ResultExtra::default());
        assert_eq!(
            ResultExtra::from_value(Some(&json!("x"))),
            ResultExtra::default()
        );
        assert_eq!(
            ResultExtra::from_value(Some(&json!({"pushed": "yes"}))),
            ResultExtra::default()
        );
        assert!(ResultExtra::default().is_empty());
    }

    #[test]
    fn a_decision_says_what_who_and_when() {
        let at: jiff::Timestamp = "2026-01-02T03:04:05.678Z".parse().unwrap();
        let ok = ResultExtra::decided(PushDecision::Approved, "mac", at).to_map();
        assert_eq!(
            Value::Object(ok),
            json!({"pushed": true, "pushDecision": "approved",
                   "decidedAt": "2026-01-02T03:04:05Z", "decidedBy": "mac"})
        );
        let no = ResultExtra::decided(PushDecision::Rejected, "mac", at).to_map();
        assert_eq!(
            Value::Object(no),
            json!({"pushDecision": "rejected", "decidedAt": "2026-01-02T03:04:05Z",
                   "decidedBy": "mac"})
        );
    }
}
