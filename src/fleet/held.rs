//! A task as a store or a console holds it in memory: in full, or packed. A start with
//! 10,000 finished runs holds 10,000 packed tasks, each its summary's JSON (`fleet::summary`,
//! ~850 bytes) and its [`Facts`] (~100): about a quarter of the same summary parsed into an
//! `AgenticTask` (1,416 bytes before its first allocation). What reads one task (a row on
//! screen, the detail pane, an approval) inflates it; what reads every task on each sort,
//! count or filter reads its facts, derived once by the rules that read a full task.

use crate::api::{AgenticTask, TaskPhase, Verdict};
use crate::fleet::outcome::{failure, label, state_label};
use crate::fleet::workload::LABEL_WORKLOAD;
use crate::fleet::{TaskState, task_state};
use std::borrow::Cow;
use std::sync::Arc;

/// Phase Succeeded or Failed: the run is over (until the operator re-queues it).
pub fn is_finished(t: &AgenticTask) -> bool {
    t.status
        .as_ref()
        .and_then(|s| s.phase)
        .is_some_and(|p| p.is_terminal())
}

/// A task's resourceVersion as a number (the local store's and the apiserver's are).
fn rv(t: &AgenticTask) -> Option<i64> {
    t.metadata.resource_version.as_deref()?.parse().ok()
}

/// What every task is read for on each pass over a queue of thousands: the queue's order,
/// its awaiting count and GATE column, the filter's words, a Workload's tally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub state: TaskState,
    /// [`state_label`]: an off-target Succeeded says its verdict.
    pub label: &'static str,
    pub phase: Option<TaskPhase>,
    pub verdict: Option<Verdict>,
    /// Creation time (Unix seconds; 0 when unknown).
    pub created: i64,
    pub priority: i32,
    /// A coder gate configured on the task or run on it.
    pub gated: bool,
    pub node: Option<Box<str>>,
    /// [`failure`]'s short reason.
    pub failure: Option<Box<str>>,
    /// The Workload the task belongs to (its `foreman.llmkube.dev/workload` label).
    pub workload: Option<Box<str>>,
}

impl Facts {
    pub fn of(t: &AgenticTask) -> Facts {
        let s = t.status.as_ref();
        Facts {
            state: task_state(t),
            label: state_label(t),
            phase: s.and_then(|s| s.phase),
            verdict: s.and_then(|s| s.verdict),
            created: t
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(0, |c| c.0.as_second()),
            priority: t.spec.priority.unwrap_or(0),
            gated: t.spec.gate.is_some() || crate::fleet::status::gate_run(t).is_some(),
            node: s.and_then(|s| s.assigned_node.as_deref()).map(Box::from),
            failure: failure(t).map(|f| f.reason.into_boxed_str()),
            workload: t
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_WORKLOAD))
                .map(|w| Box::from(w.as_str())),
        }
    }

    pub fn is_finished(&self) -> bool {
        self.phase.is_some_and(|p| p.is_terminal())
    }
}

/// The version of the rules behind [`Facts`] (the task's state, label, failure, gate): a
/// [`record`] of another version is not read but derived again from its summary. Bump it
/// when a rule changes what it says of a stored task; the test
/// `the_rules_behind_the_facts_are_the_ones_the_records_were_written_by` fails until then.
pub const FACTS_VERSION: u32 = 1;

/// [`Facts`] as a store keeps them beside a summary, so an open packs a finished task from
/// them without parsing its summary (a quarter of the cost). The label is not kept: it is
/// [`label`] of the state, the verdict and the failure.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    v: u32,
    rv: i64,
    state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<TaskPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
    created: i64,
    priority: i32,
    gated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workload: Option<Box<str>>,
}

/// The record of `summary`'s facts and resourceVersion, to store with it.
pub fn record(summary: &AgenticTask) -> String {
    let f = Facts::of(summary);
    let r = Record {
        v: FACTS_VERSION,
        rv: rv(summary).unwrap_or(0),
        state: f.state,
        phase: f.phase,
        verdict: f.verdict,
        created: f.created,
        priority: f.priority,
        gated: f.gated,
        node: f.node,
        failure: f.failure,
        workload: f.workload,
    };
    serde_json::to_string(&r).unwrap_or_default()
}

