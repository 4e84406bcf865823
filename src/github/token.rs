//! Where the token comes from (runbook prerequisites): `$GITHUB_TOKEN`, else
//! `~/.config/foreman/github-token`. Read only by the console process, never passed to the
//! agent's shell.

use std::path::PathBuf;

use super::GitHubError;

/// The token file the runbook documents (`gh auth token > ~/.config/foreman/github-token`).
pub fn token_file() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().join(".config/foreman/github-token"))
}

/// `env` (usually `|k| std::env::var(k).ok()`) is injected so tests need not touch the
/// process environment.
pub fn discover_token(env: impl Fn(&str) -> Option<String>) -> Result<String, GitHubError> {
    if let Some(t) = env("GITHUB_TOKEN").filter(|t| !t.trim().is_empty()) {
        return Ok(t.trim().to_string());
    }
    let path = token_file();
    if let Some(p) = &path
        && let Ok(t) = std::fs::read_to_string(p)
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_string());
    }
    Err(GitHubError::NoToken {
        path: path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.config/foreman/github-token".into()),
    })
}
