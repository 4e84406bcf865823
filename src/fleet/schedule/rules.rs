//! Scheduling rules shared by the embedded backend and the cluster scheduler (spec §5.1, minus
//! upstream's gaps: busy nodes, priority and heartbeat freshness are honoured).
//!
//! Pure functions over the API types: no I/O, no clocks (callers pass `now`).

use crate::api::fleetnode::NodeAccelerator;
use crate::api::{
    Accelerator, AgenticTask, FleetNode, FleetNodePhase, RequiredCapability, TaskPhase, Verdict,
};
use std::collections::HashMap;

/// A node whose last heartbeat is older than this is stale (3 × the 30 s interval).
pub const HEARTBEAT_TIMEOUT_SECS: i64 = 90;

/// Where a task's dependencies stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deps {
    /// All dependencies succeeded on target (GO / GATE-PASS).
    Ready,
    /// Some dependency is missing or still in flight.
    Waiting(String),
    /// A dependency failed or finished off target: cascade-fail with this message.
    Failed(String),
}

/// Dependency state of `task` among `tasks` (same namespace, by name).
pub fn deps(task: &AgenticTask, tasks: &HashMap<String, &AgenticTask>) -> Deps {
    for d in task.spec.depends_on.iter().flatten() {
        let Some(dep) = tasks.get(d) else {
            return Deps::Waiting(format!("dependency {d:?} does not exist yet"));
        };
        let status = dep.status.as_ref();
        let phase = status.and_then(|s| s.phase);
        let verdict = status.and_then(|s| s.verdict);
        match phase {
            Some(TaskPhase::Failed) => {
                return Deps::Failed(format!("dependency {d:?} failed; cascade-failing"));
            }
            Some(TaskPhase::Succeeded) if !verdict.is_some_and(Verdict::is_on_target) => {
                return Deps::Failed(format!(
                    "dependency {d:?} ended with verdict={} (not on-target); cascade-failing",
                    verdict.map_or("none", Verdict::as_str)
                ));
            }
            Some(TaskPhase::Succeeded) => {}
            _ => return Deps::Waiting(format!("waiting for dependency {d:?}")),
        }
    }
    Deps::Ready
}

