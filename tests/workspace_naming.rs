//! Token lookup order/trimming and branch naming precedence.

use foreman::api::{AgenticTaskPayload, AgenticTaskSpec, TaskKind};
use foreman::workspace::{AuthError, GitError, Token, branch_name, resolve_token_from};
use std::path::Path;

const NO_TOKEN: &str =
    "repo: no GitHub token found (set GITHUB_TOKEN env or ~/.config/foreman/github-token)";

#[test]
fn env_wins_over_file_and_is_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("github-token");
    std::fs::write(&file, "from-file\n").unwrap();
    let t = resolve_token_from(Some("  from-env \n".into()), &file).unwrap();
    assert_eq!(t.expose(), "from-env");
}

#[test]
fn blank_env_falls_back_to_trimmed_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("github-token");
    std::fs::write(&file, "\n  ghp_file  \n").unwrap();
    for env in [None, Some(String::new()), Some(" \t\n".into())] {
        let t = resolve_token_from(env, &file).unwrap();
        assert_eq!(t.expose(), "ghp_file");
    }
}

#[test]
fn nothing_found_gives_upstreams_exact_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let blank = dir.path().join("blank");
    std::fs::write(&blank, "  \n").unwrap();
    for file in [missing.as_path(), blank.as_path(), Path::new("")] {
        let err = resolve_token_from(None, file).unwrap_err();
        assert!(matches!(err, AuthError::NotFound));
        assert_eq!(err.to_string(), NO_TOKEN);
    }
}

#[test]
fn token_is_masked_in_debug_and_display() {
    let t = Token::new("ghp_topsecret");
    assert!(!format!("{t:?}{t}").contains("topsecret"));
}

fn spec(kind: TaskKind, payload: AgenticTaskPayload) -> AgenticTaskSpec {
    AgenticTaskSpec {
        kind,
        model_ref: None,
        agent_ref: None,
        required_capability: None,
        payload,
        timeout_seconds: None,
        depends_on: None,
        priority: None,
        gate_profile: None,
        verdict_policy: None,
        mcp_enabled: None,
        gate: None,
    }
}

fn payload(branch: Option<&str>, prefix: Option<&str>, issue: Option<i32>) -> AgenticTaskPayload {
    AgenticTaskPayload {
        branch: branch.map(Into::into),
        branch_prefix: prefix.map(Into::into),
        issue,
        ..Default::default()
    }
}

#[test]
fn branch_precedence() {
    let name = |kind, p| branch_name("fix-42", &spec(kind, p)).unwrap();
    // Explicit branch wins on any kind, prefix or not.
    assert_eq!(
        name(
            TaskKind::IssueFix,
            payload(Some("feat/x"), Some("bot/"), Some(7))
        ),
        "feat/x"
    );
    assert_eq!(
        name(TaskKind::Verify, payload(Some("pr-9"), None, None)),
        "pr-9"
    );
    // issue-fix with issue > 0.
    assert_eq!(
        name(TaskKind::IssueFix, payload(None, None, Some(7))),
        "foreman/issue-7"
    );
    assert_eq!(
        name(TaskKind::IssueFix, payload(None, Some("bot/"), Some(7))),
        "bot/issue-7"
    );
    // Otherwise the task name; issue is ignored for other kinds and when not positive.
    assert_eq!(
        name(TaskKind::Freeform, payload(None, None, Some(7))),
        "foreman/fix-42"
    );
    assert_eq!(
        name(TaskKind::IssueFix, payload(None, None, Some(0))),
        "foreman/fix-42"
    );
    assert_eq!(
        name(TaskKind::Freeform, payload(None, Some("team-"), None)),
        "team-fix-42"
    );
    // A blank explicit branch counts as unset.
    assert_eq!(
        name(TaskKind::IssueFix, payload(Some("  "), None, Some(3))),
        "foreman/issue-3"
    );
}

#[test]
fn invalid_names_are_rejected_with_the_name() {
    let cases = [
        payload(Some("has space"), None, None),
        payload(Some("a..b"), None, None),
        payload(Some("ends.lock"), None, None),
        payload(Some("-dash"), None, None),
        payload(None, Some("bad~prefix/"), None),
        payload(None, Some("trailing//"), None),
    ];
    for p in cases {
        let err = branch_name("t", &spec(TaskKind::Freeform, p.clone())).unwrap_err();
        match &err {
            GitError::InvalidBranchName { name, .. } => {
                assert!(!name.is_empty(), "{p:?}");
            }
            other => panic!("{p:?}: unexpected {other:?}"),
        }
        assert!(err.to_string().contains("invalid branch name"), "{err}");
    }
}
