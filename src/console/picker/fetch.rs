//! Reading one page of issues for the picker, off the UI thread: the event loop spawns
//! [`run`] for each [`FetchRequest`] and sends its [`Loaded`] back on the console's job
//! channel. GitHub's errors are turned into what the operator should do (set a token, check
//! the repository), short enough for the overlay.

use super::state::{FetchRequest, Loaded};
use crate::github::{GitHubClient, GitHubConfig, GitHubError};

/// The token the picker reads issues with: `GITHUB_TOKEN` or the token file, else none
/// (public repositories answer without one). Reads a file: call it off the UI thread.
pub fn token() -> String {
    crate::workspace::resolve_token()
        .map(|t| t.expose().to_string())
        .unwrap_or_default()
}

/// Reads the requested page; never panics, every failure is a [`Loaded`] error.
pub async fn run(req: FetchRequest, token: String) -> Loaded {
    let anonymous = token.trim().is_empty();
    let result = match GitHubClient::new(GitHubConfig {
        api_base: req.api_base.clone(),
        token,
    }) {
        Ok(c) => c
            .list_issues(&req.query)
            .await
            .map_err(|e| explain(&e, &req, anonymous)),
        Err(e) => Err(explain(&e, &req, anonymous)),
    };
    Loaded {
        generation: req.generation,
        result,
    }
}

/// What went wrong, in words that say what to do.
pub fn explain(e: &GitHubError, req: &FetchRequest, anonymous: bool) -> String {
    let repo = format!("{}/{}", req.query.owner, req.query.repo);
    let set_token = "set a GitHub token (GITHUB_TOKEN or ~/.config/foreman/github-token)";
    match e {
        GitHubError::Unauthorized { .. } if anonymous => {
            format!("GitHub wants a token for {repo} (HTTP 401): {set_token}")
        }
        GitHubError::Unauthorized { .. } => format!(
            "GitHub rejected the token (HTTP 401): {set_token} that is current and can read {repo}"
        ),
        GitHubError::NotFound { api_base, .. } => format!(
            "no such repository: {repo} at {api_base} (HTTP 404), or the token cannot see it; \
             o changes the repository"
        ),
        GitHubError::Forbidden { message, .. } => format!(
            "GitHub refused access to {repo} (HTTP 403: {message}): the token may lack the \
             scope, need SSO authorisation, or be rate limited"
        ),
        GitHubError::BadIssueQuery { messages, .. } => format!(
            "GitHub refused the query on {repo} (HTTP 422): {}; check the labels (l)",
            messages.join("; ")
        ),
        GitHubError::Transport { api_base, detail } => {
            format!("cannot reach the GitHub API at {api_base}: {detail}; check github.api_base")
        }
        other => other.to_string(),
    }
}