/// Why a node does not fit, or `None` when it does.
pub fn misfit(cap: &RequiredCapability, node: &FleetNode, now_unix: i64) -> Option<String> {
    let status = node.status.as_ref();
    if status.and_then(|s| s.phase) != Some(FleetNodePhase::Ready) {
        return Some("not Ready".into());
    }
    let hb = status
        .and_then(|s| s.last_heartbeat_time.as_ref())
        .map(|t| t.0.as_second());
    match hb {
        Some(t) if now_unix - t <= HEARTBEAT_TIMEOUT_SECS => {}
        _ => return Some(format!("no heartbeat within {HEARTBEAT_TIMEOUT_SECS}s")),
    }
    if status
        .and_then(|s| s.current_task.as_deref())
        .is_some_and(|t| !t.is_empty())
    {
        return Some("busy".into());
    }
    let c = status
        .and_then(|s| s.capability.clone())
        .unwrap_or_default();
    match cap.accelerator {
        None | Some(Accelerator::Any) => {}
        Some(want) => {
            let have = match c.accelerator {
                Some(NodeAccelerator::Metal) => Some(Accelerator::Metal),
                Some(NodeAccelerator::Cuda) => Some(Accelerator::Cuda),
                _ => None,
            };
            if have != Some(want) {
                return Some(format!("accelerator {want:?} required"));
            }
        }
    }
    if let Some(min) = cap.min_ram_gb.filter(|m| *m > 0)
        && c.available_ram_gb.unwrap_or(0) < min
    {
        return Some(format!("needs {min} GB available RAM"));
    }
    if let Some(min) = cap.min_context_tokens.filter(|m| *m > 0)
        && c.max_context_tokens.unwrap_or(0) < min
    {
        return Some(format!("needs a {min}-token context"));
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    for (k, v) in cap.node_selector.iter().flatten() {
        if labels.get(k) != Some(v) {
            return Some(format!("label {k}={v} required"));
        }
    }
    let roles = node.spec.roles.clone().unwrap_or_default();
    for r in cap.roles.iter().flatten() {
        if !roles.contains(r) {
            return Some(format!("role {r} required"));
        }
    }
    None
}

/// Order in which pending tasks are considered: higher `priority` first, then older first,
/// then by name (stable and deterministic).
pub fn queue_order(a: &AgenticTask, b: &AgenticTask) -> std::cmp::Ordering {
    let prio = |t: &AgenticTask| t.spec.priority.unwrap_or(0);
    let created = |t: &AgenticTask| t.metadata.creation_timestamp.as_ref().map(|c| c.0);
    prio(b)
        .cmp(&prio(a))
        .then_with(|| created(a).cmp(&created(b)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AgenticTaskStatus, FleetNodeCapability, FleetNodeSpec, FleetNodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const NOW: i64 = 1_800_000_000;

    fn node(name: &str, ram: i32, acc: NodeAccelerator, hb_age: i64) -> FleetNode {
        let mut n = FleetNode::new(
            name,
            FleetNodeSpec {
                node_name: name.into(),
                ..Default::default()
            },
        );
        n.status = Some(FleetNodeStatus {
            phase: Some(FleetNodePhase::Ready),
            last_heartbeat_time: Some(Time(jiff::Timestamp::from_second(NOW - hb_age).unwrap())),
            capability: Some(FleetNodeCapability {
                accelerator: Some(acc),
                available_ram_gb: Some(ram),
                max_context_tokens: Some(131072),
                ..Default::default()
            }),
            ..Default::default()
        });
        n
    }

    fn task(name: &str, prio: Option<i32>, deps: &[&str]) -> AgenticTask {
        let yaml = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: freeform\n  payload: {{prompt: x}}\n"
        );
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", &yaml).unwrap().remove(0)
        else {
            panic!()
        };
        t.spec.priority = prio;
        t.spec.depends_on =
            (!deps.is_empty()).then(|| deps.iter().map(|s| s.to_string()).collect());
        *t
    }

    fn with_status(mut t: AgenticTask, phase: TaskPhase, verdict: Option<Verdict>) -> AgenticTask {
        t.status = Some(AgenticTaskStatus {
            phase: Some(phase),
            verdict,
            ..Default::default()
        });
        t
    }

    #[test]
    fn misfit_names_stale_busy_small_and_wrong_accelerator_nodes() {
        let cap = RequiredCapability {
            min_ram_gb: Some(16),
            accelerator: Some(Accelerator::Metal),
            ..Default::default()
        };
        let mut busy = node("a-busy", 64, NodeAccelerator::Metal, 5);
        busy.status.as_mut().unwrap().current_task = Some("default/x".into());
        let nodes = [
            busy,
            node("b-stale", 64, NodeAccelerator::Metal, 200),
            node("c-small", 8, NodeAccelerator::Metal, 5),
            node("d-cuda", 64, NodeAccelerator::Cuda, 5),
            node("e-fit", 64, NodeAccelerator::Metal, 5),
        ];
        let reasons: Vec<Option<String>> = nodes.iter().map(|n| misfit(&cap, n, NOW)).collect();
        assert_eq!(reasons[4], None, "e-fit fits");
        assert!(reasons[..4].iter().all(Option::is_some), "{reasons:?}");
        assert!(reasons[0].as_ref().unwrap().contains("busy"));
        assert!(reasons[1].as_ref().unwrap().contains("heartbeat"));
    }

    #[test]
    fn dependencies_wait_fail_and_pass() {
        let ok = with_status(
            task("a", None, &[]),
            TaskPhase::Succeeded,
            Some(Verdict::Go),
        );
        let off = with_status(
            task("b", None, &[]),
            TaskPhase::Succeeded,
            Some(Verdict::NoGo),
        );
        let run = with_status(task("c", None, &[]), TaskPhase::Running, None);
        let map: HashMap<String, &AgenticTask> = [
            ("a".to_string(), &ok),
            ("b".to_string(), &off),
            ("c".to_string(), &run),
        ]
        .into();
        assert_eq!(deps(&task("t", None, &["a"]), &map), Deps::Ready);
        assert!(matches!(
            deps(&task("t", None, &["a", "c"]), &map),
            Deps::Waiting(_)
        ));
        assert!(matches!(
            deps(&task("t", None, &["zz"]), &map),
            Deps::Waiting(_)
        ));
        match deps(&task("t", None, &["b"]), &map) {
            Deps::Failed(m) => assert!(m.contains("verdict=NO-GO")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn priority_then_age_then_name() {
        let mut v = [
            task("b", None, &[]),
            task("c", Some(5), &[]),
            task("a", None, &[]),
        ];
        v.sort_by(queue_order);
        let names: Vec<_> = v.iter().map(|t| t.metadata.name.clone().unwrap()).collect();
        assert_eq!(names, ["c", "a", "b"]);
    }
}
