//! The rules a manifest must keep that its CRD schema cannot express (ranges, names, tools,
//! cross-field rules), checked after the strict typed load; a breach names the field.

use super::object::Object;

/// Tools this executor implements (upstream's six).
pub const KNOWN_TOOLS: [&str; 6] = [
    "bash",
    "grep",
    "read_file",
    "str_replace",
    "submit_result",
    "write_file",
];

/// Tools upstream's catalog has and this executor does not (HEAD `pkg/foreman/agent/tools`):
/// an Agent naming them loads, so upstream's manifests apply unchanged, and its tasks fail at
/// run time with the tool registry's "unknown tool" error instead.
pub const UPSTREAM_ONLY_TOOLS: [&str; 5] = [
    "fetch_issue",
    "fetch_pull_request",
    "run_gate_job",
    "run_integrate",
    "run_reconcile",
];

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
        if !KNOWN_TOOLS.contains(&tool.as_str()) && !UPSTREAM_ONLY_TOOLS.contains(&tool.as_str()) {
            return Err(problem(
                &format!("spec.tools[{i}]"),
                format!(
                    "unknown tool `{tool}` (known: {}; upstream's, not run here: {})",
                    KNOWN_TOOLS.join(", "),
                    UPSTREAM_ONLY_TOOLS.join(", ")
                ),
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
    range("spec.maxOutputTokens", spec.max_output_tokens, 0, i32::MAX)?;
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
