//! A task's summary: the task with only what the queue, its sort and filter, the fleet pane
//! and the scheduling pass read (name, state, verdict, failure reason, node, age, priority,
//! turn count, gate, issue), marked with [`SUMMARY_ANNOTATION`]. The local store keeps one per
//! task beside the manifest so a start with thousands of finished tasks never parses their
//! full manifests; the full task is loaded when something asks for it (the detail pane, the
//! transcript, an approval), and a summary is never written back.

use crate::api::AgenticTask;
use crate::api::gate::GATE_EXTRA;
use crate::fleet::reasons::{REASON_INTERRUPTED, REASON_WAITING};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};

/// Marks a summary (never on a stored manifest).
pub const SUMMARY_ANNOTATION: &str = "foreman.llmkube.dev/summary";

/// The annotations a summary keeps (the attempt number is in the queue's detail).
const KEPT_ANNOTATIONS: &[&str] = &["foreman.llmkube.dev/attempt"];

/// The Result extras a summary keeps: what `task_state`, the queue's cells and the failure
/// reason read.
const KEPT_EXTRAS: &[&str] = &[
    "turnCount",
    "pushed",
    "prUrl",
    "prNumber",
    "pushDecision",
    "reason",
    "outcome",
    "error",
    "transcriptRef",
    GATE_EXTRA,
];

/// Whether `t` is a summary (load the full task before showing or acting on more).
pub fn is_summary(t: &AgenticTask) -> bool {
    t.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(SUMMARY_ANNOTATION))
}

/// The summary of a full task.
pub fn summary(t: &AgenticTask) -> AgenticTask {
    let m = &t.metadata;
    let mut annotations: std::collections::BTreeMap<String, String> = m
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| KEPT_ANNOTATIONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.insert(SUMMARY_ANNOTATION.into(), "true".into());
    let metadata = ObjectMeta {
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        resource_version: m.resource_version.clone(),
        creation_timestamp: m.creation_timestamp.clone(),
        labels: m.labels.clone(),
        annotations: Some(annotations),
        ..Default::default()
    };
    let mut spec = t.spec.clone();
    spec.payload.prompt = None;
    let status = t.status.as_ref().map(|s| {
        // The last condition (a failure's reason) and the reasons task_state looks for.
        let n = s.conditions.as_ref().map_or(0, Vec::len);
        let conditions = s.conditions.as_ref().map(|cs| {
            cs.iter()
                .enumerate()
                .filter(|(i, c)| {
                    i + 1 == n || c.reason == REASON_WAITING || c.reason == REASON_INTERRUPTED
                })
                .map(|(_, c)| c.clone())
                .collect()
        });
        crate::api::AgenticTaskStatus {
            phase: s.phase,
            assigned_node: s.assigned_node.clone(),
            verdict: s.verdict,
            failure_reason: s.failure_reason,
            transcript_ref: s.transcript_ref.clone(),
            result: s.result.as_ref().map(result_summary),
            conditions,
            ..Default::default()
        }
    });
    AgenticTask {
        metadata,
        spec,
        status,
    }
}

fn result_summary(r: &Value) -> Value {
    let mut out = Map::new();
    if let Some(v) = r.get("verdict") {
        out.insert("verdict".into(), v.clone());
    }
    if let Some(Value::Object(e)) = r.get("extra") {
        let kept: Map<String, Value> = e
            .iter()
            .filter(|(k, _)| KEPT_EXTRAS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert("extra".into(), Value::Object(kept));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::task_state;
    use serde_json::json;

    fn finished(extra: Value, reason: &str) -> AgenticTask {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t, namespace: default, resourceVersion: \"7\"}\nspec:\n  kind: issue-fix\n  priority: 3\n  payload: {repo: acme/x, issue: 4, prompt: a long prompt}\n";
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        let mut st = crate::api::AgenticTaskStatus {
            phase: Some(crate::api::TaskPhase::Succeeded),
            verdict: Some(crate::api::Verdict::Go),
            assigned_node: Some("n1".into()),
            result: Some(json!({"verdict": "GO", "summary": "long", "extra": extra})),
            ..Default::default()
        };
        let now = crate::fleet::status::now();
        let cs = st.conditions.get_or_insert_default();
        crate::fleet::condition::upsert(cs, "Running", true, "Started", "m", &now);
        crate::fleet::condition::upsert(cs, "Succeeded", true, reason, "done", &now);
        t.status = Some(st);
        *t
    }

    #[test]
    fn a_summary_keeps_the_state_the_queue_reads_and_drops_the_rest() {
        for extra in [
            json!({"pushed": false, "branch": "b", "turnCount": 3}),
            json!({"pushed": true, "prUrl": "http://x/pull/1", "modelSummary": "s"}),
            json!({"pushed": false, "pushDecision": "rejected"}),
        ] {
            let t = finished(extra, "Done");
            let s = summary(&t);
            assert!(is_summary(&s) && !is_summary(&t));
            assert_eq!(task_state(&s), task_state(&t));
            assert_eq!(s.spec.payload.prompt, None);
            assert_eq!(s.spec.priority, Some(3));
            assert_eq!(s.metadata.resource_version.as_deref(), Some("7"));
            let st = s.status.as_ref().unwrap();
            assert_eq!(st.assigned_node.as_deref(), Some("n1"));
            assert_eq!(st.conditions.as_ref().unwrap().len(), 1, "only the last");
            let r = st.result.as_ref().unwrap();
            assert!(r.get("summary").is_none() && r["extra"].get("modelSummary").is_none());
            assert!(r["extra"].get("branch").is_none());
        }
    }
}
