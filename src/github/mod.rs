//! Opening the pull request for a pushed Foreman branch (runbook step 7, done by hand in M3).
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

pub use body::{PrBodyInput, parse_remote, pr_body, pr_title};
pub use client::{
    GitHubClient, GitHubConfig, GitHubError, PrRequest, PullRequest, RawResponse, ensure_pr,
};
