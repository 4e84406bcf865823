use super::*;
use crate::api::fleetnode::NodeAccelerator;
use crate::api::{
    AgentSpec, AgenticTaskPayload, AgenticTaskSpec, AgenticTaskStatus, FleetNodeCapability,
    FleetNodeSpec, FleetNodeStatus, LocalObjectReference, TaskKind, Verdict,
};

const NOW: i64 = 1_800_000_000;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).unwrap()
}

fn ago(secs: i64) -> Time {
    Time(jiff::Timestamp::from_second(NOW - secs).unwrap())
}

fn node(name: &str, phase: FleetNodePhase, hb_age: Option<i64>) -> FleetNode {
    let mut n = FleetNode::new(
        name,
        FleetNodeSpec {
            node_name: name.into(),
            ..Default::default()
        },
    );
    n.metadata.resource_version = Some(format!("{name}-rv"));
    n.status = Some(FleetNodeStatus {
        phase: Some(phase),
        last_heartbeat_time: hb_age.map(ago),
        capability: Some(FleetNodeCapability {
            accelerator: Some(NodeAccelerator::Metal),
            available_ram_gb: Some(64),
            max_context_tokens: Some(131072),
            ..Default::default()
        }),
        ..Default::default()
    });
    n
}

fn ready(name: &str) -> FleetNode {
    node(name, FleetNodePhase::Ready, Some(5))
}

fn labelled(mut n: FleetNode, k: &str, v: &str) -> FleetNode {
    n.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(k.into(), v.into());
    n
}

fn task(name: &str) -> AgenticTask {
    let mut t = AgenticTask::new(
        name,
        AgenticTaskSpec {
            kind: TaskKind::Freeform,
            model_ref: None,
            agent_ref: None,
            required_capability: None,
            payload: AgenticTaskPayload {
                prompt: Some("x".into()),
                ..Default::default()
            },
            timeout_seconds: None,
            depends_on: None,
            priority: None,
            gate_profile: None,
            verdict_policy: None,
            mcp_enabled: None,
            gate: None,
        },
    );
    t.metadata.namespace = Some("ns".into());
    t.metadata.resource_version = Some(format!("{name}-rv"));
    t.metadata.creation_timestamp = Some(ago(100));
    t
}

fn phase(mut t: AgenticTask, p: TaskPhase) -> AgenticTask {
    t.status.get_or_insert_with(Default::default).phase = Some(p);
    t
}

fn pending(name: &str) -> AgenticTask {
    phase(task(name), TaskPhase::Pending)
}

fn agent(name: &str, cap: Option<RequiredCapability>) -> Agent {
    let spec: AgentSpec = serde_json::from_value(
        json!({"role": "coder", "systemPrompt": "s", "tools": ["read_file"]}),
    )
    .unwrap();
    let mut a = Agent::new(
        name,
        AgentSpec {
            required_capability: cap,
            ..spec
        },
    );
    a.metadata.namespace = Some("ns".into());
    a
}

fn arcs<K>(v: Vec<K>) -> Vec<Arc<K>> {
    v.into_iter().map(Arc::new).collect()
}

fn run(tasks: Vec<AgenticTask>, nodes: Vec<FleetNode>, agents: Vec<Agent>) -> Vec<Action> {
    plan(
        &arcs(tasks),
        &arcs(nodes),
        &arcs(agents),
        &Scope::default(),
        now(),
    )
}

fn task_target(name: &str) -> Target {
    Target::Task {
        namespace: "ns".into(),
        name: name.into(),
    }
}

fn node_target(name: &str) -> Target {
    Target::Node { name: name.into() }
}

/// The targets of the NodeStale actions, in order.
fn stale_targets(actions: &[Action]) -> Vec<Target> {
    actions
        .iter()
        .filter(|a| a.what == What::NodeStale)
        .map(|a| a.target.clone())
        .collect()
}

fn placements(actions: &[Action]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter_map(|a| match (&a.target, &a.what) {
            (Target::Task { name, .. }, What::Schedule { node }) => {
                Some((name.clone(), node.clone()))
            }
            _ => None,
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn cond<'a>(patch: &'a Value, type_: &str) -> &'a Value {
    patch["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {patch}"))
}

#[test]
fn new_tasks_become_pending_first() {
    let actions = run(vec![task("a")], vec![ready("n1")], vec![]);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].target, task_target("a"));
    assert_eq!(actions[0].what, What::MarkPending);
    assert_eq!(
        actions[0].patch,
        json!({"metadata": {"resourceVersion": "a-rv"}, "status": {"phase": "Pending"}})
    );
}

