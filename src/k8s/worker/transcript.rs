//! The transcript ConfigMap (`foreman-transcript-<task>`, spec §3.5), written during the run so
//! `kubectl` and other consoles can follow it, and once more at the end.

use crate::agent::transcript::{CONFIGMAP_CAP, export};
use crate::api::AgenticTask;
use crate::oai::Message;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::PostParams;
use std::collections::BTreeMap;

pub const LABEL_TRANSCRIPT_OF: &str = "foreman.llmkube.dev/transcript-of";
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";

pub fn configmap_name(task: &str) -> String {
    format!("foreman-transcript-{task}")
}

/// Label of an earlier attempt's transcript ConfigMap: the task it belongs to (a label of
/// its own, so consoles following the current transcript are not woken by archives).
pub const LABEL_ATTEMPT_OF: &str = "foreman.llmkube.dev/attempt-of";
/// The key of an archived attempt's status (its Result, verdict, branch and commit).
pub const STATUS_KEY: &str = "status.json";

/// Name of the ConfigMap keeping attempt `n`'s transcript once a later attempt started.
pub fn attempt_configmap_name(task: &str, n: u32) -> String {
    format!("foreman-transcript-{task}-attempt-{n}")
}

/// Attempt `n`'s archive: the current transcript ConfigMap's documents (`current`, when it
/// exists) and the attempt's status, under [`attempt_configmap_name`], owned by the task.
pub fn archive(
    task: &AgenticTask,
    n: u32,
    current: Option<&ConfigMap>,
    status: &serde_json::Value,
) -> ConfigMap {
    let name = task.metadata.name.clone().unwrap_or_default();
    let mut data = current.and_then(|c| c.data.clone()).unwrap_or_default();
    data.insert(STATUS_KEY.to_string(), status.to_string());
    ConfigMap {
        metadata: owned_by(task, attempt_configmap_name(&name, n), LABEL_ATTEMPT_OF),
        data: Some(data),
        ..Default::default()
    }
}

/// `result.extra.transcriptRef` as upstream writes it.
pub fn transcript_ref(namespace: &str, task: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "namespace": namespace,
        "name": configmap_name(task),
    })
}

/// `status.transcriptRef` (a string in the CRD): kubectl's `<kind>/<name>` form.
pub fn status_ref(task: &str) -> String {
    format!("configmap/{}", configmap_name(task))
}

/// The metadata of a ConfigMap `name` a node keeps for `task` (its transcript, its diff):
/// labelled `of_label: <task>` and part of foreman, owned by the task so it goes with it.
pub fn owned_by(task: &AgenticTask, name: String, of_label: &str) -> ObjectMeta {
    let task_name = task.metadata.name.clone().unwrap_or_default();
    let labels = BTreeMap::from([
        (of_label.to_string(), task_name.clone()),
        (LABEL_PART_OF.to_string(), "foreman".to_string()),
    ]);
    let owner = OwnerReference {
        api_version: "foreman.llmkube.dev/v1alpha1".into(),
        kind: "AgenticTask".into(),
        name: task_name,
        uid: task.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    ObjectMeta {
        name: Some(name),
        namespace: task.metadata.namespace.clone(),
        labels: Some(labels),
        owner_references: (!owner.uid.is_empty()).then(|| vec![owner]),
        ..Default::default()
    }
}

/// The ConfigMap for `task` holding `messages` (cut to upstream's 1 MiB budget).
pub fn build(task: &AgenticTask, messages: &[Message], turns: u32) -> ConfigMap {
    let name = task.metadata.name.clone().unwrap_or_default();
    let ex = export(messages, turns, CONFIGMAP_CAP);
    ConfigMap {
        metadata: owned_by(task, configmap_name(&name), LABEL_TRANSCRIPT_OF),
        data: Some(BTreeMap::from([
            ("transcript.json".to_string(), ex.transcript_json),
            ("meta.json".to_string(), ex.meta_json),
        ])),
        ..Default::default()
    }
}

/// Upstream's upsert: GET; create when missing; otherwise replace data, labels and owner
/// references (keeping the server's resourceVersion, so a concurrent writer is a 409).
pub async fn upsert(api: &Api<ConfigMap>, cm: ConfigMap) -> Result<(), kube::Error> {
    let name = cm.metadata.name.clone().unwrap_or_default();
    match api.get_opt(&name).await? {
        None => api.create(&PostParams::default(), &cm).await.map(|_| ()),
        Some(mut cur) => {
            cur.data = cm.data;
            cur.metadata.labels = cm.metadata.labels;
            cur.metadata.owner_references = cm.metadata.owner_references;
            api.replace(&name, &PostParams::default(), &cur)
                .await
                .map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configmap_carries_labels_owner_and_both_documents() {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix-7, namespace: team, uid: u-1}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(t) = crate::api::load_str("t", yaml).unwrap().remove(0) else {
            panic!("not a task")
        };
        let msgs = vec![Message::system("sys"), Message::user("do it")];
        let cm = build(&t, &msgs, 3);
        assert_eq!(
            cm.metadata.name.as_deref(),
            Some("foreman-transcript-fix-7")
        );
        assert_eq!(cm.metadata.namespace.as_deref(), Some("team"));
        let labels = cm.metadata.labels.unwrap();
        assert_eq!(labels[LABEL_TRANSCRIPT_OF], "fix-7");
        assert_eq!(labels[LABEL_PART_OF], "foreman");
        let o = &cm.metadata.owner_references.unwrap()[0];
        assert_eq!((o.kind.as_str(), o.uid.as_str()), ("AgenticTask", "u-1"));
        assert_eq!(
            (o.controller, o.block_owner_deletion),
            (Some(true), Some(true))
        );
        let data = cm.data.unwrap();
        let doc: serde_json::Value = serde_json::from_str(&data["transcript.json"]).unwrap();
        assert_eq!(doc["turnCount"], 3);
        assert_eq!(doc["messages"][1]["content"], "do it");
        assert!(doc.get("truncated").is_none());
        let meta: serde_json::Value = serde_json::from_str(&data["meta.json"]).unwrap();
        assert_eq!(
            meta["bytesStored"].as_u64().unwrap() as usize,
            data["transcript.json"].len()
        );
        assert_eq!(
            transcript_ref("team", "fix-7")["name"],
            "foreman-transcript-fix-7"
        );
    }
}
