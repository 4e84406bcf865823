//! Upstream #571/#572: an issue-fix task whose `payload.prompt` is empty gets its issue's title
//! and body from GitHub at run time, so a task written by hand or by `kubectl` with only
//! `repo` and `issue` still tells the model what to fix. Read on the host with the operator's
//! token (which never enters the sandbox); the text is the issue author's, so it is bounded
//! before it becomes the model's user message.

use crate::api::{AgenticTaskSpec, TaskKind};
use crate::github::{GitHubClient, GitHubConfig};
use crate::workspace::Token;

/// The most of an issue's text the prompt carries (GitHub caps a body at 65,536 characters;
/// a GHE or a test server may not).
pub const MAX_ISSUE_PROMPT_BYTES: usize = 64 * 1024;

/// The issue to read, as `(owner, repo, number)`: an issue-fix task with an issue, a
/// repository `owner/name` and a blank prompt; otherwise `None` (nothing to fetch).
pub fn wanted(spec: &AgenticTaskSpec) -> Option<(String, String, u64)> {
    if spec.kind != TaskKind::IssueFix {
        return None;
    }
    if spec
        .payload
        .prompt
        .as_deref()
        .is_some_and(|p| !p.trim().is_empty())
    {
        return None;
    }
    let n = u64::try_from(spec.payload.issue?).ok().filter(|n| *n > 0)?;
    let (owner, repo) = spec.payload.repo.as_deref()?.split_once('/')?;
    if owner.is_empty() || repo.is_empty() || repo.contains('/') {
        return None;
    }
    Some((owner.to_string(), repo.to_string(), n))
}

/// `text` cut to [`MAX_ISSUE_PROMPT_BYTES`] on a character boundary, with a line that says so.
pub fn bounded(text: String) -> String {
    if text.len() <= MAX_ISSUE_PROMPT_BYTES {
        return text;
    }
    let mut end = MAX_ISSUE_PROMPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n\n[the issue's text was cut here at {} KiB]",
        &text[..end],
        MAX_ISSUE_PROMPT_BYTES / 1024
    )
}

/// The issue's prompt (title, blank line, body), read from `api_base` with `token` if there
/// is one (a public repository answers without). The error says what to do.
pub async fn fetch(
    api_base: &str,
    token: Option<&Token>,
    (owner, repo, n): &(String, String, u64),
) -> Result<String, String> {
    let client = GitHubClient::new(GitHubConfig {
        api_base: api_base.to_string(),
        token: token.map(|t| t.expose().to_string()).unwrap_or_default(),
    })
    .map_err(|e| e.to_string())?;
    let issue = client
        .get_issue(owner, repo, *n)
        .await
        .map_err(|e| e.to_string())?;
    Ok(bounded(issue.prompt()))
}

/// Why the run stops before it starts when the issue cannot be read.
pub fn unavailable(api_base: &str, (owner, repo, n): &(String, String, u64), err: &str) -> String {
    format!(
        "payload.prompt is empty and issue #{n} of {owner}/{repo} could not be read from \
         {api_base}: {err}. Put the issue's text in payload.prompt, or make the issue readable \
         (token, [github] api_base)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        kind: TaskKind,
        repo: Option<&str>,
        issue: Option<i32>,
        prompt: Option<&str>,
    ) -> AgenticTaskSpec {
        let kind = match kind {
            TaskKind::Freeform => "freeform",
            _ => "issue-fix",
        };
        serde_json::from_value(serde_json::json!({
            "kind": kind,
            "agentRef": {"name": "coder"},
            "payload": {"repo": repo, "issue": issue, "prompt": prompt},
        }))
        .unwrap()
    }

    #[test]
    fn only_an_issue_fix_with_a_blank_prompt_is_fetched() {
        let want = Some(("acme".to_string(), "fleet".to_string(), 7));
        let s = |prompt| spec(TaskKind::IssueFix, Some("acme/fleet"), Some(7), prompt);
        assert_eq!(wanted(&s(None)), want);
        assert_eq!(wanted(&s(Some("  \n"))), want);
        assert_eq!(wanted(&s(Some("Fix it"))), None);
        let free = spec(TaskKind::Freeform, Some("acme/fleet"), Some(7), None);
        assert_eq!(wanted(&free), None);
        assert_eq!(
            wanted(&spec(TaskKind::IssueFix, Some("acme/fleet"), None, None)),
            None
        );
        assert_eq!(
            wanted(&spec(TaskKind::IssueFix, Some("acme/fleet"), Some(0), None)),
            None
        );
        assert_eq!(wanted(&spec(TaskKind::IssueFix, None, Some(7), None)), None);
        for bad in ["acme", "/fleet", "acme/", "a/b/c"] {
            assert_eq!(
                wanted(&spec(TaskKind::IssueFix, Some(bad), Some(7), None)),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_huge_issue_is_cut_on_a_character_boundary_and_says_so() {
        let small = "Fix the greeting\n\nIt says Helo.".to_string();
        assert_eq!(bounded(small.clone()), small);
        let huge = "é".repeat(MAX_ISSUE_PROMPT_BYTES);
        let cut = bounded(huge);
        assert!(cut.len() < MAX_ISSUE_PROMPT_BYTES + 100, "{}", cut.len());
        assert!(cut.ends_with("[the issue's text was cut here at 64 KiB]"));
        assert!(cut.starts_with("éé"));
    }
}
