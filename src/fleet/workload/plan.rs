//! Fan-out as upstream P550's stub planner does it (spec §5.4): the steps of a Workload (its
//! explicit `pipeline`, or pairs synthesized from `issues`), cut at `maxTasks`, and one
//! AgenticTask rendered per step with `dependsOn` rewritten to task names.

use super::{LABEL_STEP, LABEL_WORKLOAD};
use crate::api::workload::PipelineStep;
use crate::api::{AgenticTask, AgenticTaskPayload, AgenticTaskSpec, TaskKind, Workload};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use std::collections::{BTreeMap, HashSet};

/// What kind of fan-out a Workload asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// An explicit `pipeline`, used as written.
    Pipeline,
    /// The `issues` shortcut: a step (or a code/verify pair) per issue.
    Issues,
    /// Only an `intent`: upstream's LLM planner was deferred, so nothing can be planned.
    Intent,
}

impl Mode {
    pub fn of(w: &Workload) -> Mode {
        if w.spec.pipeline.as_ref().is_some_and(|p| !p.is_empty()) {
            Mode::Pipeline
        } else if w.spec.issues.as_ref().is_some_and(|i| !i.is_empty()) {
            Mode::Issues
        } else {
            Mode::Intent
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Pipeline => "pipeline",
            Mode::Issues => "issues",
            Mode::Intent => "intent",
        }
    }
}

/// Why a Workload cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// Intent only, or `issues` without a coder Agent (`NoPlannerOrPipeline`).
    NoPlanner(String),
    /// The steps are not renderable: a duplicate step, a `dependsOn` naming no step, a task
    /// name too long (`RenderError`).
    Invalid(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NoPlanner(m) | PlanError::Invalid(m) => f.write_str(m),
        }
    }
}

/// The rendered tasks, and the number of steps before the `maxTasks` cut.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub mode: Mode,
    pub tasks: Vec<AgenticTask>,
    /// Steps before the cut (equal to `tasks.len()` when nothing was cut).
    pub total: usize,
}

impl Plan {
    pub fn truncated(&self) -> bool {
        self.tasks.len() < self.total
    }
}

/// The task name of step `step` of Workload `wl` (upstream: `<wl>-<step>`).
pub fn task_name(wl: &str, step: &str) -> String {
    format!("{wl}-{step}")
}

/// The steps a Workload asks for, before the cut. Issues mode synthesizes `code-N` (issue-fix
/// by the coder, branch `foreman/issue-N`) and, when a verifier is named, `verify-N`
/// depending on it, as upstream does. Extension: with no verifier, one `code-N` per issue
/// (upstream refuses; `foreman dispatch --workload` names only a coder).
pub fn steps(w: &Workload) -> Result<Vec<PipelineStep>, PlanError> {
    match Mode::of(w) {
        Mode::Pipeline => Ok(w.spec.pipeline.clone().unwrap_or_default()),
        Mode::Issues => issue_steps(w),
        Mode::Intent => Err(PlanError::NoPlanner(
            "only an intent is set and there is no planner: give the Workload a pipeline, or issues with a coderAgentRef"
                .into(),
        )),
    }
}

fn issue_steps(w: &Workload) -> Result<Vec<PipelineStep>, PlanError> {
    let Some(coder) = w
        .spec
        .coder_agent_ref
        .clone()
        .filter(|r| !r.name.is_empty())
    else {
        return Err(PlanError::NoPlanner(
            "issues are set but coderAgentRef is not: name the Agent that fixes them".into(),
        ));
    };
    let verifier = w
        .spec
        .verifier_agent_ref
        .clone()
        .filter(|r| !r.name.is_empty());
    let mut out = Vec::new();
    for &n in w.spec.issues.as_deref().unwrap_or_default() {
        if n < 1 {
            return Err(PlanError::Invalid(format!(
                "issue {n} is not an issue number"
            )));
        }
        let payload = AgenticTaskPayload {
            repo: w.spec.repo.clone(),
            issue: Some(n),
            branch: Some(format!("foreman/issue-{n}")),
            ..Default::default()
        };
        let code = format!("code-{n}");
        out.push(step(
            &code,
            TaskKind::IssueFix,
            coder.clone(),
            payload.clone(),
            None,
        ));
        if let Some(v) = &verifier {
            let deps = Some(vec![code]);
            out.push(step(
                &format!("verify-{n}"),
                TaskKind::Verify,
                v.clone(),
                payload,
                deps,
            ));
        }
    }
    Ok(out)
}

