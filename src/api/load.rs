//! Strict manifest loading: multi-document YAML, unknown fields rejected by path, and semantic
//! checks the CRD schema cannot express. Errors always name the file, the document and the field.
//! Every file is read within [`Limits`] (size, objects, depth, aliases), so hostile input is
//! refused in milliseconds with the bound it broke.

use super::API_VERSION;
pub use super::object::Object;
pub use super::rules::{KNOWN_TOOLS, validate};
use super::yaml::{self, Limits};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not valid UTF-8 at line {line} (byte {offset}); save the file as UTF-8")]
    NotUtf8 {
        file: String,
        line: usize,
        offset: usize,
    },
    #[error("{file}: not valid YAML: {message}")]
    Syntax { file: String, message: String },
    /// An input bound ([`Limits`]) was broken; the message says which, where and what to do.
    #[error("{file}: {message}")]
    Limit { file: String, message: String },
    #[error(
        "{file}: document {doc}: a manifest must be a mapping (apiVersion, kind, metadata, spec), found {found}"
    )]
    NotAMapping {
        file: String,
        doc: usize,
        found: &'static str,
    },
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

impl LoadError {
    /// The same error, said of document `n`.
    fn in_document(mut self, n: usize) -> Self {
        if let LoadError::NotAMapping { doc, .. }
        | LoadError::UnknownField { doc, .. }
        | LoadError::Invalid { doc, .. } = &mut self
        {
            *doc = n;
        }
        self
    }
}

/// Loads every document of a YAML file within the default [`Limits`].
pub fn load_file(path: &Path) -> Result<Vec<Object>, LoadError> {
    load_file_with(path, &Limits::default())
}

/// [`load_file`] within `limits`. The size is checked before reading, and the read stops one
/// byte past the limit, so neither a huge file nor a pipe that never ends is read whole.
pub fn load_file_with(path: &Path, limits: &Limits) -> Result<Vec<Object>, LoadError> {
    let file = path.display().to_string();
    let io = |source| LoadError::Io {
        file: file.clone(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limits.max_bytes as u64 {
        return Err(too_large(&file, &size.to_string(), limits));
    }
    let mut bytes = Vec::new();
    f.take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limits.max_bytes {
        return Err(too_large(&file, "more than", limits));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let offset = e.valid_up_to();
        LoadError::NotUtf8 {
            file: file.clone(),
            line: 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count(),
            offset,
        }
    })?;
    load_str_with(&file, text, limits)
}

/// Loads every document of YAML text within the default [`Limits`]; `file` is only used in
/// messages.
pub fn load_str(file: &str, text: &str) -> Result<Vec<Object>, LoadError> {
    load_str_with(file, text, &Limits::default())
}

/// [`load_str`] within `limits`.
pub fn load_str_with(file: &str, text: &str, limits: &Limits) -> Result<Vec<Object>, LoadError> {
    if text.len() > limits.max_bytes {
        return Err(too_large(file, &text.len().to_string(), limits));
    }
    let limit = |message| LoadError::Limit {
        file: file.to_string(),
        message,
    };
    // Empty documents (a trailing `---`) are skipped by the library, as they were before.
    let docs: Vec<Spanned<Value>> =
        serde_saphyr::from_multiple_with_options(text, yaml::manifest_options(limits)).map_err(
            |e| match yaml::bound_message(&e, limits) {
                Some(message) => limit(message),
                None => LoadError::Syntax {
                    file: file.to_string(),
                    message: yaml::user_message(&e),
                },
            },
        )?;
    if docs.len() > limits.max_objects {
        return Err(limit(format!(
            "{} objects; at most {} can be submitted at once, so split the file",
            docs.len(),
            limits.max_objects
        )));
    }
    if docs.is_empty() {
        return Err(LoadError::Other {
            file: file.to_string(),
            message: "no manifests found (expected Agent, AgenticTask, FleetNode or Workload)"
                .into(),
        });
    }
    let mut out = Vec::with_capacity(docs.len());
    for (i, doc) in docs.into_iter().enumerate() {
        let at = doc.referenced;
        let obj = load_value(file, i + 1, doc.value)
            .map_err(|e| e.in_document(document_number(text, at).unwrap_or(i + 1)))?;
        out.push(obj);
    }
    Ok(out)
}

fn too_large(file: &str, size: &str, limits: &Limits) -> LoadError {
    LoadError::Limit {
        file: file.to_string(),
        message: format!(
            "{size} bytes, over the limit of {} bytes for one manifest file; split it into \
             smaller files",
            limits.max_bytes
        ),
    }
}

/// The number of the document holding the node at `at`, counting empty documents too (as an
/// editor shows them, and as `serde_yaml` did). The library skips empty documents, so they are
/// counted on the parser's own events; this runs only for an error message, on text that has
/// already parsed within the budgets.
fn document_number(text: &str, at: Location) -> Option<usize> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let at = (at.line() as usize, at.column() as usize);
    let mut n = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        if (span.start.line(), span.start.col() + 1) > at {
            break;
        }
        n += usize::from(matches!(event, Event::DocumentStart(..)));
    }
    (n > 0).then_some(n)
}

fn load_value(file: &str, doc: usize, value: Value) -> Result<Object, LoadError> {
    let invalid = |field: &str, message: String| LoadError::Invalid {
        file: file.to_string(),
        doc,
        field: field.to_string(),
        message,
    };
    let Some(map) = value.as_object() else {
        return Err(LoadError::NotAMapping {
            file: file.to_string(),
            doc,
            found: match value {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                Value::Null | Value::Object(_) => "nothing",
            },
        });
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
    value: Value,
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