/// The facts and resourceVersion in a stored record; None for one of another version (or
/// none, or not one: it is derived again from the summary).
pub fn read_record(text: &str) -> Option<(Facts, i64)> {
    let r: Record = serde_json::from_str(text).ok()?;
    (r.v == FACTS_VERSION).then(|| {
        let facts = Facts {
            state: r.state,
            label: label(r.state, r.verdict, r.failure.is_some()),
            phase: r.phase,
            verdict: r.verdict,
            created: r.created,
            priority: r.priority,
            gated: r.gated,
            node: r.node,
            failure: r.failure,
            workload: r.workload,
        };
        (facts, r.rv)
    })
}

/// How every stored summary begins (kube writes `apiVersion` and `kind` first, then the
/// metadata with its annotations in key order): a packed summary keeps only what follows it,
/// 125 bytes fewer for each of 10,000 tasks. A summary that begins otherwise (another
/// annotation first) is kept whole.
const PREFIX: &str = concat!(
    r#"{"apiVersion":"foreman.llmkube.dev/v1alpha1","kind":"AgenticTask","#,
    r#""metadata":{"annotations":{"foreman.llmkube.dev/summary":"true"},"#
);

/// A finished task's summary as its JSON, with its facts and its resourceVersion.
#[derive(Debug)]
pub struct Packed {
    facts: Facts,
    rv: i64,
    /// Whether `json` is the summary without its [`PREFIX`].
    cut: bool,
    json: Box<str>,
}

impl Packed {
    /// `json` is `summary` as stored; `None` for a task still in flight (held in full: the
    /// scheduling pass and recovery act on it).
    pub fn new(summary: &AgenticTask, json: &str) -> Option<Packed> {
        Packed::with(Facts::of(summary), rv(summary).unwrap_or(0), json)
    }

    /// A summary's JSON packed with the facts and the resourceVersion read from its
    /// [`record`] (written with it), without parsing the summary.
    pub fn with(facts: Facts, rv: i64, json: &str) -> Option<Packed> {
        let rest = json.strip_prefix(PREFIX);
        facts.is_finished().then(|| Packed {
            facts,
            rv,
            cut: rest.is_some(),
            json: Box::from(rest.unwrap_or(json)),
        })
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn rv(&self) -> i64 {
        self.rv
    }

    /// The summary task (None if its JSON does not parse: one packed from its stored
    /// [`record`] was not parsed at the open, so a summary changed by hand shows as gone
    /// until its task is loaded in full).
    pub fn task(&self) -> Option<AgenticTask> {
        if self.cut {
            serde_json::from_str(&format!("{PREFIX}{}", self.json)).ok()
        } else {
            serde_json::from_str(&self.json).ok()
        }
    }
}

/// One task in memory, shared between a store and the console that mirrors it.
#[derive(Clone, Debug)]
pub enum Held {
    /// A task in flight, a full one loaded, or a summary that did not pack.
    Full(Arc<AgenticTask>),
    Packed(Arc<Packed>),
}

impl Held {
    /// A task held in full, with its key (a snapshot's entry).
    pub fn keyed(t: AgenticTask) -> (crate::fleet::TaskKey, Held) {
        (crate::fleet::TaskKey::of(&t), Held::Full(Arc::new(t)))
    }

    /// A listed task as a console keeps it, with its key: a finished one's summary packed
    /// (the cluster lists 20,000 of them), any other in full.
    pub fn compact(t: AgenticTask) -> (crate::fleet::TaskKey, Held) {
        if crate::fleet::summary::is_summary(&t)
            && let Ok(json) = serde_json::to_string(&t)
            && let Some(p) = Packed::new(&t, &json)
        {
            return (crate::fleet::TaskKey::of(&t), Held::Packed(Arc::new(p)));
        }
        Held::keyed(t)
    }

    /// The task as held: the full one, or the packed summary inflated.
    pub fn task(&self) -> Option<Cow<'_, AgenticTask>> {
        match self {
            Held::Full(t) => Some(Cow::Borrowed(t)),
            Held::Packed(p) => p.task().map(Cow::Owned),
        }
    }