fn step(
    name: &str,
    kind: TaskKind,
    agent_ref: crate::api::LocalObjectReference,
    payload: AgenticTaskPayload,
    depends_on: Option<Vec<String>>,
) -> PipelineStep {
    PipelineStep {
        name: name.to_string(),
        kind,
        agent_ref,
        payload,
        depends_on,
        timeout_seconds: None,
        priority: None,
        gate_profile: None,
    }
}

/// The Workload's tasks: its steps cut at `maxTasks` (> 0), each rendered. A `dependsOn` on a
/// step the cut removed still names that step's task, which then never exists, so the
/// dependent waits rather than running without its input.
pub fn plan(w: &Workload) -> Result<Plan, PlanError> {
    let all = steps(w)?;
    check(w, &all)?;
    let total = all.len();
    let cap = w
        .spec
        .max_tasks
        .filter(|&m| m > 0)
        .map_or(total, |m| m as usize);
    let tasks = all.iter().take(cap).map(|s| render(w, s)).collect();
    Ok(Plan {
        mode: Mode::of(w),
        tasks,
        total,
    })
}

/// Step names unique and well formed, every `dependsOn` a step of this Workload, every task
/// name a valid object name.
fn check(w: &Workload, steps: &[PipelineStep]) -> Result<(), PlanError> {
    let wl = w.metadata.name.as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for s in steps {
        let ok = s
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && s.name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if !ok {
            return Err(PlanError::Invalid(format!(
                "step {:?}: a step name is lower-case letters, digits and '-'",
                s.name
            )));
        }
        if !seen.insert(s.name.as_str()) {
            return Err(PlanError::Invalid(format!(
                "step {:?} appears twice",
                s.name
            )));
        }
        if task_name(wl, &s.name).len() > 253 {
            return Err(PlanError::Invalid(format!(
                "task name {:?} is longer than 253 characters",
                task_name(wl, &s.name)
            )));
        }
    }
    for s in steps {
        for d in s.depends_on.as_deref().unwrap_or_default() {
            if !seen.contains(d.as_str()) {
                return Err(PlanError::Invalid(format!(
                    "step {:?} depends on {d:?}, which is not a step of this Workload",
                    s.name
                )));
            }
        }
    }
    Ok(())
}

/// One step as its AgenticTask: named `<wl>-<step>`, labelled with the Workload and step,
/// owned by the Workload (a controller reference, when the Workload has a uid, so deleting it
/// on a cluster deletes its tasks), `dependsOn` rewritten to task names.
pub fn render(w: &Workload, s: &PipelineStep) -> AgenticTask {
    let wl = w.metadata.name.clone().unwrap_or_default();
    let mut payload = s.payload.clone();
    if payload.repo.is_none() {
        payload.repo = w.spec.repo.clone();
    }
    let spec = AgenticTaskSpec {
        kind: s.kind,
        model_ref: None,
        agent_ref: Some(s.agent_ref.clone()),
        required_capability: None,
        payload,
        timeout_seconds: s.timeout_seconds,
        depends_on: s
            .depends_on
            .as_ref()
            .map(|d| d.iter().map(|d| task_name(&wl, d)).collect()),
        priority: s.priority,
        gate_profile: s
            .gate_profile
            .clone()
            .or_else(|| w.spec.gate_profile.clone()),
        verdict_policy: w.spec.verdict_policy.clone(),
        mcp_enabled: w.spec.mcp_enabled,
        gate: None,
    };
    let mut t = AgenticTask::new(&task_name(&wl, &s.name), spec);
    t.metadata = ObjectMeta {
        name: t.metadata.name.take(),
        namespace: w.metadata.namespace.clone(),
        labels: Some(BTreeMap::from([
            (LABEL_WORKLOAD.to_string(), wl.clone()),
            (LABEL_STEP.to_string(), s.name.clone()),
        ])),
        owner_references: owner_ref(w).map(|o| vec![o]),
        ..Default::default()
    };
    t
}

/// The controller reference to `w`, when it has a uid (the apiserver gives every object one;
/// the embedded store does not, and there the label links the tasks).
pub fn owner_ref(w: &Workload) -> Option<OwnerReference> {
    let uid = w.metadata.uid.clone().filter(|u| !u.is_empty())?;
    Some(OwnerReference {
        api_version: Workload::api_version(&()).to_string(),
        kind: Workload::kind(&()).to_string(),
        name: w.metadata.name.clone().unwrap_or_default(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}
