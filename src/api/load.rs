//! Strict manifest loading: multi-document YAML, unknown fields rejected by path, and semantic
//! checks the CRD schema cannot express. Errors always name the file, the document and the field.

use super::API_VERSION;
pub use super::object::Object;
pub use super::rules::{KNOWN_TOOLS, validate};
use serde::de::DeserializeOwned;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not valid YAML: {message}")]
    Syntax { file: String, message: String },
    #[error(
        "{file}: document {doc}: unknown field `{field}` (misspelt, or not part of {kind}; `foreman crds` prints the schema)"
    )]
    UnknownField {
        file: String,
        doc: usize,
        kind: String,
        field: String,
    },
    #[error("{file}: document {doc}: field `{field}`: {message}")]
    Invalid {
        file: String,
        doc: usize,
        field: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Other { file: String, message: String },
}

/// Loads every document of a YAML file.
pub fn load_file(path: &Path) -> Result<Vec<Object>, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        file: file.clone(),
        source,
    })?;
    load_str(&file, &text)
}

/// Loads every document of YAML text; `file` is only used in messages.
pub fn load_str(file: &str, text: &str) -> Result<Vec<Object>, LoadError> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let doc_no = i + 1;
        let value: serde_yaml::Value =
            serde::Deserialize::deserialize(doc).map_err(|e| LoadError::Syntax {
                file: file.to_string(),
                message: e.to_string(),
            })?;
        if value.is_null() {
            continue; // empty document, e.g. a trailing `---`
        }
        out.push(load_value(file, doc_no, value)?);
    }
    if out.is_empty() {
        return Err(LoadError::Other {
            file: file.to_string(),
            message: "no manifests found (expected Agent, AgenticTask, FleetNode or Workload)"
                .into(),
        });
    }
    Ok(out)
}

fn load_value(file: &str, doc: usize, value: serde_yaml::Value) -> Result<Object, LoadError> {
    let invalid = |field: &str, message: String| LoadError::Invalid {
        file: file.to_string(),
        doc,
        field: field.to_string(),
        message,
    };
    let Some(map) = value.as_mapping() else {
        return Err(invalid("", "a manifest must be a mapping".into()));
    };
    let api_version = map.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("");
    if api_version != API_VERSION {
        return Err(invalid(
            "apiVersion",
            format!("expected `{API_VERSION}`, found `{api_version}`"),
        ));
    }
    let kind = map
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let obj = match kind.as_str() {
        "Agent" => Object::Agent(Box::new(typed(file, doc, &kind, value)?)),
        "AgenticTask" => Object::Task(Box::new(typed(file, doc, &kind, value)?)),
        "FleetNode" => Object::FleetNode(Box::new(typed(file, doc, &kind, value)?)),
        "Workload" => Object::Workload(Box::new(typed(file, doc, &kind, value)?)),
        other => {
            return Err(invalid(
                "kind",
                format!(
                    "unsupported kind `{other}` (expected Agent, AgenticTask, FleetNode or Workload)"
                ),
            ));
        }
    };
    validate(&obj).map_err(|(field, message)| invalid(&field, message))?;
    Ok(obj)
}

