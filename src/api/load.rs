//! Strict manifest loading: multi-document YAML, unknown fields rejected by path, and semantic
//! checks the CRD schema cannot express. Errors always name the file, the document and the field.

use super::{API_VERSION, Agent, AgenticTask, FleetNode, Workload};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Tools this executor implements (upstream's six).
pub const KNOWN_TOOLS: [&str; 6] = [
    "bash",
    "grep",
    "read_file",
    "str_replace",
    "submit_result",
    "write_file",
];

/// One loaded manifest.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Agent(Box<Agent>),
    Task(Box<AgenticTask>),
    FleetNode(Box<FleetNode>),
    Workload(Box<Workload>),
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Agent(_) => "Agent",
            Object::Task(_) => "AgenticTask",
            Object::FleetNode(_) => "FleetNode",
            Object::Workload(_) => "Workload",
        }
    }
    pub fn name(&self) -> &str {
        let meta = match self {
            Object::Agent(o) => &o.metadata,
            Object::Task(o) => &o.metadata,
            Object::FleetNode(o) => &o.metadata,
            Object::Workload(o) => &o.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }
    /// YAML of the object (for round-trips and `foreman submit`).
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        match self {
            Object::Agent(o) => serde_yaml::to_string(o),
            Object::Task(o) => serde_yaml::to_string(o),
            Object::FleetNode(o) => serde_yaml::to_string(o),
            Object::Workload(o) => serde_yaml::to_string(o),
        }
    }
}

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

type Problem = (String, String);

fn problem(field: &str, message: impl Into<String>) -> Problem {
    (field.to_string(), message.into())
}

/// Checks the schema's ranges and the rules it cannot express.
pub fn validate(obj: &Object) -> Result<(), Problem> {
    let name = obj.name();
    if name.is_empty() {
        return Err(problem("metadata.name", "required"));
    }
    if !is_dns1123_subdomain(name) {
        return Err(problem(
            "metadata.name",
            format!(
                "`{name}` is not a valid name (lowercase letters, digits, '-' and '.', at most 253)"
            ),
        ));
    }
    match obj {
        Object::Agent(a) => validate_agent(&a.spec),
        Object::Task(t) => validate_task(name, &t.spec),
        Object::FleetNode(n) => {
            if n.spec.node_name.trim().is_empty() {
                return Err(problem("spec.nodeName", "required"));
            }
            Ok(())
        }
        Object::Workload(w) => {
            if w.spec.intent.trim().is_empty() {
                return Err(problem("spec.intent", "must not be empty"));
            }
            Ok(())
        }
    }
}

fn range(field: &str, v: Option<i32>, min: i32, max: i32) -> Result<(), Problem> {
    match v {
        Some(n) if n < min || n > max => {
            Err(problem(field, format!("{n} is out of range {min}..={max}")))
        }
        _ => Ok(()),
    }
}

fn validate_agent(spec: &super::AgentSpec) -> Result<(), Problem> {
    if spec.tools.is_empty() {
        return Err(problem("spec.tools", "at least one tool is required"));
    }
    for (i, tool) in spec.tools.iter().enumerate() {
        if !KNOWN_TOOLS.contains(&tool.as_str()) {
            return Err(problem(
                &format!("spec.tools[{i}]"),
                format!("unknown tool `{tool}` (known: {})", KNOWN_TOOLS.join(", ")),
            ));
        }
    }
    range("spec.maxTurns", spec.max_turns, 1, 500)?;
    range("spec.maxRetries", spec.max_retries, 0, 20)?;
    range(
        "spec.requestTimeoutSeconds",
        spec.request_timeout_seconds,
        1,
        i32::MAX,
    )?;
    range(
        "spec.bashTimeoutSeconds",
        spec.bash_timeout_seconds,
        1,
        i32::MAX,
    )?;
    range("spec.maxOutputTokens", spec.max_output_tokens, 1, i32::MAX)?;
    range(
        "spec.convergeTurns",
        spec.converge_turns,
        0,
        spec.max_turns.unwrap_or(50),
    )?;
    if spec.converge_turns.unwrap_or(0) > 0 && !spec.tools.iter().any(|t| t == "submit_result") {
        return Err(problem(
            "spec.convergeTurns",
            "needs submit_result in spec.tools",
        ));
    }
    if let Some(t) = &spec.temperature {
        match t.parse::<f64>() {
            Ok(v)
                if (0.0..=2.0).contains(&v)
                    && t.chars().all(|c| c.is_ascii_digit() || c == '.') => {}
            _ => {
                return Err(problem(
                    "spec.temperature",
                    format!("`{t}` is not a decimal between 0 and 2"),
                ));
            }
        }
    }
    if let Some(shots) = &spec.few_shot {
        for (i, s) in shots.iter().enumerate() {
            if !spec.tools.contains(&s.tool) {
                return Err(problem(
                    &format!("spec.fewShot[{i}].tool"),
                    format!("`{}` is not in spec.tools", s.tool),
                ));
            }
            if !s.arguments.is_object() {
                return Err(problem(
                    &format!("spec.fewShot[{i}].arguments"),
                    "must be a mapping of argument names to values",
                ));
            }
        }
    }
    Ok(())
}

fn validate_task(name: &str, spec: &super::AgenticTaskSpec) -> Result<(), Problem> {
    use super::TaskKind;
    range("spec.payload.issue", spec.payload.issue, 1, i32::MAX)?;
    range("spec.timeoutSeconds", spec.timeout_seconds, 0, i32::MAX)?;
    if spec.kind == TaskKind::Freeform
        && spec
            .payload
            .prompt
            .as_deref()
            .is_none_or(|p| p.trim().is_empty())
    {
        return Err(problem(
            "spec.payload.prompt",
            "required for kind freeform (it is the whole user message)",
        ));
    }
    if let Some(repo) = &spec.payload.repo
        && (repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/'))
    {
        return Err(problem(
            "spec.payload.repo",
            format!("`{repo}` is not of the form owner/name"),
        ));
    }
    if let Some(deps) = &spec.depends_on {
        for (i, d) in deps.iter().enumerate() {
            if d == name {
                return Err(problem(
                    &format!("spec.dependsOn[{i}]"),
                    "a task cannot depend on itself",
                ));
            }
        }
    }
    if let Some(r) = &spec.agent_ref
        && r.name.trim().is_empty()
    {
        return Err(problem("spec.agentRef.name", "must not be empty"));
    }
    Ok(())
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
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
