//! Transcripts of cluster tasks: the local journal when this node ran the task and still has
//! it (richer: turn timings, retries, the Result), else the task's transcript ConfigMap
//! (`foreman-transcript-<task>`, upstream §3.5) converted to journal records.

use super::Ctx;
use super::explain;
use crate::agent::transcript::{Record, SCHEMA, TranscriptDoc, read_journal};
use crate::api::{Agent, AgenticTask, AgenticTaskStatus};
use crate::backend::attempt::{AttemptView, EARLIER_ONLY_EMBEDDED};
use crate::fleet::TaskKey;
use crate::fleet::attempt::attempt_of;
use crate::k8s::worker::transcript::{LABEL_ATTEMPT_OF, STATUS_KEY, attempt_configmap_name};
use crate::oai::{Message, Role};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use std::path::PathBuf;

/// Name of a task's transcript ConfigMap.
pub fn configmap_name(task: &str) -> String {
    format!("foreman-transcript-{task}")
}

/// Upstream's Agent default for `maxTurns`.
const DEFAULT_MAX_TURNS: u32 = 50;

/// `data["transcript.json"]` of a transcript ConfigMap as journal records: the messages, each
/// tagged with its turn (0 for the opening system and user messages, then one turn per
/// assistant message), with `max_turns` for the turn rules. A truncated transcript gets a
/// note first, and the turns after the cut are numbered so the last one is `turnCount`.
pub fn records_from_doc(text: &str, source: &str, max_turns: u32) -> Result<Vec<Record>, String> {
    let doc: TranscriptDoc = serde_json::from_str(text)
        .map_err(|e| format!("{source}: transcript.json is not a transcript document: {e}"))?;
    if !doc.schema_version.starts_with("foreman.transcript.") {
        return Err(format!(
            "{source}: unknown transcript schema {:?} (expected {SCHEMA})",
            doc.schema_version
        ));
    }
    let mut out = Vec::with_capacity(doc.messages.len() + 2);
    out.push(Record::Meta {
        schema_version: doc.schema_version.clone(),
        task: String::new(),
        agent: String::new(),
        model: String::new(),
        base_url: String::new(),
        started_at: String::new(),
        max_turns,
    });
    if doc.truncated {
        out.push(Record::Message {
            turn: 0,
            message: Message::system(format!(
                "[{source} keeps only the start and the end of this run's {} turns: it was cut to fit a ConfigMap]",
                doc.turn_count
            )),
        });
    }
    let marker = doc.truncated.then(|| {
        doc.messages.iter().position(|m| {
            m.role == Role::System
                && m.content
                    .as_deref()
                    .is_some_and(|c| c.starts_with("[transcript truncated"))
        })
    });
    let cut = marker.flatten().unwrap_or(doc.messages.len());
    let mut turn = 0u32;
    for m in doc.messages {
        if m.role == Role::Assistant {
            turn += 1;
        }
        out.push(Record::Message { turn, message: m });
    }
    renumber_tail(&mut out, cut, doc.turn_count, doc.truncated);
    Ok(out)
}

/// Shifts the turns of the messages after the truncation marker so the last assistant turn
/// is `turn_count` (never below the turns before the cut).
fn renumber_tail(records: &mut [Record], cut: usize, turn_count: u32, truncated: bool) {
    // records: Meta, [note], messages...
    let first_msg = if truncated { 2 } else { 1 };
    let marker_at = first_msg + cut;
    if marker_at >= records.len() {
        return;
    }
    let head_turn = match &records[marker_at] {
        Record::Message { turn, .. } => *turn,
        _ => return,
    };
    let tail = &mut records[marker_at + 1..];
    let assistants = tail
        .iter()
        .filter(|r| matches!(r, Record::Message { message, .. } if message.role == Role::Assistant))
        .count() as u32;
    let start = turn_count.saturating_sub(assistants).max(head_turn);
    let mut turn = start;
    for r in tail.iter_mut() {
        if let Record::Message { turn: t, message } = r {
            if message.role == Role::Assistant {
                turn += 1;
            }
            *t = turn;
        }
    }
}

/// Where the run's transcript lives, as the task says.
struct Source {
    /// A local journal path (status.transcriptRef, or extra.transcriptRef as a string).
    journal: Option<PathBuf>,
    /// (namespace, name) of the ConfigMap.
    configmap: (String, String),
}

