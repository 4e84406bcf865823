//! The planner against upstream P550's own example Workloads, and the rollup's rules.

use super::*;
use crate::api::{Object, TaskPhase, Verdict, load_str};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/upstream/43516088/examples"
);

fn fixture(name: &str) -> Workload {
    let path = format!("{FIXTURES}/{name}");
    let text = std::fs::read_to_string(&path).unwrap();
    match load_str(&path, &text).unwrap().remove(0) {
        Object::Workload(w) => *w,
        other => panic!("{name}: not a Workload: {}", other.kind()),
    }
}

fn at(s: i64) -> Time {
    Time(jiff::Timestamp::from_second(s).unwrap())
}

fn cond<'a>(
    st: &'a WorkloadStatus,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    st.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

/// Applies a reconcile as a backend would: the created tasks join `tasks`, the status lands.
fn step(w: &mut Workload, tasks: &mut Vec<AgenticTask>, now: i64) -> Reconcile {
    let r = reconcile(w, &tasks.iter().collect::<Vec<_>>(), &at(now));
    tasks.extend(r.create.iter().cloned());
    if let Some(s) = &r.status {
        w.status = Some(s.clone());
    }
    r
}

fn finish(tasks: &mut [AgenticTask], name: &str, phase: TaskPhase, verdict: Option<Verdict>) {
    let t = tasks
        .iter_mut()
        .find(|t| t.metadata.name.as_deref() == Some(name))
        .unwrap();
    let s = t.status.get_or_insert_with(Default::default);
    s.phase = Some(phase);
    s.verdict = verdict;
}

#[test]
fn an_explicit_pipeline_renders_a_task_per_step_with_depends_on_rewritten() {
    let mut w = fixture("workload-explicit-pipeline.yaml");
    w.metadata.uid = Some("uid-1".into());
    let mut tasks = Vec::new();
    let r = step(&mut w, &mut tasks, 1);
    let names: Vec<_> = r
        .create
        .iter()
        .map(|t| t.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        ["linter-fix-503-code-503", "linter-fix-503-verify-503"]
    );
    let verify = &r.create[1];
    assert_eq!(
        verify.spec.depends_on.as_deref(),
        Some(&["linter-fix-503-code-503".to_string()][..])
    );
    assert_eq!(verify.spec.kind, crate::api::TaskKind::Verify);
    assert_eq!(verify.spec.timeout_seconds, Some(3900));
    let labels = verify.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[LABEL_WORKLOAD], "linter-fix-503");
    assert_eq!(labels[LABEL_STEP], "verify-503");
    let owner = &verify.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Workload", "uid-1", Some(true))
    );
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(WorkloadPhase::Planned));
    assert_eq!(st.planner_model.as_deref(), Some(STUB_PLANNER));
    assert_eq!(st.tasks.as_ref().map(Vec::len), Some(2));
    assert_eq!(cond(&st, COND_PLANNED).unwrap().reason, REASON_PLANNED);
    assert!(cond(&st, COND_TRUNCATED).is_none());
    // Re-planning creates nothing twice and rewrites nothing.
    let again = step(&mut w, &mut tasks, 2);
    assert!(again.create.is_empty(), "{:?}", again.create);
    assert_eq!(tasks.len(), 2);
}

