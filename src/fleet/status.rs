//! Small helpers that edit a task's status the same way everywhere (conditions, failures,
//! Result extras).

use crate::api::{AgenticTask, AgenticTaskStatus, TaskPhase, Verdict};
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

/// Phase Failed, verdict INCOMPLETE, condition Completed=False with `reason`.
pub fn fail_with(t: &mut AgenticTask, reason: &str, message: &str) {
    let s = status_mut(t);
    s.phase = Some(TaskPhase::Failed);
    s.verdict = Some(Verdict::Incomplete);
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
        _ => Verdict::Incomplete,
    }
}

/// `status.result.extra[key]`.
pub fn extra(t: &AgenticTask, key: &str) -> Option<serde_json::Value> {
    t.status
        .as_ref()?
        .result
        .as_ref()?
        .get("extra")?
        .get(key)
        .cloned()
}

pub fn extra_str(t: &AgenticTask, key: &str) -> Option<String> {
    extra(t, key).and_then(|v| v.as_str().map(str::to_string))
}

/// Sets `status.result.extra[key]`, creating the objects if needed.
pub fn set_extra(t: &mut AgenticTask, key: &str, value: serde_json::Value) {
    let s = status_mut(t);
    let result = s
        .result
        .get_or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !result.is_object() {
        *result = serde_json::Value::Object(Default::default());
    }
    if let Some(obj) = result.as_object_mut() {
        let extra = obj
            .entry("extra")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !extra.is_object() {
            *extra = serde_json::Value::Object(Default::default());
        }
        if let Some(e) = extra.as_object_mut() {
            e.insert(key.to_string(), value);
        }
    }
}
