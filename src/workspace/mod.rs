//! git2 workspace pipeline: token, clone, branch, commit (DCO, hooks), push, diff.
//!
//! Everything runs in-process through libgit2 instead of spawning `git` with an askpass script
//! (upstream §3.4): the token only ever lives in memory and in the credential callback, so it
//! cannot leak into a child environment, a file on disk or the model's shell. All functions are
//! blocking; the executor calls them from `spawn_blocking`.

pub mod auth;
pub mod branch;
pub mod clone;
pub mod commit;
pub mod diff;
pub mod hooks;
pub mod identity;
pub mod pin;
pub mod push;
pub mod tidy;
pub mod upstream;

pub use auth::{AuthError, Token, resolve_token, resolve_token_from, token_file_path};
pub use branch::{branch_name, create_branch, create_branch_at};
pub use clone::{clone, ls_remote};
pub use commit::{CommitError, CommitOutcome, CommitRequest, commit_all, commit_all_in};
pub use diff::{FileDiff, diff_change, diff_commit, diff_range};
pub use identity::Identity;
pub use push::{PushError, push};

use std::path::PathBuf;

/// Failures of clone, branch and diff. Messages name the operation and the remote (with any
/// credentials redacted) and never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "clone: destination {} exists and is not empty; the workspace must be absent or empty",
        .0.display()
    )]
    DestinationNotEmpty(PathBuf),
    #[error(
        "clone of {url}: authentication failed: {message}; check that the GitHub token is valid \
         and can read the repository"
    )]
    Auth { url: String, message: String },
    #[error("clone of {url} failed: {message}")]
    Clone { url: String, message: String },
    #[error("invalid branch name {name:?}: {reason}")]
    InvalidBranchName { name: String, reason: String },
    /// Any other git operation; `what` names it ("create branch foreman/x", "diff of abc123").
    #[error("{what}: {message}")]
    Op { what: String, message: String },
}

impl GitError {
    pub(crate) fn op(what: impl Into<String>, err: impl std::fmt::Display) -> GitError {
        GitError::Op {
            what: what.into(),
            message: err.to_string(),
        }
    }
}