fn typed<T: DeserializeOwned>(
    file: &str,
    doc: usize,
    kind: &str,
    value: serde_yaml::Value,
) -> Result<T, LoadError> {
    let mut unknown: Vec<String> = Vec::new();
    // The generated root types check apiVersion/kind themselves and skip them; so did we above.
    let mut record = |p: serde_ignored::Path<'_>| {
        let p = p.to_string();
        if p != "apiVersion" && p != "kind" {
            unknown.push(p)
        }
    };
    let de = serde_ignored::Deserializer::new(value, &mut record);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
    if let Some(field) = unknown.into_iter().next() {
        return Err(LoadError::UnknownField {
            file: file.to_string(),
            doc,
            kind: kind.to_string(),
            field,
        });
    }
    parsed.map_err(|e| LoadError::Invalid {
        file: file.to_string(),
        doc,
        field: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"
apiVersion: foreman.llmkube.dev/v1alpha1
kind: AgenticTask
metadata: {name: fix-1, namespace: default}
spec:
  kind: issue-fix
  agentRef: {name: coder}
  payload: {repo: acme/fleet, issue: 1, prompt: "fix it"}
"#;

    #[test]
    fn loads_a_task() {
        let objs = load_str("t.yaml", TASK).unwrap();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0].kind(), "AgenticTask");
        assert_eq!(objs[0].name(), "fix-1");
    }

    #[test]
    fn unknown_field_is_named_with_its_path_and_file() {
        let bad = TASK.replace("issue: 1", "isue: 1");
        let err = load_str("t.yaml", &bad).unwrap_err().to_string();
        assert!(err.contains("t.yaml"), "{err}");
        assert!(err.contains("spec.payload.isue"), "{err}");
    }

    #[test]
    fn unknown_metadata_field_is_rejected() {
        let bad = TASK.replace("namespace: default", "namespase: default");
        let err = load_str("t.yaml", &bad).unwrap_err().to_string();
        assert!(err.contains("metadata.namespase"), "{err}");
    }

    #[test]
    fn bad_enum_names_the_field() {
        let bad = TASK.replace("kind: issue-fix", "kind: issuefix");
        let err = load_str("t.yaml", &bad).unwrap_err().to_string();
        assert!(err.contains("spec.kind"), "{err}");
        assert!(err.contains("issuefix"), "{err}");
    }

    #[test]
    fn syntax_error_names_file() {
        let err = load_str("t.yaml", "kind: [").unwrap_err().to_string();
        assert!(err.starts_with("t.yaml: not valid YAML"), "{err}");
    }

    #[test]
    fn wrong_api_version_is_rejected() {
        let bad = TASK.replace("foreman.llmkube.dev/v1alpha1", "foreman.llmkube.dev/v1");
        let err = load_str("t.yaml", &bad).unwrap_err().to_string();
        assert!(err.contains("apiVersion"), "{err}");
    }

    #[test]
    fn issue_must_be_positive() {
        let bad = TASK.replace("issue: 1", "issue: 0");
        let err = load_str("t.yaml", &bad).unwrap_err().to_string();
        assert!(err.contains("spec.payload.issue"), "{err}");
    }

    #[test]
    fn agent_rules() {
        let agent = |extra: &str| {
            format!(
                "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: a}}\nspec:\n  role: coder\n  tools: [bash, submit_result]\n{extra}"
            )
        };
        assert!(load_str("a.yaml", &agent("")).is_ok());
        let e = load_str("a.yaml", &agent("  temperature: \"2.5\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("spec.temperature"), "{e}");
        let e = load_str("a.yaml", &agent("  maxTurns: 501\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("spec.maxTurns"), "{e}");
        let e = load_str("a.yaml", &agent("").replace("bash,", "bsh,"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("spec.tools[0]") && e.contains("bsh"), "{e}");
        let e = load_str("a.yaml", &agent("  toolProtocol: grammar\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("spec.toolProtocol"), "{e}");
    }

    #[test]
    fn multi_document_files_load_every_document() {
        let two = format!("{TASK}\n---\n{}", TASK.replace("fix-1", "fix-2"));
        let objs = load_str("t.yaml", &two).unwrap();
        assert_eq!(
            objs.iter().map(|o| o.name()).collect::<Vec<_>>(),
            ["fix-1", "fix-2"]
        );
    }

    #[test]
    fn freeform_needs_a_prompt() {
        let bad = TASK
            .replace("kind: issue-fix", "kind: freeform")
            .replace(", prompt: \"fix it\"", "");
        let err = load_str("t.yaml", &bad).unwrap_err().to_string();
        assert!(err.contains("spec.payload.prompt"), "{err}");
    }
}
