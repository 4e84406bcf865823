//! An issue becomes an AgenticTask the same way from the console's picker and from
//! `foreman dispatch`: kind issue-fix, `payload.repo` and `issue`, the title and body as the
//! prompt, and upstream's dispatch labels (`pkg/cli/dispatch.go` at LLMKube HEAD).

use super::Issue;
use crate::api::AgenticTask;

/// The dispatch run that created the task (upstream: one id per `dispatch` invocation).
pub const DISPATCH_RUN_LABEL: &str = "foreman.llmkube.dev/dispatch-run";
/// The issue number the task works on.
pub const DISPATCH_ISSUE_LABEL: &str = "foreman.llmkube.dev/issue";
/// The Agent the task was dispatched to.
pub const DISPATCH_AGENT_LABEL: &str = "foreman.llmkube.dev/agent";

/// Upstream's dispatch task name for an issue within a run: `dispatch-<N>-<run>`.
pub fn dispatch_task_name(issue: u64, run: &str) -> String {
    format!("dispatch-{issue}-{run}")
}

/// Upstream's run id: when the dispatch started, sortable (`20260102-150405`; UTC here).
pub fn new_run_id() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string()
}

/// The task for `issue` of `repo` (`owner/name`), named `name`, for `agent` (any Agent
/// matching its capability when `None`). `run` stamps the dispatch labels.
pub fn issue_task(
    namespace: &str,
    name: &str,
    repo: &str,
    issue: &Issue,
    agent: Option<&str>,
    run: Option<&str>,
) -> Result<AgenticTask, String> {
    let number = i32::try_from(issue.number)
        .map_err(|_| format!("issue number {} is out of range", issue.number))?;
    let mut labels = serde_json::Map::new();
    if let Some(r) = run {
        labels.insert(DISPATCH_RUN_LABEL.into(), r.into());
    }
    labels.insert(DISPATCH_ISSUE_LABEL.into(), issue.number.to_string().into());
    if let Some(a) = agent {
        labels.insert(DISPATCH_AGENT_LABEL.into(), a.into());
    }
    let mut spec = serde_json::json!({
        "kind": "issue-fix",
        "payload": {"repo": repo, "issue": number, "prompt": issue.prompt()},
    });
    if let Some(a) = agent {
        spec["agentRef"] = serde_json::json!({ "name": a });
    }
    serde_json::from_value(serde_json::json!({
        "apiVersion": "foreman.llmkube.dev/v1alpha1",
        "kind": "AgenticTask",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }))
    .map_err(|e| format!("could not build the task for issue #{}: {e}", issue.number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_carries_repo_issue_prompt_agent_and_upstreams_labels() {
        let issue = Issue {
            number: 42,
            title: "Fix the greeting".into(),
            body: "It says Helo.".into(),
            labels: vec![],
            html_url: String::new(),
        };
        let name = dispatch_task_name(42, "20261202-040000");
        assert_eq!(name, "dispatch-42-20261202-040000");
        let t = issue_task(
            "default",
            &name,
            "acme/fleet",
            &issue,
            Some("coder"),
            Some("20261202-040000"),
        )
        .unwrap();
        let p = &t.spec.payload;
        assert_eq!(p.repo.as_deref(), Some("acme/fleet"));
        assert_eq!(p.issue, Some(42));
        assert_eq!(
            p.prompt.as_deref(),
            Some("Fix the greeting\n\nIt says Helo.")
        );
        assert_eq!(t.spec.agent_ref.as_ref().unwrap().name, "coder");
        let l = t.metadata.labels.unwrap();
        assert_eq!(l[DISPATCH_RUN_LABEL], "20261202-040000");
        assert_eq!(l[DISPATCH_ISSUE_LABEL], "42");
        assert_eq!(l[DISPATCH_AGENT_LABEL], "coder");
        let any = issue_task("default", "issue-42", "acme/fleet", &issue, None, None).unwrap();
        assert!(any.spec.agent_ref.is_none());
        let l = any.metadata.labels.unwrap();
        assert!(!l.contains_key(DISPATCH_RUN_LABEL) && !l.contains_key(DISPATCH_AGENT_LABEL));
        assert!(run_id_shape(&new_run_id()), "{}", new_run_id());
    }

    fn run_id_shape(id: &str) -> bool {
        id.len() == 15
            && id.as_bytes()[8] == b'-'
            && id.chars().filter(char::is_ascii_digit).count() == 14
    }
}
