//! The generated CRDs (`foreman crds`): names, scope, printer columns (spec §1), status
//! subresources, and the structural-schema rules Kubernetes 1.20 enforces (no CEL).

use foreman::k8s::{crds, crds_yaml};
use serde_json::{Value, json};

fn crd_json(kind: &str) -> Value {
    let all: Vec<Value> = crds()
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    all.into_iter()
        .find(|c| c["spec"]["names"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

fn columns(crd: &Value) -> Vec<(String, String, String)> {
    crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["type"].as_str().unwrap().to_owned(),
                c["jsonPath"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn col(name: &str, ty: &str, path: &str) -> (String, String, String) {
    (name.to_owned(), ty.to_owned(), path.to_owned())
}

const AGE: &str = ".metadata.creationTimestamp";

#[test]
fn names_scope_short_names_and_status_subresource() {
    let expected = [
        ("Agent", "agents", "ag", "Namespaced"),
        ("AgenticTask", "agentictasks", "at", "Namespaced"),
        ("FleetNode", "fleetnodes", "fn", "Cluster"),
        ("Workload", "workloads", "wl", "Namespaced"),
    ];
    assert_eq!(crds().len(), 4);
    for (kind, plural, short, scope) in expected {
        let c = crd_json(kind);
        assert_eq!(c["apiVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(
            c["metadata"]["name"],
            format!("{plural}.foreman.llmkube.dev")
        );
        assert_eq!(c["spec"]["group"], "foreman.llmkube.dev");
        assert_eq!(c["spec"]["names"]["plural"], plural);
        assert_eq!(c["spec"]["names"]["shortNames"], json!([short]), "{kind}");
        assert_eq!(c["spec"]["scope"], scope, "{kind}");
        let v = &c["spec"]["versions"][0];
        assert_eq!(v["name"], "v1alpha1");
        assert_eq!(v["served"], true);
        assert_eq!(v["storage"], true);
        assert_eq!(v["subresources"]["status"], json!({}), "{kind}");
    }
}

#[test]
fn printer_columns_match_spec_section_1() {
    assert_eq!(
        columns(&crd_json("Agent")),
        vec![
            col("Role", "string", ".spec.role"),
            col("Model", "string", ".spec.model"),
            col(
                "InferenceService",
                "string",
                ".spec.inferenceServiceRef.name"
            ),
            col("Age", "date", AGE),
        ]
    );
    assert_eq!(
        columns(&crd_json("AgenticTask")),
        vec![
            col("Phase", "string", ".status.phase"),
            col("Kind", "string", ".spec.kind"),
            col("Node", "string", ".status.assignedNode"),
            col("Verdict", "string", ".status.verdict"),
            col("Age", "date", AGE),
        ]
    );
    assert_eq!(
        columns(&crd_json("FleetNode")),
        vec![
            col("Phase", "string", ".status.phase"),
            col("Accelerator", "string", ".status.capability.accelerator"),
            col("RAM", "integer", ".status.capability.availableRAMGB"),
            col("Current Task", "string", ".status.currentTask"),
            col("Heartbeat", "date", ".status.lastHeartbeatTime"),
            col("Age", "date", AGE),
        ]
    );
    assert_eq!(
        columns(&crd_json("Workload")),
        vec![
            col("Phase", "string", ".status.phase"),
            col("Repo", "string", ".spec.repo"),
            col("Tasks", "integer", ".status.succeededTasks"),
            col("Failed", "integer", ".status.failedTasks"),
            col("Age", "date", AGE),
        ]
    );
}

/// Every rule of a structural schema that 1.20 checks, plus "no CEL"; returns violations.
fn structural_violations(path: &str, s: &Value, out: &mut Vec<String>) {
    let Some(obj) = s.as_object() else {
        out.push(format!("{path}: not an object"));
        return;
    };
    for banned in [
        "$ref",
        "definitions",
        "$defs",
        "oneOf",
        "anyOf",
        "allOf",
        "not",
        "x-kubernetes-validations",
    ] {
        if obj.contains_key(banned) {
            out.push(format!("{path}: has {banned}"));
        }
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        out.push(format!("{path}: properties next to additionalProperties"));
    }
    let free = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true))
        || obj.get("x-kubernetes-int-or-string") == Some(&json!(true));
    if !free && !obj.contains_key("type") {
        out.push(format!("{path}: no type"));
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array)
        && values.iter().any(Value::is_null)
    {
        out.push(format!(
            "{path}: null enum member (kubectl 1.20 rejects it)"
        ));
    }
    if obj.get("default") == Some(&json!("")) {
        out.push(format!(
            "{path}: empty-string default (1.20 reads it as null)"
        ));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            structural_violations(&format!("{path}.{k}"), v, out);
        }
    }
    if let Some(items) = obj.get("items") {
        structural_violations(&format!("{path}[]"), items, out);
    }
    if let Some(ap) = obj.get("additionalProperties").filter(|v| v.is_object()) {
        structural_violations(&format!("{path}{{}}"), ap, out);
    }
}

fn schema(kind: &str) -> Value {
    crd_json(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

#[test]
fn schemas_are_structural_and_free_of_cel() {
    let mut bad = Vec::new();
    for kind in ["Agent", "AgenticTask", "FleetNode", "Workload"] {
        structural_violations(kind, &schema(kind), &mut bad);
    }
    assert!(bad.is_empty(), "violations:\n{}", bad.join("\n"));
    let yaml = crds_yaml().unwrap();
    assert!(!yaml.contains("x-kubernetes-validations"));
    assert!(!yaml.contains("$ref"));
}

#[test]
fn task_result_preserves_unknown_fields_and_nothing_is_nullable() {
    let s = schema("AgenticTask");
    let status = &s["properties"]["status"]["properties"];
    assert_eq!(
        status["result"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    assert_eq!(status["result"]["type"], "object");
    // Unset fields are omitted, as upstream's are: nothing is nullable (1.20 prunes an
    // explicit null from a field that is not, instead of storing it) but the strings 1.20
    // reads as null when empty (the `#[serde(default)]` `String`s).
    assert!(status["phase"]["nullable"].is_null());
    assert!(status["finishedAt"]["nullable"].is_null());
    let spec = &s["properties"]["spec"]["properties"];
    assert!(spec["agentRef"]["nullable"].is_null());
    assert_eq!(spec["agentRef"]["properties"]["name"]["nullable"], true);
    let nullable = crds_yaml().unwrap().matches("nullable: true").count();
    assert!(
        nullable <= 20,
        "{nullable} nullable fields: only empty-able strings may be"
    );
    assert_eq!(
        status["phase"]["enum"],
        json!([
            "Pending",
            "Scheduled",
            "Running",
            "Verifying",
            "Succeeded",
            "Failed"
        ])
    );
    assert_eq!(status["finishedAt"]["format"], "date-time");
    let required = s["properties"]["spec"]["required"].as_array().unwrap();
    assert!(required.contains(&json!("kind")) && required.contains(&json!("payload")));
    // Free-form JSON inside a spec is preserved too (Agent fewShot[].arguments).
    let agent = schema("Agent");
    let args =
        &agent["properties"]["spec"]["properties"]["fewShot"]["items"]["properties"]["arguments"];
    assert_eq!(args["x-kubernetes-preserve-unknown-fields"], true);
}

#[test]
fn conditions_are_structural_list_maps_keyed_by_type() {
    for kind in ["Agent", "AgenticTask", "FleetNode", "Workload"] {
        let c = &schema(kind)["properties"]["status"]["properties"]["conditions"];
        assert_eq!(c["type"], "array", "{kind}");
        assert_eq!(c["x-kubernetes-list-type"], "map", "{kind}");
        assert_eq!(c["x-kubernetes-list-map-keys"], json!(["type"]), "{kind}");
        let item = &c["items"];
        assert_eq!(item["type"], "object");
        assert_eq!(
            item["properties"]["lastTransitionTime"]["format"],
            "date-time"
        );
        assert!(
            item["required"]
                .as_array()
                .unwrap()
                .contains(&json!("type"))
        );
        // metav1.Condition's own validation, as upstream's controller-gen emits it.
        let p = &item["properties"];
        assert_eq!(
            p["status"]["enum"],
            json!(["True", "False", "Unknown"]),
            "{kind}"
        );
        assert_eq!(p["reason"]["minLength"], 1, "{kind}");
        assert_eq!(p["reason"]["maxLength"], 1024, "{kind}");
        assert_eq!(
            p["reason"]["pattern"],
            foreman::api::common::CONDITION_REASON,
            "{kind}"
        );
        assert_eq!(p["type"]["maxLength"], 316, "{kind}");
        assert_eq!(p["type"]["pattern"], foreman::api::common::CONDITION_TYPE);
        assert_eq!(p["message"]["maxLength"], 32768, "{kind}");
        assert_eq!(p["observedGeneration"]["minimum"], 0.0, "{kind}");
    }
}

#[test]
fn yaml_is_four_documents_that_parse_back() {
    let yaml = crds_yaml().unwrap();
    let docs: Vec<Value> = yaml
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| foreman::api::yaml::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = docs
        .iter()
        .map(|d| d["spec"]["names"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Agent", "AgenticTask", "FleetNode", "Workload"]);
    assert!(docs.iter().all(|d| d["kind"] == "CustomResourceDefinition"));
}

#[test]
fn binary_prints_the_same_yaml() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), crds_yaml().unwrap());
}
