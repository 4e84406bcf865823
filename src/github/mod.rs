//! GitHub REST: opening the pull request for a pushed Foreman branch (runbook step 7, done by
//! hand in M3), and reading open issues for intake (`issues.rs`).
//!
//! `ensure_pr` is idempotent so the operator's "open PR" key can be pressed twice, or retried
//! after a crash, without creating duplicates: an existing open PR for the same head is found
//! and returned with `created = false`. `pr_title` / `pr_body` fill the runbook's template from
//! the task's Result, commit and issue; `parse_remote` derives owner/repo from the push URL.
//!
//! The token is only ever placed in the `Authorization` header; `Debug`, errors and logs see
//! `***` instead.

mod body;
mod client;
mod intake;
mod issues;

pub use body::{PrBodyInput, parse_remote, pr_body, pr_title};
pub use client::{
    GitHubClient, GitHubConfig, GitHubError, PrRequest, PullRequest, RawResponse, ensure_pr,
};
pub use intake::{
    DISPATCH_AGENT_LABEL, DISPATCH_ISSUE_LABEL, DISPATCH_RUN_LABEL, dispatch_task_name,
    duplicate_of, issue_of, issue_task, new_run_id, of_issue, picker_task_name,
    unfinished_task_for,
};
pub use issues::{Issue, IssuePage, IssueQuery};
