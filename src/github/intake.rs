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

/// A task for `number` of `repo` that is not finished yet (pending, waiting, scheduled,
/// running, or its change awaiting approval): the picker refuses to create a second one, in
/// the console and again in the backend, which holds the authoritative list.
pub fn unfinished_task_for<'a>(
    tasks: impl IntoIterator<Item = &'a AgenticTask>,
    repo: &str,
    number: u64,
) -> Option<&'a AgenticTask> {
    use crate::fleet::{TaskState, task_state};
    tasks.into_iter().find(|t| {
        let p = &t.spec.payload;
        let same = p.issue.and_then(|i| u64::try_from(i).ok()) == Some(number)
            && p.repo
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(repo));
        same && matches!(
            task_state(t),
            TaskState::Pending
                | TaskState::Waiting
                | TaskState::Scheduled
                | TaskState::Running
                | TaskState::AwaitingApproval
        )
    })
}

/// The picker's task name for an issue: `issue-<N>`, or `issue-<N>-2`, `-3`, … when an
/// earlier (finished) task holds the name; `taken` says whether a name is in use.
pub fn picker_task_name(number: u64, taken: impl Fn(&str) -> bool) -> String {
    let base = format!("issue-{number}");
    (1u32..)
        .map(|i| match i {
            1 => base.clone(),
            i => format!("{base}-{i}"),
        })
        .find(|n| !taken(n))
        .unwrap_or(base)
}

/// The repository and issue a task works on (`payload.repo`, `payload.issue`).
pub fn issue_of(t: &AgenticTask) -> Option<(&str, u64)> {
    let p = &t.spec.payload;
    Some((p.repo.as_deref()?, u64::try_from(p.issue?).ok()?))
}

/// Why a new task for `number` of `repo` would duplicate an unfinished one of `tasks`: the
/// same words from the console's check and from either backend's.
pub fn duplicate_of<'a>(
    tasks: impl IntoIterator<Item = &'a AgenticTask>,
    repo: &str,
    number: u64,
) -> Option<String> {
    let other = unfinished_task_for(tasks, repo, number)?;
    Some(format!(
        "issue #{number} of {repo} already has a task that is not finished: {} ({}); \
         not creating another",
        crate::fleet::TaskKey::of(other),
        crate::fleet::outcome::state_label(other)
    ))
}

/// ` (issue #N of owner/repo)`, or nothing for a task without an issue.
pub fn of_issue(t: &AgenticTask) -> String {
    issue_of(t).map_or(String::new(), |(r, n)| format!(" (issue #{n} of {r})"))
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

    #[test]
    fn an_unfinished_task_for_the_issue_is_found_and_names_skip_finished_ones() {
        use crate::api::{AgenticTaskStatus, TaskPhase};
        let issue = Issue {
            number: 7,
            title: "t".into(),
            body: String::new(),
            labels: vec![],
            html_url: String::new(),
        };
        let mut t = issue_task("default", "issue-7", "acme/fleet", &issue, None, None).unwrap();
        assert!(unfinished_task_for([&t], "Acme/Fleet", 7).is_some());
        assert!(unfinished_task_for([&t], "acme/fleet", 8).is_none());
        assert!(unfinished_task_for([&t], "acme/other", 7).is_none());
        t.status = Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Failed),
            ..Default::default()
        });
        assert!(unfinished_task_for([&t], "acme/fleet", 7).is_none());
        assert_eq!(picker_task_name(7, |_| false), "issue-7");
        assert_eq!(
            picker_task_name(7, |n| n == "issue-7" || n == "issue-7-2"),
            "issue-7-3"
        );
    }
}