#[test]
fn higher_priority_goes_first_on_the_one_free_node() {
    let low = pending("low");
    let mut high = pending("high");
    high.spec.priority = Some(10);
    // Created later than `low`, but priority wins over age.
    high.metadata.creation_timestamp = Some(ago(10));
    let actions = run(vec![low, high], vec![ready("n1")], vec![]);
    assert_eq!(placements(&actions), pairs(&[("high", "n1")]));
    let a = &actions[0];
    assert_eq!(a.patch["metadata"]["resourceVersion"], "high-rv");
    assert_eq!(a.patch["status"]["phase"], "Scheduled");
    assert_eq!(a.patch["status"]["assignedNode"], "n1");
    let c = cond(&a.patch, "Scheduled");
    assert_eq!(c["status"], "True");
    assert_eq!(c["reason"], "FleetNodeAssigned");
    assert_eq!(c["message"], "scheduled to FleetNode \"n1\"");
    // `low` just waits: nothing to write.
    assert_eq!(actions.len(), 1, "{actions:#?}");
}

#[test]
fn busy_nodes_are_skipped_and_a_pass_books_each_node_once() {
    let mut current = ready("a-current");
    current.status.as_mut().unwrap().current_task = Some("ns/other".into());
    // Assigned but not yet claimed by its agent: busy through the task, not currentTask.
    let mut claimed = phase(task("claimed"), TaskPhase::Scheduled);
    claimed.status.as_mut().unwrap().assigned_node = Some("b-assigned".into());
    let mut running = phase(task("running"), TaskPhase::Running);
    running.status.as_mut().unwrap().assigned_node = Some("c-running".into());
    let nodes = vec![
        current,
        ready("b-assigned"),
        ready("c-running"),
        ready("d-free"),
        ready("e-free"),
    ];
    let tasks = vec![
        claimed,
        running,
        pending("t1"),
        pending("t2"),
        pending("t3"),
    ];
    let actions = run(tasks, nodes, vec![]);
    assert_eq!(
        placements(&actions),
        pairs(&[("t1", "d-free"), ("t2", "e-free")])
    );
    // t3 would fit an idle node: it waits without a condition write.
    assert!(actions.iter().all(|a| a.target != task_target("t3")));
}

