//! Fork → upstream (upstream HEAD #875): the task's `payload.repo` is the upstream, the
//! configured remote (`--git-remote-url`, `git.remote_url`) is the fork, which stays `origin`
//! and receives the push. The base branch is fetched from the upstream, so the work starts
//! from its current tip and not from the fork's possibly stale default branch (#1626).

use super::GitError;
use super::auth::{Token, install_credentials, redact_url, scrub};

/// The upstream's URL: the fork URL with its `owner/name` tail replaced by `repo`
/// (`owner/name`), so it has the fork's host, scheme and `.git` form and the same token
/// reaches it. `None` when the fork URL does not end in `owner/name`, or already names `repo`
/// (no fork: clone, base and push are all the one remote).
pub fn upstream_url(fork_url: &str, repo: &str) -> Option<String> {
    let (up_owner, up_name) = repo.trim().split_once('/')?;
    let up_name = up_name.strip_suffix(".git").unwrap_or(up_name);
    if up_owner.is_empty() || up_name.is_empty() || up_name.contains('/') {
        return None;
    }
    let url = fork_url.trim().trim_end_matches('/');
    let (rest, name) = url.rsplit_once('/')?;
    // The owner ends at the last `/` or, in scp-like `git@host:owner/name`, at the `:`.
    let at = rest.rfind(['/', ':'])?;
    let (prefix, owner) = (&rest[..=at], &rest[at + 1..]);
    if owner.is_empty() || name.is_empty() || prefix.ends_with("//") || owner.contains('@') {
        return None;
    }
    let bare = name.strip_suffix(".git").unwrap_or(name);
    if owner.eq_ignore_ascii_case(up_owner) && bare.eq_ignore_ascii_case(up_name) {
        return None;
    }
    let suffix = if name.ends_with(".git") { ".git" } else { "" };
    Some(format!("{prefix}{up_owner}/{up_name}{suffix}"))
}

/// Fetches `base` (the upstream's default branch when `None`) from `url` into
/// `refs/remotes/upstream/<base>` of `repo`, through an in-memory remote (nothing about the
/// upstream is written to the workspace's config). Returns the branch name and its commit.
pub fn fetch_base(
    repo: &git2::Repository,
    url: &str,
    base: Option<&str>,
    token: Option<&Token>,
) -> Result<(String, git2::Oid), GitError> {
    let shown = redact_url(url);
    let fail = |e: git2::Error, creds: Option<&str>| {
        let message = creds.map_or_else(|| scrub(e.message(), token), str::to_string);
        if creds.is_some() || e.code() == git2::ErrorCode::Auth {
            GitError::Auth {
                url: shown.clone(),
                message,
            }
        } else {
            GitError::Clone {
                url: shown.clone(),
                message,
            }
        }
    };
    let mut remote = repo.remote_anonymous(url).map_err(|e| fail(e, None))?;
    let base = match base.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.to_string(),
        None => default_branch(&mut remote, token).map_err(|(e, why)| fail(e, why))?,
    };
    let tracking = format!("refs/remotes/upstream/{base}");
    let spec = format!("+refs/heads/{base}:{tracking}");
    let mut cbs = git2::RemoteCallbacks::new();
    let creds = install_credentials(&mut cbs, token);
    let mut opts = git2::FetchOptions::new();
    opts.remote_callbacks(cbs);
    if let Err(e) = remote.fetch(&[spec.as_str()], Some(&mut opts), None) {
        return Err(fail(e, creds.refusal()));
    }
    drop(opts);
    let oid = repo.refname_to_id(&tracking).map_err(|_| GitError::Clone {
        url: shown.clone(),
        message: format!("the upstream has no branch `{base}` (payload.baseBranch)"),
    })?;
    Ok((base, oid))
}

/// The remote's default branch (`HEAD`'s target), over one connection.
fn default_branch(
    remote: &mut git2::Remote<'_>,
    token: Option<&Token>,
) -> Result<String, (git2::Error, Option<&'static str>)> {
    let mut cbs = git2::RemoteCallbacks::new();
    let creds = install_credentials(&mut cbs, token);
    let conn = remote
        .connect_auth(git2::Direction::Fetch, Some(cbs), None)
        .map_err(|e| (e, creds.refusal()))?;
    let head = conn.default_branch().map_err(|e| (e, None))?;
    let head = head.as_str().unwrap_or_default();
    Ok(head.strip_prefix("refs/heads/").unwrap_or(head).to_string())
}

/// The commit of `origin/<base>` in a fresh clone: `payload.baseBranch` without a separate
/// upstream.
pub fn origin_base(repo: &git2::Repository, base: &str) -> Result<git2::Oid, GitError> {
    repo.refname_to_id(&format!("refs/remotes/origin/{base}"))
        .map_err(|_| {
            GitError::op(
                format!("base branch {base}"),
                "the remote has no such branch (payload.baseBranch)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::upstream_url;

    #[test]
    fn the_upstream_url_keeps_the_forks_host_and_form() {
        let cases = [
            (
                "https://github.com/Defilan/LLMKube.git",
                "defilantech/LLMKube",
                Some("https://github.com/defilantech/LLMKube.git"),
            ),
            (
                "http://127.0.0.1:8080/api/bot/fleet",
                "acme/fleet",
                Some("http://127.0.0.1:8080/api/acme/fleet"),
            ),
            (
                "git@ghe.example.com:bot/fleet.git",
                "acme/fleet",
                Some("git@ghe.example.com:acme/fleet.git"),
            ),
            (
                "/srv/git/bot/fleet.git",
                "acme/fleet",
                Some("/srv/git/acme/fleet.git"),
            ),
            // The same repository (any case, with or without .git): no fork.
            ("https://github.com/acme/Fleet.git", "ACME/fleet", None),
            // No owner in the URL, or a payload.repo that is not owner/name.
            ("https://github.com/fleet.git", "acme/fleet", None),
            ("git@host:fleet.git", "acme/fleet", None),
            ("https://github.com/bot/fleet.git", "acme", None),
            ("https://github.com/bot/fleet.git", "acme/a/b", None),
        ];
        for (fork, repo, want) in cases {
            assert_eq!(upstream_url(fork, repo).as_deref(), want, "{fork} + {repo}");
        }
    }
}
