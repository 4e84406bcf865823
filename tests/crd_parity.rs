//! Schema parity with upstream LLMKube: every property path of upstream's own Foreman CRDs
//! (HEAD 907ac8d8 and P550 43516088, committed verbatim under tests/fixtures/upstream/) exists
//! in `foreman crds` with the same type, enum, default, pattern and format, and bounds that are
//! no looser. Our schema may add paths (our extensions); it may not drop or loosen upstream's.
//!
//! Decided differences, each checked rather than skipped:
//! - enum: ours equals HEAD's set; P550's set is a subset of ours (HEAD only added values).
//! - default: upstream's `default: ""` (on `LocalObjectReference.name` and Secret refs) is
//!   absent in ours and the field nullable instead, because the 1.20 apiserver refuses that
//!   default and reads `""` in an object as null; absent, null and "" all mean "" there. Where P550's default differs from HEAD's (`requestTimeoutSeconds` 600 → 3600,
//!   #532), ours is HEAD's.

use foreman::k8s::crds;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const HEAD: &str = "907ac8d8";
const P550: &str = "43516088";
const KINDS: [&str; 4] = ["Agent", "AgenticTask", "FleetNode", "Workload"];

/// kind → its `openAPIV3Schema`, from a directory of CRD YAML files.
fn upstream(commit: &str) -> BTreeMap<String, Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream")
        .join(commit)
        .join("crds");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let crd: Value = foreman::api::yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        out.insert(kind, root_schema(&crd));
    }
    out
}