    /// The task's facts: a packed task's own, a full one's derived now.
    pub fn facts(&self) -> Cow<'_, Facts> {
        match self {
            Held::Full(t) => Cow::Owned(Facts::of(t)),
            Held::Packed(p) => Cow::Borrowed(&p.facts),
        }
    }

    /// The task when held in full (not packed).
    pub fn full(&self) -> Option<&Arc<AgenticTask>> {
        match self {
            Held::Full(t) => Some(t),
            Held::Packed(_) => None,
        }
    }

    /// Only a summary is here ([`crate::fleet::summary`]): load the full task before showing
    /// or acting on more.
    pub fn is_summary(&self) -> bool {
        match self {
            Held::Full(t) => crate::fleet::summary::is_summary(t),
            Held::Packed(_) => true,
        }
    }

    pub fn is_finished(&self) -> bool {
        match self {
            Held::Full(t) => is_finished(t),
            Held::Packed(_) => true,
        }
    }

    /// The resourceVersion the task was held at.
    pub fn rv(&self) -> Option<i64> {
        match self {
            Held::Full(t) => rv(t),
            Held::Packed(p) => Some(p.rv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::summary::summary;

    fn task(yaml_status: &str) -> AgenticTask {
        let yaml = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: t, namespace: default, resourceVersion: \"7\", creationTimestamp: \"2026-12-01T10:00:00Z\", labels: {{foreman.llmkube.dev/workload: ship}}}}\nspec:\n  kind: issue-fix\n  priority: 3\n  payload: {{repo: acme/x, issue: 4, prompt: a long prompt}}\n{yaml_status}"
        );
        let crate::api::Object::Task(t) = crate::api::load_str("t", &yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        *t
    }

    #[test]
    fn a_packed_summary_inflates_to_the_same_summary_and_keeps_its_facts() {
        let t = task(
            "status: {phase: Failed, assignedNode: n1, failureReason: InfrastructureError, conditions: [{type: Completed, status: \"False\", reason: Interrupted, message: m, lastTransitionTime: \"2026-12-01T10:01:00Z\"}]}\n",
        );
        let s = summary(&t);
        let json = serde_json::to_string(&s).unwrap();
        let p = Packed::new(&s, &json).expect("a finished task packs");
        assert!(p.cut, "the stored form begins with the prefix: {json}");
        assert_eq!(p.json.len(), json.len() - PREFIX.len());
        let held = Held::Packed(Arc::new(p));
        let back = held.task().unwrap().into_owned();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&s).unwrap()
        );
        let f = held.facts().into_owned();
        assert_eq!(f, Facts::of(&t), "the summary's facts are the full task's");
        assert_eq!(f.state, TaskState::Interrupted);
        assert_eq!(f.node.as_deref(), Some("n1"));
        assert_eq!(f.failure.as_deref(), Some("Interrupted"));
        assert_eq!(f.workload.as_deref(), Some("ship"));
        assert_eq!((f.priority, f.created), (3, 1_796_119_200));
        assert!(held.is_summary() && held.is_finished());
        assert_eq!(held.rv(), Some(7));
    }

    /// One task of each kind of finished run and two in flight.
    const STATUSES: [&str; 10] = [
        "",
        "status: {phase: Running, assignedNode: n1}\n",
        "status: {phase: Succeeded, verdict: GO, result: {extra: {pushed: false}}}\n",
        "status: {phase: Succeeded, verdict: GO, result: {extra: {pushed: true, prUrl: \"http://x/pull/1\"}}}\n",
        "status: {phase: Succeeded, verdict: GO, result: {extra: {pushed: false, pushDecision: rejected}}}\n",
        "status: {phase: Succeeded, verdict: NO-GO, result: {summary: no, extra: {reason: Unfixable}}}\n",
        "status: {phase: Succeeded, verdict: INCOMPLETE, result: {extra: {reason: MaxTurnsExhausted}}}\n",
        "status: {phase: Succeeded, verdict: GATE-FAIL, result: {extra: {reason: GateFailed, gate: {status: failed, attempt: 1}}}}\n",
        "status: {phase: Failed, assignedNode: n2, conditions: [{type: Completed, status: \"False\", reason: CloneFailed, message: m, lastTransitionTime: \"2026-12-01T10:01:00Z\"}]}\n",
        "status: {phase: Failed, conditions: [{type: Completed, status: \"False\", reason: Interrupted, message: m, lastTransitionTime: \"2026-12-01T10:01:00Z\"}]}\n",
    ];

    #[test]
    fn a_record_reads_back_as_the_facts_it_was_written_from() {
        for status in STATUSES {
            let s = summary(&task(status));
            let (facts, rv) = read_record(&record(&s)).expect("a record of this version reads");
            assert_eq!(facts, Facts::of(&s), "{status}");
            assert_eq!(rv, 7);
            let json = serde_json::to_string(&s).unwrap();
            let (a, b) = (Packed::new(&s, &json), Packed::with(facts, rv, &json));
            assert_eq!(a.is_some(), b.is_some(), "{status}");
            if let (Some(a), Some(b)) = (a, b) {
                assert_eq!(
                    (a.facts, a.rv, a.cut, a.json),
                    (b.facts, b.rv, b.cut, b.json)
                );
            }
        }
        let other = record(&summary(&task(STATUSES[2]))).replacen(
            &format!("\"v\":{FACTS_VERSION}"),
            "\"v\":0",
            1,
        );
        assert!(read_record(&other).is_none(), "another version is not read");
        assert!(read_record("").is_none() && read_record("{}").is_none());
    }

    /// The tripwire of [`FACTS_VERSION`]: the records of the fixtures as this version writes
    /// them. A rule that changes one of them changes what stored records mean: bump the
    /// version and write the new records here.
    #[test]
    fn the_rules_behind_the_facts_are_the_ones_the_records_were_written_by() {
        let got: Vec<String> = STATUSES
            .iter()
            .map(|s| record(&summary(&task(s))))
            .collect();
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        assert_eq!(
            (FACTS_VERSION, got.as_slice()),
            (1, RECORDS.as_slice()),
            "the facts of a stored task changed: bump FACTS_VERSION and update RECORDS"
        );
    }

    const RECORDS: [&str; 10] = [
        r#"{"v":1,"rv":7,"state":"Pending","created":1796119200,"priority":3,"gated":false,"workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Running","phase":"Running","created":1796119200,"priority":3,"gated":false,"node":"n1","workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"AwaitingApproval","phase":"Succeeded","verdict":"GO","created":1796119200,"priority":3,"gated":false,"workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"PrOpen","phase":"Succeeded","verdict":"GO","created":1796119200,"priority":3,"gated":false,"workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Rejected","phase":"Succeeded","verdict":"GO","created":1796119200,"priority":3,"gated":false,"workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Succeeded","phase":"Succeeded","verdict":"NO-GO","created":1796119200,"priority":3,"gated":false,"failure":"Unfixable","workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Succeeded","phase":"Succeeded","verdict":"INCOMPLETE","created":1796119200,"priority":3,"gated":false,"failure":"MaxTurnsExhausted","workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Succeeded","phase":"Succeeded","verdict":"GATE-FAIL","created":1796119200,"priority":3,"gated":true,"failure":"GateFailed","workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Failed","phase":"Failed","created":1796119200,"priority":3,"gated":false,"node":"n2","failure":"CloneFailed","workload":"ship"}"#,
        r#"{"v":1,"rv":7,"state":"Interrupted","phase":"Failed","created":1796119200,"priority":3,"gated":false,"failure":"Interrupted","workload":"ship"}"#,
    ];

    #[test]
    fn a_summary_with_another_annotation_first_is_packed_whole() {
        let mut s = summary(&task("status: {phase: Succeeded, verdict: GO}\n"));
        s.metadata
            .annotations
            .get_or_insert_default()
            .insert("a.example/first".into(), "x".into());
        let json = serde_json::to_string(&s).unwrap();
        let p = Packed::new(&s, &json).unwrap();
        assert!(!p.cut);
        let back = p.task().unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn a_listed_summary_is_packed_and_a_full_task_is_not() {
        let done = task("status: {phase: Succeeded, verdict: GO}\n");
        let (k, held) = Held::compact(summary(&done));
        assert_eq!(k, crate::fleet::TaskKey::new("default", "t"));
        assert!(matches!(held, Held::Packed(_)), "a finished summary packs");
        assert_eq!(held.facts().into_owned(), Facts::of(&done));
        let (_, held) = Held::compact(done);
        assert!(matches!(held, Held::Full(_)), "a full task stays full");
    }

    #[test]
    fn a_task_in_flight_is_never_packed() {
        for status in [
            "",
            "status: {phase: Pending}\n",
            "status: {phase: Running, assignedNode: n1}\n",
        ] {
            let t = task(status);
            let s = summary(&t);
            assert!(Packed::new(&s, "{}").is_none(), "{status}");
            let held = Held::Full(Arc::new(t));
            assert!(!held.is_summary() && !held.is_finished());
        }
    }
}
