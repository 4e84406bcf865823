//! Request changes (issue 12): what the operator's feedback on a GO awaiting approval becomes
//! for the next attempt, and when it may be asked. The engine that runs that attempt is
//! [`super::run::revise`]; this file holds the rules both backends and the console share: the
//! `maxReviewIterations` bound, the `file:line` comments of the feedback, the user message the
//! model reads, and the `extra` keys that record the review round.

use super::git::PendingPush;
use crate::api::Agent;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// `status.result.extra` key: how many times the operator requested changes on this task
/// (absent: none).
pub const REVIEW_ITERATION: &str = "reviewIteration";
/// `status.result.extra` key: the GO commit the latest attempt resumed from, so the diff can
/// show only that attempt's change (`reviewBase..commitSHA`).
pub const REVIEW_BASE: &str = "reviewBase";

/// The operator's request for another attempt on a GO awaiting approval.
#[derive(Clone, Debug)]
pub struct Revision {
    /// The GO under review: its kept workspace, branch and commit (the new attempt starts
    /// from that commit, on that branch, in that workspace).
    pub pending: PendingPush,
    /// The journal of the attempt under review; its conversation is resumed.
    pub previous_journal: PathBuf,
    /// The operator's feedback, as written.
    pub feedback: String,
    /// This request's number (1 for the first), see [`next_iteration`].
    pub iteration: u32,
}

/// The number the next request for changes gets, from the current Result's `extra`.
pub fn next_iteration(extra: &Map<String, Value>) -> u32 {
    let done = extra.get(REVIEW_ITERATION).and_then(Value::as_u64);
    done.map_or(0, |n| n.min(u32::MAX as u64) as u32)
        .saturating_add(1)
}

/// Whether request `iteration` is within the Agent's `maxReviewIterations`; the error says
/// why not and what is left to do.
pub fn check_limit(agent: &Agent, iteration: u32) -> Result<(), String> {
    let max = agent.spec.max_review_iterations();
    if iteration <= max {
        return Ok(());
    }
    Err(format!(
        "changes were requested {} time(s), the Agent's maxReviewIterations is {max}; \
         approve or reject this change (or raise maxReviewIterations)",
        iteration - 1
    ))
}

/// A `file:line` comment in the operator's feedback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineComment {
    pub file: String,
    pub line: u32,
    pub text: String,
}

/// The `file:line` comments of `feedback`: lines that start `path:N:` or `path:N ` (the
/// form compilers and `grep -n` print, and the diff view's `c` writes). Other lines are
/// general feedback.
pub fn line_comments(feedback: &str) -> Vec<LineComment> {
    feedback.lines().filter_map(line_comment).collect()
}

fn line_comment(l: &str) -> Option<LineComment> {
    let l = l.trim_start();
    let (file, rest) = l.split_once(':')?;
    if file.is_empty() || file.contains(char::is_whitespace) {
        return None;
    }
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let line = rest[..digits].parse().ok().filter(|n| *n > 0)?;
    let text = &rest[digits..];
    if !(text.is_empty() || text.starts_with([':', ' ', '\t'])) {
        return None;
    }
    let text = text.trim_start_matches(':').trim();
    Some(LineComment {
        file: file.to_string(),
        line,
        text: text.to_string(),
    })
}

/// How the operator's feedback handed to the model starts (the console marks such messages).
pub const FEEDBACK_PREFIX: &str = "The operator reviewed your change and requests changes";

/// The user message that hands the operator's feedback to the model.
pub fn feedback_message(rev: &Revision, max: u32) -> String {
    let comments = line_comments(&rev.feedback);
    let mut msg = format!(
        "{FEEDBACK_PREFIX} (review {} of at most {max}):\n\n{}\n",
        rev.iteration,
        rev.feedback.trim()
    );
    if !comments.is_empty() {
        msg.push_str("\nComments on lines of the change:\n");
        for c in &comments {
            msg.push_str(&format!("- {}:{}: {}\n", c.file, c.line, c.text));
        }
    }
    msg.push_str(
        "\nMake these changes in the workspace (your earlier commit is checked out), then call \
         submit_result again with verdict GO and a commit_message for them (it is committed on \
         top of your last commit).",
    );
    msg
}

/// The workspace still holds the GO under review: the branch checked out at its commit.
/// Blocking (git2). The error says what to do.
pub fn ready(p: &PendingPush) -> Result<(), String> {
    let ws = p.workspace.display();
    let repo = git2::Repository::open(&p.workspace).map_err(|e| {
        format!(
            "the workspace {ws} is gone or broken ({}); re-queue the task to redo it",
            e.message()
        )
    })?;
    let head = repo
        .head()
        .map_err(|e| format!("the workspace {ws} has no HEAD: {}", e.message()))?;
    let (branch, sha) = (head.shorthand().unwrap_or(""), head.target());
    if branch != p.branch || sha.map(|o| o.to_string()).as_deref() != Some(p.sha.as_str()) {
        return Err(format!(
            "the workspace {ws} is not at the reviewed commit {} on {} (it is on {branch}); \
             re-queue the task to redo it",
            &p.sha[..p.sha.len().min(12)],
            p.branch
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_comments_are_path_colon_line() {
        let fb = "Please rename it.\nsrc/main.rs:12: use a constant\n  lib.rs:3 too long\n\
                  http://x:80 no\nnote: 5 things\nREADME.md:0: no line zero\na.rs:7";
        assert_eq!(
            line_comments(fb),
            vec![
                LineComment {
                    file: "src/main.rs".into(),
                    line: 12,
                    text: "use a constant".into()
                },
                LineComment {
                    file: "lib.rs".into(),
                    line: 3,
                    text: "too long".into()
                },
                LineComment {
                    file: "a.rs".into(),
                    line: 7,
                    text: String::new()
                },
            ]
        );
    }

    #[test]
    fn iterations_count_from_the_result_and_stop_at_the_agents_limit() {
        let mut extra = Map::new();
        assert_eq!(next_iteration(&extra), 1);
        extra.insert(REVIEW_ITERATION.into(), 2.into());
        assert_eq!(next_iteration(&extra), 3);
        let spec = serde_json::json!({"role": "coder", "systemPrompt": "s", "tools": []});
        let mut agent = Agent::new("coder", serde_json::from_value(spec).unwrap());
        agent.spec.max_review_iterations = Some(2);
        assert!(check_limit(&agent, 2).is_ok());
        let why = check_limit(&agent, 3).unwrap_err();
        assert!(why.contains("maxReviewIterations is 2"), "{why}");
        agent.spec.max_review_iterations = None;
        assert!(check_limit(&agent, 3).is_ok(), "default is 3");
        assert!(check_limit(&agent, 4).is_err());
    }

    #[test]
    fn the_feedback_message_carries_the_text_and_the_comments() {
        let rev = Revision {
            pending: PendingPush {
                workspace: "/w".into(),
                remote: "r".into(),
                branch: "b".into(),
                sha: "abc".into(),
            },
            previous_journal: "/j".into(),
            feedback: "Add a test.\nsrc/a.rs:4: off by one\n".into(),
            iteration: 1,
        };
        let m = feedback_message(&rev, 3);
        assert!(m.starts_with(FEEDBACK_PREFIX), "{m}");
        assert!(m.contains("review 1 of at most 3"), "{m}");
        assert!(m.contains("Add a test."), "{m}");
        assert!(m.contains("- src/a.rs:4: off by one"), "{m}");
    }
}