fn root_schema(crd: &Value) -> Value {
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn ours() -> BTreeMap<String, Value> {
    crds()
        .iter()
        .map(|c| {
            let v = serde_json::to_value(c).unwrap();
            (
                v["spec"]["names"]["kind"].as_str().unwrap().to_owned(),
                root_schema(&v),
            )
        })
        .collect()
}

/// Every schema node by path (`.spec.payload.repo`, `[]` for items, `{}` for map values).
fn paths(s: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    if let Some(props) = s["properties"].as_object() {
        for (k, v) in props {
            paths(v, format!("{path}.{k}"), out);
        }
    }
    if s["items"].is_object() {
        paths(&s["items"], format!("{path}[]"), out);
    }
    if s["additionalProperties"].is_object() {
        paths(&s["additionalProperties"], format!("{path}{{}}"), out);
    }
    out.insert(path, s.clone());
}

fn all_paths(schemas: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for kind in KINDS {
        if let Some(s) = schemas.get(kind) {
            paths(s, kind.to_owned(), &mut out);
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

/// How `ours` is looser than or different from `up` at one path; `head` is HEAD's node at the
/// same path when comparing against P550 (HEAD's changes win).
fn differences(up: &Value, ours: &Value, head: Option<&Value>) -> Vec<String> {
    let mut bad = Vec::new();
    for key in [
        "type",
        "pattern",
        "format",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    ] {
        if !up[key].is_null() && up[key] != ours[key] {
            bad.push(format!("{key}: upstream {} ours {}", up[key], ours[key]));
        }
    }
    // Free-form is looser than typed, so it must be upstream's choice too.
    let free = |v: &Value| v["x-kubernetes-preserve-unknown-fields"] == true;
    if free(up) != free(ours) {
        bad.push("x-kubernetes-preserve-unknown-fields differs".into());
    }
    if ours["nullable"] == true && up["nullable"] != true && up["default"] != "" {
        bad.push("nullable where upstream is not".into());
    }
    let default_ok = match (&up["default"], &ours["default"]) {
        (Value::Null, o) => o.is_null() || head.is_some_and(|h| &h["default"] == o),
        (Value::String(u), Value::Null) if u.is_empty() => true,
        (u, o) => u == o || head.is_some_and(|h| &h["default"] == o && h["default"] != *u),
    };
    if !default_ok {
        bad.push(format!(
            "default: upstream {} ours {}",
            up["default"], ours["default"]
        ));
    }
    if !up["enum"].is_null() {
        let (mut u, mut o) = (strings(&up["enum"]), strings(&ours["enum"]));
        u.sort();
        o.sort();
        let ok = match head {
            None => u == o,
            Some(h) => {
                let mut hs = strings(&h["enum"]);
                hs.sort();
                u.iter().all(|x| o.contains(x)) && (o == hs || o == u)
            }
        };
        if !ok {
            bad.push(format!("enum: upstream {u:?} ours {o:?}"));
        }
    }
    let num = |v: &Value, k: &str| v[k].as_f64();
    for (key, lower) in [
        ("minimum", true),
        ("minLength", true),
        ("minItems", true),
        ("maximum", false),
        ("maxLength", false),
        ("maxItems", false),
    ] {
        let Some(u) = num(up, key) else { continue };
        match num(ours, key) {
            Some(o) if (lower && o >= u) || (!lower && o <= u) => {}
            o => bad.push(format!("{key}: upstream {u} ours {o:?}")),
        }
    }
    for r in strings(&up["required"]) {
        if !strings(&ours["required"]).contains(&r) {
            bad.push(format!("required {r} is not required in ours"));
        }
    }
    bad
}

fn parity(commit: &str, head: Option<&BTreeMap<String, Value>>) -> Vec<String> {
    let up = all_paths(&upstream(commit));
    let ours = all_paths(&ours());
    let mut bad = Vec::new();
    for (path, u) in &up {
        match ours.get(path) {
            None => bad.push(format!("{commit} {path}: missing in ours")),
            Some(o) => {
                let h = head.and_then(|h| h.get(path));
                for d in differences(u, o, h) {
                    bad.push(format!("{commit} {path}: {d}"));
                }
            }
        }
    }
    bad
}

#[test]
fn ours_has_every_path_of_upstream_head_and_is_no_looser() {
    let up = all_paths(&upstream(HEAD));
    assert!(up.len() > 300, "the HEAD fixture has {} paths", up.len());
    let bad = parity(HEAD, None);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn ours_has_every_path_of_upstream_p550_and_is_no_looser() {
    let head = all_paths(&upstream(HEAD));
    let bad = parity(P550, Some(&head));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_diff_catches_a_looser_schema() {
    // The checker itself: each kind of loosening is reported.
    let up: Value = serde_json::json!({
        "type": "integer", "minimum": 1, "maximum": 20, "default": 3,
        "enum": [1, 2], "required": ["a"]
    });
    let looser: Value = serde_json::json!({
        "type": "integer", "minimum": 0, "maximum": 21, "default": 4,
        "enum": [1, 2, 3], "nullable": true
    });
    let d = differences(&up, &looser, None);
    for word in [
        "minimum", "maximum", "default", "enum", "nullable", "required",
    ] {
        assert!(
            d.iter().any(|x| x.starts_with(word)),
            "{word} not caught: {d:?}"
        );
    }
    assert!(differences(&up, &up, None).is_empty());
    let stricter = serde_json::json!({
        "type": "integer", "minimum": 2, "maximum": 10, "default": 3,
        "enum": [2, 1], "required": ["a", "b"]
    });
    assert!(differences(&up, &stricter, None).is_empty());
}

#[test]
fn defaults_are_upstream_heads() {
    let ours = all_paths(&ours());
    for (path, default) in [
        ("Agent.spec.maxTurns", serde_json::json!(50)),
        ("Agent.spec.maxRetries", serde_json::json!(3)),
        ("Agent.spec.requestTimeoutSeconds", serde_json::json!(3600)),
        (
            "Agent.spec.requestTurnTimeoutSeconds",
            serde_json::json!(120),
        ),
        ("Agent.spec.bashTimeoutSeconds", serde_json::json!(30)),
        ("Agent.spec.provider", serde_json::json!("local")),
        ("Agent.spec.contextStrategy", serde_json::json!("window")),
        (
            "Agent.spec.requiredCapability.accelerator",
            serde_json::json!("any"),
        ),
        (
            "AgenticTask.spec.requiredCapability.accelerator",
            serde_json::json!("any"),
        ),
        (
            "AgenticTask.spec.payload.branchStrategy",
            serde_json::json!("reset"),
        ),
    ] {
        assert_eq!(ours[path]["default"], default, "{path}");
    }
}
