use super::*;
use crate::api::{AgenticTaskStatus, FleetNode, TaskPhase, Verdict};
use serde_json::json;

fn task(extra: serde_json::Value, annotation: Option<String>) -> AgenticTask {
    let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
    let crate::api::Object::Task(mut t) = crate::api::load_str("t", yaml).unwrap().remove(0) else {
        panic!("not a task")
    };
    t.status = Some(AgenticTaskStatus {
        phase: Some(TaskPhase::Succeeded),
        verdict: Some(Verdict::Go),
        result: Some(json!({ "extra": extra })),
        ..Default::default()
    });
    if let Some(a) = annotation {
        t.metadata.annotations = Some([(ANNOTATION.to_string(), a)].into());
    }
    *t
}

fn at() -> jiff::Timestamp {
    "2026-01-02T03:04:05.678Z".parse().unwrap()
}

#[test]
fn a_decision_round_trips_as_the_annotation_and_its_ids_differ() {
    let d = Decision::new(Action::RequestChanges, Some("  fix x  "), "u@ctx", at()).unwrap();
    assert_eq!(d.feedback.as_deref(), Some("fix x"));
    assert_eq!(d.at, "2026-01-02T03:04:05Z");
    let wire: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
    assert_eq!(wire["action"], "requestChanges");
    assert_eq!(wire["by"], "u@ctx");
    let t = task(json!({"pushed": false}), Some(d.to_json()));
    assert_eq!(Decision::of(&t), Some(Ok(d.clone())));
    let other = Decision::new(Action::Approve, None, "u@ctx", at()).unwrap();
    assert_ne!(d.id, other.id, "two decisions in one second differ");
    assert!(other.feedback.is_none());
}

#[test]
fn request_changes_needs_bounded_feedback() {
    let e = Decision::new(Action::RequestChanges, Some("  "), "u", at()).unwrap_err();
    assert!(e.contains("empty feedback"), "{e}");
    let long = "x".repeat(FEEDBACK_MAX + 1);
    let e = Decision::new(Action::RequestChanges, Some(&long), "u", at()).unwrap_err();
    assert!(e.contains("16 KiB"), "{e}");
}

#[test]
fn the_stage_follows_the_holders_mark_of_the_same_id() {
    let d = Decision::new(Action::Approve, None, "u", at()).unwrap();
    let ann = Some(d.to_json());
    let mark = |id: &str, stage: &str| json!({"pushed": false, "decision": {"id": id, "stage": stage, "node": "a", "at": "x"}});
    assert_eq!(
        Stage::of(&task(json!({"pushed": false}), None)),
        Stage::None(None)
    );
    assert_eq!(
        Stage::of(&task(json!({"pushed": false}), ann.clone())),
        Stage::Pending(d.clone())
    );
    // A mark of an earlier decision does not count for this one.
    assert_eq!(
        Stage::of(&task(mark("old", "done"), ann.clone())),
        Stage::Pending(d.clone())
    );
    assert_eq!(
        Stage::of(&task(mark(&d.id, "taken"), ann.clone())),
        Stage::Taken(d.clone())
    );
    let ended = Stage::of(&task(mark(&d.id, "failed"), ann.clone()));
    assert!(
        matches!(&ended, Stage::Ended(_, m) if m.stage == Progress::Failed),
        "{ended:?}"
    );
    assert!(ended.open().is_none());
    let bad = Stage::of(&task(json!({}), Some("{not json".into())));
    assert!(matches!(bad, Stage::None(Some(e)) if e.contains(ANNOTATION)));
}

#[test]
fn a_new_decision_is_refused_while_one_is_open_or_the_state_does_not_admit_it() {
    let d = Decision::new(Action::Reject, None, "bob@prod", at()).unwrap();
    let open = task(json!({"pushed": false}), Some(d.to_json()));
    let e = may_decide(&open, Action::Approve).unwrap_err();
    assert!(
        e.contains("already decided: reject the push by bob@prod"),
        "{e}"
    );
    let awaiting = task(json!({"pushed": false}), None);
    assert_eq!(may_decide(&awaiting, Action::Approve), Ok(()));
    let e = may_decide(&awaiting, Action::OpenPr).unwrap_err();
    assert!(
        e.contains("AwaitingApproval") && e.contains("a pushed GO"),
        "{e}"
    );
    let pushed = task(json!({"pushed": true}), None);
    assert_eq!(may_decide(&pushed, Action::OpenPr), Ok(()));
    assert!(may_decide(&pushed, Action::Reject).is_err());
}

#[test]
fn a_node_is_gone_without_a_fleetnode_or_a_recent_heartbeat() {
    let node = |secs: i64| -> FleetNode {
        serde_json::from_value(json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "FleetNode",
            "metadata": {"name": "a"}, "spec": {"nodeName": "a"},
            "status": {"lastHeartbeatTime": jiff::Timestamp::from_second(secs).unwrap().to_string()}
        }))
        .unwrap()
    };
    let now = 1_000_000;
    assert_eq!(gone_for(None, now), Some(None));
    assert_eq!(gone_for(Some(&node(now - 30)), now), None);
    assert_eq!(gone_for(Some(&node(now - 300)), now), Some(Some(300)));
    let d = Decision::new(Action::Approve, None, "u", at()).unwrap();
    assert_eq!(
        waiting_line(&d, "m5", Some(Some(300))),
        "approve the push waits for node m5, gone 5m; withdraw it with u"
    );
    assert!(waiting_line(&d, "m5", Some(None)).contains("no FleetNode"));
    assert!(waiting_line(&d, "m5", None).contains("decided by u"));
}