#[test]
fn cascade_fails_dependants_in_one_pass() {
    let up = phase(task("up"), TaskPhase::Failed);
    let mut mid = pending("mid");
    mid.spec.depends_on = Some(vec!["up".into()]);
    let mut down = pending("down");
    down.spec.depends_on = Some(vec!["mid".into()]);
    let mut off = phase(task("off"), TaskPhase::Succeeded);
    off.status.as_mut().unwrap().verdict = Some(Verdict::NoGo);
    let mut after_off = pending("after-off");
    after_off.spec.depends_on = Some(vec!["off".into()]);
    // Listed before its dependency: the fixpoint still gets it in this pass.
    let actions = run(
        vec![down, mid, up, off, after_off],
        vec![ready("n1")],
        vec![],
    );
    let fails: Vec<(&Target, &str, &str)> = actions
        .iter()
        .filter_map(|a| match &a.what {
            What::Fail {
                reason, message, ..
            } => Some((&a.target, *reason, message.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(fails.len(), 3, "{actions:#?}");
    for (_, reason, _) in &fails {
        assert_eq!(*reason, "UpstreamFailed");
    }
    let msg = |n: &str| fails.iter().find(|f| *f.0 == task_target(n)).unwrap().2;
    assert_eq!(msg("mid"), "dependency \"up\" failed; cascade-failing");
    assert_eq!(msg("down"), "dependency \"mid\" failed; cascade-failing");
    assert!(
        msg("after-off").contains("verdict=NO-GO"),
        "{}",
        msg("after-off")
    );
    let a = actions
        .iter()
        .find(|a| a.target == task_target("mid"))
        .unwrap();
    assert_eq!(a.patch["status"]["phase"], "Failed");
    assert_eq!(a.patch["status"]["verdict"], "INCOMPLETE");
    assert_eq!(a.patch["status"]["finishedAt"], "2027-01-15T08:00:00Z");
    let c = cond(&a.patch, "Failed");
    assert_eq!(
        (&c["status"], &c["reason"]),
        (&json!("True"), &json!("UpstreamFailed"))
    );
    assert!(placements(&actions).is_empty());
}

#[test]
fn waiting_dependencies_write_their_condition_once() {
    let mut t = pending("t");
    t.spec.depends_on = Some(vec!["later".into()]);
    let actions = run(vec![t.clone()], vec![ready("n1")], vec![]);
    assert_eq!(actions.len(), 1);
    assert!(matches!(&actions[0].what, What::Waiting(m) if m.contains("\"later\"")));
    let c = cond(&actions[0].patch, "Scheduled");
    assert_eq!(c["reason"], "WaitingForDependencies");
    // The next pass sees the written condition: nothing more to do.
    let conds: Vec<Condition> =
        serde_json::from_value(actions[0].patch["status"]["conditions"].clone()).unwrap();
    t.status.as_mut().unwrap().conditions = Some(conds);
    assert!(run(vec![t], vec![ready("n1")], vec![]).is_empty());
}

#[test]
fn missing_agent_fails_and_the_agents_capability_wins() {
    let mut lost = pending("lost");
    lost.spec.agent_ref = Some(LocalObjectReference {
        name: "ghost".into(),
    });
    let big = RequiredCapability {
        min_ram_gb: Some(128),
        ..Default::default()
    };
    // The task asks for 128 GB, but its Agent asks for nothing: the Agent wins.
    let mut small = pending("small");
    small.spec.agent_ref = Some(LocalObjectReference {
        name: "coder".into(),
    });
    small.spec.required_capability = Some(big.clone());
    // And the other way round: the Agent's 128 GB makes this one unschedulable.
    let mut huge = pending("huge");
    huge.spec.agent_ref = Some(LocalObjectReference {
        name: "hungry".into(),
    });
    let agents = vec![agent("coder", None), agent("hungry", Some(big))];
    let actions = run(
        vec![lost, small, huge],
        vec![ready("n1"), ready("n2")],
        agents,
    );
    let lost = actions
        .iter()
        .find(|a| a.target == task_target("lost"))
        .unwrap();
    assert_eq!(
        lost.what,
        What::Fail {
            reason: "AgentNotFound",
            message: "Agent \"ghost\" not found in namespace \"ns\"".into(),
            missing_agent: Some("ghost".into()),
        }
    );
    assert_eq!(cond(&lost.patch, "Failed")["reason"], "AgentNotFound");
    assert_eq!(placements(&actions), pairs(&[("small", "n1")]));
    let huge = actions
        .iter()
        .find(|a| a.target == task_target("huge"))
        .unwrap();
    assert_eq!(
        huge.what,
        What::Unschedulable("no FleetNode fits: needs 128 GB available RAM (2 nodes)".into())
    );
}

#[test]
fn stale_ready_nodes_go_not_ready_and_draining_is_left_alone() {
    let nodes = vec![
        node("a-stale", FleetNodePhase::Ready, Some(91)),
        node("b-never", FleetNodePhase::Ready, None),
        node("c-draining", FleetNodePhase::Draining, Some(5)),
        node("d-old-draining", FleetNodePhase::Draining, Some(3600)),
        node("e-notready", FleetNodePhase::NotReady, Some(3600)),
        node("f-fresh", FleetNodePhase::Ready, Some(90)),
    ];
    let actions = run(vec![pending("t1"), pending("t2")], nodes.clone(), vec![]);
    assert_eq!(
        stale_targets(&actions),
        [node_target("a-stale"), node_target("b-never")]
    );
    let a = &actions[0];
    assert_eq!(a.patch["metadata"]["resourceVersion"], "a-stale-rv");
    assert_eq!(a.patch["status"]["phase"], "NotReady");
    let c = cond(&a.patch, "Ready");
    assert_eq!(c["status"], "False");
    assert_eq!(c["reason"], "HeartbeatStale");
    assert_eq!(c["message"], "no heartbeat within 90s");
    // Stale, draining and NotReady nodes never get tasks; the one fresh node gets one.
    assert_eq!(placements(&actions), pairs(&[("t1", "f-fresh")]));

    let quiet = Scope {
        mark_stale: false,
        ..Default::default()
    };
    let actions = plan(&[], &arcs(nodes), &[], &quiet, now());
    assert!(actions.is_empty(), "{actions:#?}");
}

#[test]
fn node_selector_partitions_placement_and_staleness() {
    let scope = Scope {
        node_selector: "pool=foreman".parse().unwrap(),
        ..Default::default()
    };
    let nodes = arcs(vec![
        ready("a-theirs"),
        node("b-theirs-stale", FleetNodePhase::Ready, Some(500)),
        labelled(
            node("c-mine-stale", FleetNodePhase::Ready, Some(500)),
            "pool",
            "foreman",
        ),
        labelled(ready("d-mine"), "pool", "foreman"),
    ]);
    let tasks = arcs(vec![pending("t1"), pending("t2")]);
    let actions = plan(&tasks, &nodes, &[], &scope, now());
    assert_eq!(placements(&actions), pairs(&[("t1", "d-mine")]));
    assert_eq!(stale_targets(&actions), [node_target("c-mine-stale")]);
    // With no matching node, the task says why.
    let scope = Scope {
        node_selector: "pool=none".parse().unwrap(),
        ..Default::default()
    };
    let actions = plan(&tasks[..1], &nodes, &[], &scope, now());
    assert_eq!(
        actions[0].what,
        What::Unschedulable("no FleetNodes match --node-selector pool=none".into())
    );
}

#[test]
fn task_selector_limits_what_is_touched_not_what_is_seen() {
    let scope = Scope {
        task_selector: "scheduler=foreman".parse().unwrap(),
        ..Default::default()
    };
    let mut theirs_new = task("theirs-new");
    theirs_new.metadata.labels = None;
    let mut up = phase(task("up"), TaskPhase::Failed);
    up.metadata.labels = None;
    let mut mine = pending("mine");
    mine.metadata.labels = Some([("scheduler".to_string(), "foreman".to_string())].into());
    mine.spec.depends_on = Some(vec!["up".into()]);
    let actions = plan(
        &arcs(vec![theirs_new, up, mine, pending("theirs")]),
        &arcs(vec![ready("n1")]),
        &[],
        &scope,
        now(),
    );
    // Only `mine` is acted on, and it sees its (unlabelled) dependency's failure.
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0].target, task_target("mine"));
    assert!(matches!(
        actions[0].what,
        What::Fail {
            reason: "UpstreamFailed",
            ..
        }
    ));
}

#[test]
fn busy_only_clears_a_stale_scheduled_condition() {
    let mut t = pending("t");
    t.status.as_mut().unwrap().conditions = Some(vec![Condition {
        type_: "Scheduled".into(),
        status: "False".into(),
        reason: "WaitingForDependencies".into(),
        message: "waiting".into(),
        last_transition_time: ago(50),
        observed_generation: None,
    }]);
    let mut n = ready("n1");
    n.status.as_mut().unwrap().current_task = Some("ns/x".into());
    let actions = run(vec![t], vec![n], vec![]);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].what, What::ClearScheduled);
    assert_eq!(actions[0].patch["status"]["conditions"], json!([]));
}

