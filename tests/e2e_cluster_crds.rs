#![cfg(feature = "e2e")]
//! `foreman crds` against a real Kubernetes 1.20 apiserver (scripts/k8s.sh): kubectl accepts
//! the CRDs, they become Established, the examples apply, and nothing is pruned on the way in.
//!
//!   scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_crds
//!   scripts/k8s.sh stop /tmp/k8s

mod common;

use common::k8s::{kubectl_at, shared_kubeconfig};
use serde_json::{Value, json};
use std::process::Command;

/// kubectl against the test apiserver (`FOREMAN_E2E_KUBECONFIG`); panics with its stderr.
fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    kubectl_at(&shared_kubeconfig(), args, stdin)
}

fn foreman_crds() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_foreman"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The documents of one example file, as JSON.
fn example_docs(file: &str) -> Vec<Value> {
    let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    foreman::api::yaml::documents(&text).unwrap()
}

/// Every `Kind.spec.path` of our CRDs that has a `default` (array items and map values left
/// out: a default inside them is never applied to a written example here).
fn defaulted_paths() -> Vec<String> {
    fn walk(s: &Value, path: String, out: &mut Vec<String>) {
        if !s["default"].is_null() {
            out.push(path.clone());
        }
        if let Some(props) = s["properties"].as_object() {
            for (k, v) in props {
                walk(v, format!("{path}.{k}"), out);
            }
        }
        if s["items"].is_object() {
            walk(&s["items"], format!("{path}[]"), out);
        }
    }
    let mut out = Vec::new();
    for crd in foreman::k8s::crds() {
        let v = serde_json::to_value(&crd).unwrap();
        let kind = v["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        walk(
            &v["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            kind,
            &mut out,
        );
    }
    out
}

/// `back` holds every value of `written` unchanged; object keys it adds are collected in
/// `added` by path (`spec.maxRetries`, `spec.fewShot[].x`).
fn kept(written: &Value, back: &Value, path: &str, added: &mut Vec<String>) -> Result<(), String> {
    match (written, back) {
        (Value::Object(w), Value::Object(b)) => {
            for (k, v) in w {
                let Some(bv) = b.get(k) else {
                    return Err(format!("{path}.{k} was pruned"));
                };
                kept(v, bv, &format!("{path}.{k}"), added)?;
            }
            added.extend(
                b.keys()
                    .filter(|k| !w.contains_key(*k))
                    .map(|k| format!("{path}.{k}")),
            );
            Ok(())
        }
        (Value::Array(w), Value::Array(b)) if w.len() == b.len() => {
            for (wv, bv) in w.iter().zip(b) {
                kept(wv, bv, &format!("{path}[]"), added)?;
            }
            Ok(())
        }
        _ if written == back => Ok(()),
        _ => Err(format!("{path} changed: {written} -> {back}")),
    }
}

#[test]
fn crds_apply_establish_and_keep_every_example_field() {
    let applied = kubectl(&["apply", "-f", "-"], Some(&foreman_crds()));
    for plural in ["agents", "agentictasks", "fleetnodes", "workloads"] {
        assert!(
            applied.contains(&format!("{plural}.foreman.llmkube.dev")),
            "{applied}"
        );
    }
    kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/agents.foreman.llmkube.dev",
            "crd/agentictasks.foreman.llmkube.dev",
            "crd/fleetnodes.foreman.llmkube.dev",
            "crd/workloads.foreman.llmkube.dev",
        ],
        None,
    );
    let files = [
        "coder-agent.yaml",
        "tiny-agent.yaml",
        "tiny-agent-tools.yaml",
        "demo-task.yaml",
        "m3-coder-demo.yaml",
        "workload.yaml",
        "fleetnode.yaml",
    ];
    for file in files {
        let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        kubectl(&["apply", "-n", "default", "-f", &path], None);
    }
    // Every example's spec reads back as written: no field was pruned or rewritten, and what
    // was added is only the CRD's defaults (upstream's: maxRetries 3, accelerator any, ...).
    let defaults = defaulted_paths();
    for file in files {
        for doc in example_docs(file) {
            let kind = doc["kind"].as_str().unwrap().to_lowercase();
            let name = doc["metadata"]["name"].as_str().unwrap();
            let back: Value = serde_json::from_str(&kubectl(
                &["get", "-n", "default", &kind, name, "-o", "json"],
                None,
            ))
            .unwrap();
            let mut added = Vec::new();
            kept(&doc["spec"], &back["spec"], "spec", &mut added)
                .unwrap_or_else(|e| panic!("{file}: {kind}/{name}: {e}"));
            for path in added {
                let key = format!("{}.{path}", doc["kind"].as_str().unwrap());
                assert!(
                    defaults.contains(&key),
                    "{file}: {key} appeared without a default"
                );
            }
        }
    }
    // The list the console's `kubectl get at` users see, with a status written through the
    // status subresource: free-form `result` keeps nested unknown fields, conditions survive.
    let status = json!({"status": {
        "phase": "Succeeded", "verdict": "GO", "assignedNode": "m5-max",
        "finishedAt": "2026-01-02T03:04:05Z",
        "result": {"verdict": "GO", "summary": "done", "extra": {"branch": "foreman/issue-3",
            "nested": {"deep": [1, 2, {"x": true}]}}},
        "conditions": [{"type": "Completed", "status": "True", "reason": "Done", "message": "ok",
            "lastTransitionTime": "2026-01-02T03:04:05Z"}]
    }});
    kubectl(
        &[
            "patch",
            "-n",
            "default",
            "agentictask",
            "fix-greeting",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
        None,
    );
    let list: Value = serde_json::from_str(&kubectl(
        &["get", "at", "-n", "default", "-o", "json"],
        None,
    ))
    .unwrap();
    let task = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metadata"]["name"] == "fix-greeting")
        .expect("fix-greeting listed");
    assert_eq!(task["status"], status["status"]);
    let table = kubectl(&["get", "at", "fix-greeting", "-n", "default"], None);
    assert!(
        table.contains("Succeeded") && table.contains("m5-max") && table.contains("GO"),
        "{table}"
    );
}