fn source_of(t: &AgenticTask, key: &TaskKey) -> Source {
    let status = t.status.as_ref();
    let extra = crate::fleet::status::result_extra(t);
    let (extra_ref, extra_journal) = (extra.transcript_ref, extra.journal);
    // This crate's worker records its local journal in extra.journal; the embedded
    // backend's status.transcriptRef is a path; a `configmap/...` ref is not a path.
    let journal = extra_journal
        .or_else(|| status.and_then(|s| s.transcript_ref.clone()))
        .or_else(|| {
            extra_ref
                .as_ref()
                .and_then(|v| v.as_str().map(str::to_string))
        })
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let mut configmap = (key.namespace.clone(), configmap_name(&key.name));
    if let Some(obj) = extra_ref.as_ref().filter(|v| v.is_object())
        && obj.get("kind").and_then(|k| k.as_str()) == Some("ConfigMap")
        && let Some(name) = obj.get("name").and_then(|n| n.as_str())
    {
        let ns = obj
            .get("namespace")
            .and_then(|n| n.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or(&key.namespace);
        configmap = (ns.to_string(), name.to_string());
    }
    Source { journal, configmap }
}

/// The transcript of `key` as journal records; `Ok(empty)` when none is stored yet.
pub(super) async fn load(ctx: &Ctx, key: &TaskKey) -> Result<Vec<Record>, String> {
    let tasks: Api<AgenticTask> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let t = tasks
        .get_opt(&key.name)
        .await
        .map_err(|e| format!("cannot read task {key}: {}", explain(&e)))?
        .ok_or_else(|| format!("task {key} no longer exists"))?;
    let src = source_of(&t, key);
    let ran_here = t
        .status
        .as_ref()
        .and_then(|s| s.assigned_node.as_deref())
        .is_some_and(|n| n == ctx.node);
    if ran_here && let Some(path) = src.journal.filter(|p| p.is_file()) {
        return tokio::task::spawn_blocking(move || read_journal(&path))
            .await
            .map_err(|e| format!("journal reader failed: {e}"))?;
    }
    let (ns, name) = src.configmap;
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let cm = cms
        .get_opt(&name)
        .await
        .map_err(|e| format!("cannot read ConfigMap {ns}/{name}: {}", explain(&e)))?;
    let Some(cm) = cm else {
        return Ok(Vec::new());
    };
    let Some(text) = cm.data.as_ref().and_then(|d| d.get("transcript.json")) else {
        return Err(format!(
            "ConfigMap {ns}/{name} has no transcript.json; it is not a Foreman transcript"
        ));
    };
    let max_turns = max_turns_of(ctx, &t, &key.namespace).await;
    records_from_doc(text, &format!("ConfigMap {ns}/{name}"), max_turns)
}

/// The attempt selector on a cluster: the current attempt from the task (its status and
/// transcript), an earlier one from the `…-attempt-N` ConfigMap its node kept when a request
/// for changes started the next (`k8s::worker::revise`); any other says where it is kept.
pub(super) async fn attempt(ctx: &Ctx, key: &TaskKey, attempt: u32) -> AttemptView {
    let tasks: Api<AgenticTask> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let task = tasks.get_opt(&key.name).await;
    let current = match &task {
        Ok(Some(t)) => attempt_of(t),
        _ => 1,
    };
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let mut attempts = kept_attempts(&cms, key, current).await;
    attempts.push(current);
    let (status, records) = match task {
        Err(e) => (
            None,
            Err(format!("cannot read task {key}: {}", explain(&e))),
        ),
        Ok(None) => (None, Err(format!("task {key} no longer exists"))),
        Ok(Some(t)) if attempt == current => (t.status, load(ctx, key).await),
        Ok(Some(t)) if attempts.contains(&attempt) => {
            let max_turns = max_turns_of(ctx, &t, &key.namespace).await;
            kept(&cms, key, attempt, max_turns).await
        }
        Ok(Some(_)) => (None, Err(EARLIER_ONLY_EMBEDDED.to_string())),
    };
    AttemptView {
        task: key.clone(),
        attempt,
        attempts,
        status,
        records,
        diff: None,
    }
}

/// The earlier attempts whose ConfigMap is kept, oldest first (none when they cannot be read).
async fn kept_attempts(cms: &Api<ConfigMap>, key: &TaskKey, current: u32) -> Vec<u32> {
    let lp = kube::api::ListParams::default().labels(&format!("{LABEL_ATTEMPT_OF}={}", key.name));
    let Ok(list) = cms.list_metadata(&lp).await else {
        return Vec::new();
    };
    let mut v: Vec<u32> = (1..current)
        .filter(|n| {
            let name = attempt_configmap_name(&key.name, *n);
            list.items
                .iter()
                .any(|m| m.metadata.name.as_deref() == Some(name.as_str()))
        })
        .collect();
    v.sort_unstable();
    v
}

/// Attempt `n`'s kept status and transcript.
async fn kept(
    cms: &Api<ConfigMap>,
    key: &TaskKey,
    n: u32,
    max_turns: u32,
) -> (Option<AgenticTaskStatus>, Result<Vec<Record>, String>) {
    let name = attempt_configmap_name(&key.name, n);
    let data = match cms.get_opt(&name).await {
        Ok(Some(cm)) => cm.data.unwrap_or_default(),
        Ok(None) => return (None, Err(format!("ConfigMap {name} is gone"))),
        Err(e) => {
            return (
                None,
                Err(format!("cannot read ConfigMap {name}: {}", explain(&e))),
            );
        }
    };
    let status = data
        .get(STATUS_KEY)
        .and_then(|s| serde_json::from_str(s).ok());
    let records = match data.get("transcript.json") {
        Some(text) => records_from_doc(text, &format!("ConfigMap {name}"), max_turns),
        None => Ok(Vec::new()),
    };
    (status, records)
}

/// The task's Agent's `maxTurns` (for "turn n/max"); upstream's default when unknown.
async fn max_turns_of(ctx: &Ctx, t: &AgenticTask, ns: &str) -> u32 {
    let Some(agent) = t.spec.agent_ref.as_ref().map(|r| r.name.clone()) else {
        return DEFAULT_MAX_TURNS;
    };
    let agents: Api<Agent> = Api::namespaced(ctx.client.clone(), ns);
    match agents.get_opt(&agent).await {
        Ok(Some(a)) => a.spec.max_turns(),
        _ => DEFAULT_MAX_TURNS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::transcript::export;
    use crate::oai::ToolCall;

    fn convo(turns: usize) -> Vec<Message> {
        let mut m = vec![Message::system("sys"), Message::user("fix it")];
        for i in 1..=turns {
            let mut a = Message::assistant("");
            a.content = None;
            a.tool_calls = Some(vec![ToolCall::new(
                format!("c{i}"),
                "bash",
                r#"{"command":"ls"}"#,
            )]);
            m.push(a);
            m.push(Message::tool(format!("c{i}"), "bash", format!("out {i}")));
        }
        m
    }

    fn turns(records: &[Record]) -> Vec<(u32, Role)> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Message { turn, message } => Some((*turn, message.role)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_configmap_transcript_becomes_journal_records_by_turn() {
        let doc = export(&convo(2), 2, usize::MAX);
        assert!(!doc.truncated);
        let r = records_from_doc(&doc.transcript_json, "ConfigMap ns/x", 30).unwrap();
        assert!(matches!(r[0], Record::Meta { max_turns: 30, .. }));
        assert_eq!(
            turns(&r),
            vec![
                (0, Role::System),
                (0, Role::User),
                (1, Role::Assistant),
                (1, Role::Tool),
                (2, Role::Assistant),
                (2, Role::Tool),
            ]
        );
        // The console's replay shows the turn rules and the tool output.
        let items = crate::console::transcript::journal_items(&r);
        assert!(items.iter().any(|i| matches!(
            i,
            crate::console::transcript::JournalItem::TurnStarted {
                turn: 2,
                max_turns: 30
            }
        )));
    }

    #[test]
    fn a_truncated_transcript_says_so_and_numbers_the_tail_up_to_turn_count() {
        let big = "x".repeat(2000);
        let mut msgs = convo(20);
        for m in msgs.iter_mut().filter(|m| m.role == Role::Tool) {
            m.content = Some(big.clone());
        }
        let doc = export(&msgs, 20, 20_000);
        assert!(doc.truncated);
        let r = records_from_doc(&doc.transcript_json, "ConfigMap ns/x", 50).unwrap();
        let Record::Message { message, turn: 0 } = &r[1] else {
            panic!("no note first: {:?}", r[1])
        };
        let note = message.content.as_deref().unwrap();
        assert!(
            note.contains("ConfigMap ns/x") && note.contains("20 turns"),
            "{note}"
        );
        let t = turns(&r);
        let last_assistant = t
            .iter()
            .rev()
            .find(|(_, role)| *role == Role::Assistant)
            .unwrap();
        assert_eq!(last_assistant.0, 20, "{t:?}");
        // The marker from the export is kept, in the head's turn.
        assert!(
            r.iter().any(|x| matches!(x, Record::Message { message, .. }
            if message.content.as_deref().is_some_and(|c| c.starts_with("[transcript truncated"))))
        );
        // Turns never go backwards.
        assert!(t.windows(2).all(|w| w[0].0 <= w[1].0), "{t:?}");
    }

    #[test]
    fn bad_documents_name_the_configmap() {
        let e = records_from_doc("{", "ConfigMap ns/x", 50).unwrap_err();
        assert!(e.starts_with("ConfigMap ns/x: "), "{e}");
        let e = records_from_doc(
            r#"{"schemaVersion":"other.v9","turnCount":1,"messages":[]}"#,
            "ConfigMap ns/x",
            50,
        )
        .unwrap_err();
        assert!(e.contains("other.v9"), "{e}");
    }

    #[test]
    fn the_source_follows_the_result_reference() {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t, namespace: a}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        let key = TaskKey::new("a", "t");
        assert_eq!(
            source_of(&t, &key).configmap,
            ("a".into(), "foreman-transcript-t".into())
        );
        t.status = Some(crate::api::AgenticTaskStatus {
            result: Some(serde_json::json!({"extra": {"transcriptRef":
                {"kind": "ConfigMap", "apiVersion": "v1", "namespace": "b", "name": "custom"}}})),
            transcript_ref: Some("/var/j.jsonl".into()),
            ..Default::default()
        });
        let s = source_of(&t, &key);
        assert_eq!(s.configmap, ("b".into(), "custom".into()));
        assert_eq!(s.journal, Some(PathBuf::from("/var/j.jsonl")));
    }
}