#[test]
fn odd_input_does_not_panic() {
    let mut nameless = AgenticTask::new("", task("x").spec);
    nameless.status = Some(AgenticTaskStatus {
        phase: Some(TaskPhase::Pending),
        assigned_node: Some(String::new()),
        ..Default::default()
    });
    let mut bare = FleetNode::new("bare", FleetNodeSpec::default());
    bare.status = None;
    let mut self_dep = pending("loop");
    self_dep.spec.depends_on = Some(vec!["loop".into()]);
    let actions = run(vec![nameless, self_dep], vec![bare], vec![]);
    assert!(actions.iter().all(|a| a.what != What::NodeStale));
}

#[test]
fn max_concurrent_tasks_leaves_the_agents_extra_tasks_pending() {
    let with_agent = |t: AgenticTask| {
        let mut t = t;
        t.spec.agent_ref = Some(LocalObjectReference { name: "a".into() });
        t
    };
    let mut a = agent("a", None);
    a.spec.max_concurrent_tasks = Some(2);
    let running = {
        let mut t = phase(with_agent(task("r")), TaskPhase::Running);
        t.status.as_mut().unwrap().assigned_node = Some("n0".into());
        t
    };
    let tasks = vec![
        running,
        with_agent(pending("p1")),
        with_agent(pending("p2")),
        pending("other"),
    ];
    let nodes = vec![ready("n0"), ready("n1"), ready("n2"), ready("n3")];
    let actions = run(tasks.clone(), nodes.clone(), vec![a.clone()]);
    let placed = placements(&actions);
    // One slot left: the first of the Agent's pending tasks takes it; the other stays Pending
    // with nothing written; a task of no Agent is not bounded.
    assert_eq!(placed.len(), 2, "{placed:?}");
    assert!(placed.iter().any(|(t, _)| t == "other"));
    assert_eq!(placed.iter().filter(|(t, _)| t.starts_with('p')).count(), 1);
    let left = if placed.iter().any(|(t, _)| t == "p1") {
        "p2"
    } else {
        "p1"
    };
    assert!(
        !actions.iter().any(|a| a.target == task_target(left)),
        "{actions:?}"
    );
    // Unbounded when unset.
    a.spec.max_concurrent_tasks = None;
    assert_eq!(placements(&run(tasks, nodes, vec![a])).len(), 3);
}