#[test]
fn the_issues_shortcut_pairs_code_and_verify_per_issue() {
    let mut w = fixture("workload-memorial-day-v5.yaml");
    let mut tasks = Vec::new();
    let r = step(&mut w, &mut tasks, 1);
    assert_eq!(r.create.len(), 12);
    let code = &r.create[0];
    assert_eq!(
        code.metadata.name.as_deref(),
        Some("memorial-day-v5-code-531")
    );
    assert_eq!(code.spec.kind, crate::api::TaskKind::IssueFix);
    assert_eq!(code.spec.payload.issue, Some(531));
    assert_eq!(
        code.spec.payload.branch.as_deref(),
        Some("foreman/issue-531")
    );
    assert_eq!(
        code.spec.payload.repo.as_deref(),
        Some("defilantech/LLMKube")
    );
    assert_eq!(
        code.spec.agent_ref.as_ref().unwrap().name,
        "qwen36-35b-carnice-mtp-coder"
    );
    // No uid in this store: the label links the task, no owner reference is made up.
    assert!(code.metadata.owner_references.is_none());
    let verify = &r.create[1];
    assert_eq!(
        verify.metadata.name.as_deref(),
        Some("memorial-day-v5-verify-531")
    );
    assert_eq!(verify.spec.agent_ref.as_ref().unwrap().name, "gate");
    assert_eq!(
        verify.spec.depends_on.as_deref(),
        Some(&["memorial-day-v5-code-531".to_string()][..])
    );
    // Without a verifier: one task per issue (extension); without a coder: nothing to plan.
    w.spec.verifier_agent_ref = None;
    let p = plan(&w).unwrap();
    assert_eq!(p.tasks.len(), 6);
    assert!(p.tasks.iter().all(|t| t.spec.depends_on.is_none()));
    w.spec.coder_agent_ref = None;
    assert!(matches!(plan(&w), Err(PlanError::NoPlanner(_))));
}

#[test]
fn max_tasks_cuts_the_steps_and_says_truncated() {
    let mut w = fixture("workload-memorial-day-v5.yaml");
    w.spec.max_tasks = Some(5);
    let mut tasks = Vec::new();
    let r = step(&mut w, &mut tasks, 1);
    assert_eq!(r.create.len(), 5);
    let st = w.status.unwrap();
    let c = cond(&st, COND_TRUNCATED).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", REASON_MAX_TASKS)
    );
    assert!(c.message.contains("5 of 12"), "{}", c.message);
    // 0 means unlimited.
    let mut w = fixture("workload-memorial-day-v5.yaml");
    w.spec.max_tasks = Some(0);
    assert!(!plan(&w).unwrap().truncated());
}

#[test]
fn intent_only_fails_with_no_planner_or_pipeline_and_creates_nothing() {
    let mut w = fixture("workload-fix-small-bugs.yaml");
    w.spec.issues = None;
    let mut tasks = Vec::new();
    let r = step(&mut w, &mut tasks, 1);
    assert!(r.create.is_empty());
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(WorkloadPhase::Failed));
    let c = cond(&st, COND_PLANNED).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", REASON_NO_PLANNER)
    );
    // Said once: the next reconcile has nothing to write.
    assert_eq!(step(&mut w, &mut tasks, 2), Reconcile::default());
}

#[test]
fn bad_steps_are_a_render_error_naming_the_step() {
    let mut w = fixture("workload-explicit-pipeline.yaml");
    w.spec.pipeline.as_mut().unwrap()[1].depends_on = Some(vec!["nope".into()]);
    let r = step(&mut w, &mut Vec::new(), 1);
    assert!(r.create.is_empty());
    let c = cond(w.status.as_ref().unwrap(), COND_PLANNED)
        .unwrap()
        .clone();
    assert_eq!(c.reason, REASON_RENDER_ERROR);
    assert!(c.message.contains("\"nope\""), "{}", c.message);
    let mut w = fixture("workload-explicit-pipeline.yaml");
    let p = w.spec.pipeline.as_mut().unwrap();
    p[1].name = p[0].name.clone();
    assert!(matches!(plan(&w), Err(PlanError::Invalid(m)) if m.contains("twice")));
}

#[test]
fn a_partial_create_is_finished_by_the_next_reconcile() {
    let w = fixture("workload-explicit-pipeline.yaml");
    let first = plan(&w).unwrap().tasks[0].clone();
    let r = reconcile(&w, &[&first], &at(1));
    let names: Vec<_> = r
        .create
        .iter()
        .map(|t| t.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["linter-fix-503-verify-503"]);
}

