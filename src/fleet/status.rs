//! Small helpers that edit a task's status the same way everywhere (conditions, failures,
//! Result extras).

use crate::api::{AgenticTask, AgenticTaskStatus, TaskPhase, Verdict};
use crate::fleet::extra::ResultExtra;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Now, in whole seconds: what a Kubernetes `Time` keeps on the wire, so the in-memory copy
/// equals the one read back from disk.
pub fn now() -> Time {
    let t = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(t.as_second()).unwrap_or(t))
}

pub fn status_mut(t: &mut AgenticTask) -> &mut AgenticTaskStatus {
    t.status.get_or_insert_with(Default::default)
}

/// Sets (replacing any of the same type) a condition; returns whether anything changed. The
/// transition time follows the Kubernetes rule ([`crate::fleet::condition::upsert`]).
pub fn set_condition(
    t: &mut AgenticTask,
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
) -> bool {
    let conds = status_mut(t).conditions.get_or_insert_with(Vec::new);
    crate::fleet::condition::upsert(conds, type_, ok, reason, message, &now())
}

/// Drops a condition of this type; returns whether one was there.
pub fn clear_condition(t: &mut AgenticTask, type_: &str) -> bool {
    let Some(conds) = t.status.as_mut().and_then(|s| s.conditions.as_mut()) else {
        return false;
    };
    let before = conds.len();
    conds.retain(|c| c.type_ != type_);
    before != conds.len()
}

/// The claim of a task for `node`: `Running` since now, condition `Running=True`/`Claimed`
/// (the agent's claim and the embedded launch write it alike).
pub fn mark_claimed(t: &mut AgenticTask, node: &str) {
    let s = status_mut(t);
    s.phase = Some(TaskPhase::Running);
    let at = now();
    s.claimed_at = Some(at.clone());
    s.started_at = Some(at);
    set_condition(t, "Running", true, "Claimed", &format!("claimed by {node}"));
}

/// Phase Failed, verdict INCOMPLETE, condition Completed=False with `reason`, and HEAD's
/// `failureReason` category of it (upstream's watcher writes `InfrastructureError` on every
/// executor error; a cascade from a failed dependency leaves it unset, as upstream does).
pub fn fail_with(t: &mut AgenticTask, reason: &str, message: &str) {
    let s = status_mut(t);
    s.phase = Some(TaskPhase::Failed);
    s.verdict = Some(Verdict::Incomplete);
    s.failure_reason = crate::fleet::reasons::failure_reason_of(reason);
    s.finished_at = Some(now());
    set_condition(t, "Completed", false, reason, message);
}

/// The Result envelope's verdict string as the CRD enum (a model ERROR is INCOMPLETE).
pub fn verdict_of(s: &str) -> Verdict {
    match s {
        "GO" => Verdict::Go,
        "NO-GO" => Verdict::NoGo,
        "GATE-PASS" => Verdict::GatePass,
        "GATE-FAIL" => Verdict::GateFail,
        "GATE-ERROR" => Verdict::GateError,
        "Skipped" => Verdict::Skipped,
        _ => Verdict::Incomplete,
    }
}

/// `status.result.extra`, typed (empty when there is none or it is unreadable).
pub fn result_extra(t: &AgenticTask) -> ResultExtra {
    let result = t.status.as_ref().and_then(|s| s.result.as_ref());
    ResultExtra::from_value(result.and_then(|r| r.get("extra")))
}

/// The coder gate run `status.result` records (`extra.gate`), if any.
pub fn gate_run(t: &AgenticTask) -> Option<crate::api::gate::GateRun> {
    crate::api::gate::GateRun::of_result(t.status.as_ref()?.result.as_ref())
}

/// Merges the set fields of `extra` into `status.result.extra` (creating the objects if
/// needed); every other key stays as it is.
pub fn merge_extra(t: &mut AgenticTask, extra: &ResultExtra) {
    let s = status_mut(t);
    let result = s
        .result
        .get_or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !result.is_object() {
        *result = serde_json::Value::Object(Default::default());
    }
    if let Some(obj) = result.as_object_mut() {
        let old = obj
            .entry("extra")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !old.is_object() {
            *old = serde_json::Value::Object(Default::default());
        }
        if let Some(e) = old.as_object_mut() {
            e.extend(extra.to_map());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::extra::PushDecision;
    use serde_json::json;

    #[test]
    fn merging_extras_keeps_the_other_keys() {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        merge_extra(&mut t, &ResultExtra::pull_request("http://x/pull/1", 1));
        assert_eq!(result_extra(&t).pr_number, Some(1));
        status_mut(&mut t).result = Some(json!({"verdict": "GO",
            "extra": {"pushed": false, "branch": "b", "vendor": 1}}));
        let at = jiff::Timestamp::from_second(0).unwrap();
        merge_extra(
            &mut t,
            &ResultExtra::decided(PushDecision::Approved, "n", at),
        );
        let r = t.status.as_ref().unwrap().result.as_ref().unwrap();
        assert_eq!(r["verdict"], "GO");
        assert_eq!(r["extra"]["pushed"], true);
        assert_eq!(
            (&r["extra"]["branch"], &r["extra"]["vendor"]),
            (&json!("b"), &json!(1))
        );
        assert_eq!(result_extra(&t).push_decision, Some(PushDecision::Approved));
    }
}