#[test]
fn rollup_completes_only_when_every_task_is_on_target() {
    let mut w = fixture("workload-explicit-pipeline.yaml");
    let mut tasks = Vec::new();
    step(&mut w, &mut tasks, 1);
    step(&mut w, &mut tasks, 2);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(WorkloadPhase::Dispatched));
    assert_eq!(cond(&st, COND_DISPATCHED).unwrap().reason, REASON_IN_FLIGHT);
    finish(
        &mut tasks,
        "linter-fix-503-code-503",
        TaskPhase::Succeeded,
        Some(Verdict::Go),
    );
    step(&mut w, &mut tasks, 3);
    assert_eq!(
        w.status.as_ref().unwrap().phase,
        Some(WorkloadPhase::Dispatched)
    );
    finish(
        &mut tasks,
        "linter-fix-503-verify-503",
        TaskPhase::Succeeded,
        Some(Verdict::GatePass),
    );
    step(&mut w, &mut tasks, 4);
    let st = w.status.clone().unwrap();
    assert_eq!(st.phase, Some(WorkloadPhase::Completed));
    assert_eq!(
        (st.succeeded_tasks, st.failed_tasks, st.incomplete_tasks),
        (Some(2), Some(0), Some(0))
    );
    let c = cond(&st, COND_COMPLETED).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", REASON_ALL_SUCCEEDED)
    );
    assert_eq!(cond(&st, COND_DISPATCHED).unwrap().status, "False");
    assert_eq!(step(&mut w, &mut tasks, 5), Reconcile::default());
}

#[test]
fn rollup_with_a_failed_stage_fails_the_workload() {
    let mut w = fixture("workload-explicit-pipeline.yaml");
    let mut tasks = Vec::new();
    step(&mut w, &mut tasks, 1);
    finish(
        &mut tasks,
        "linter-fix-503-code-503",
        TaskPhase::Succeeded,
        Some(Verdict::Go),
    );
    finish(
        &mut tasks,
        "linter-fix-503-verify-503",
        TaskPhase::Failed,
        Some(Verdict::GateFail),
    );
    step(&mut w, &mut tasks, 2);
    let st = w.status.unwrap();
    assert_eq!(st.phase, Some(WorkloadPhase::Failed));
    assert_eq!((st.succeeded_tasks, st.failed_tasks), (Some(1), Some(1)));
    assert_eq!(
        cond(&st, COND_COMPLETED).unwrap().reason,
        REASON_CHILDREN_FAILED
    );
}

#[test]
fn incomplete_counts_as_incomplete_not_as_succeeded() {
    let mut w = fixture("workload-explicit-pipeline.yaml");
    let mut tasks = Vec::new();
    step(&mut w, &mut tasks, 1);
    finish(
        &mut tasks,
        "linter-fix-503-code-503",
        TaskPhase::Succeeded,
        Some(Verdict::Go),
    );
    finish(
        &mut tasks,
        "linter-fix-503-verify-503",
        TaskPhase::Succeeded,
        Some(Verdict::Incomplete),
    );
    step(&mut w, &mut tasks, 2);
    let st = w.status.unwrap();
    assert_eq!(st.phase, Some(WorkloadPhase::Failed));
    assert_eq!(
        (st.succeeded_tasks, st.incomplete_tasks, st.failed_tasks),
        (Some(1), Some(1), Some(0))
    );
    let c = cond(&st, COND_COMPLETED).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", REASON_CHILDREN_INCOMPLETE)
    );
}

#[test]
fn tasks_of_another_workload_or_namespace_are_not_children() {
    let w = fixture("workload-explicit-pipeline.yaml");
    let mut t = plan(&w).unwrap().tasks.remove(0);
    assert!(is_child(&w, &t));
    t.metadata.namespace = Some("other".into());
    assert!(!is_child(&w, &t));
}
