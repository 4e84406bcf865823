//! Full clone of the remote's default branch (upstream §3.2 step 7).

use super::GitError;
use super::auth::{Token, install_credentials, redact_url, scrub};
use std::path::Path;

/// Full clone (no depth limit) of the remote's default branch into `dest`, which must be
/// absent or empty. The token goes through fail-fast credential callbacks, so a bad token gives
/// [`GitError::Auth`] after one round-trip; the stored `origin` URL never contains it.
pub fn clone(url: &str, dest: &Path, token: Option<&Token>) -> Result<git2::Repository, GitError> {
    ensure_empty(dest)?;
    let shown = redact_url(url);
    let mut cbs = git2::RemoteCallbacks::new();
    let creds = install_credentials(&mut cbs, token);
    let mut fetch = git2::FetchOptions::new();
    fetch.remote_callbacks(cbs);
    let result = git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .clone(url, dest);
    match result {
        Ok(repo) => Ok(repo),
        Err(e) => {
            let message = scrub(e.message(), token);
            if let Some(why) = creds.refusal() {
                Err(GitError::Auth {
                    url: shown,
                    message: why.to_string(),
                })
            } else if e.code() == git2::ErrorCode::Auth {
                Err(GitError::Auth {
                    url: shown,
                    message,
                })
            } else {
                Err(GitError::Clone {
                    url: shown,
                    message,
                })
            }
        }
    }
}

/// A leftover workspace must have been removed by the caller; cloning into it would mix trees.
fn ensure_empty(dest: &Path) -> Result<(), GitError> {
    match std::fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(GitError::DestinationNotEmpty(dest.to_path_buf()))
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(GitError::op(
            format!("clone: inspect destination {}", dest.display()),
            e,
        )),
    }
}

/// Lists the remote's branch heads without cloning (`git ls-remote --heads`): the doctor's
/// "is the remote reachable with this token" check. Same fail-fast credentials as `clone`.
pub fn ls_remote(url: &str, token: Option<&Token>) -> Result<Vec<String>, GitError> {
    let shown = redact_url(url);
    let mut remote = git2::Remote::create_detached(url).map_err(|e| GitError::Clone {
        url: shown.clone(),
        message: scrub(e.message(), token),
    })?;
    let mut cbs = git2::RemoteCallbacks::new();
    let creds = install_credentials(&mut cbs, token);
    let connection = remote.connect_auth(git2::Direction::Fetch, Some(cbs), None);
    let connection = match connection {
        Ok(c) => c,
        Err(e) => {
            let message = creds
                .refusal()
                .map_or_else(|| scrub(e.message(), token), str::to_string);
            return Err(
                if creds.refusal().is_some() || e.code() == git2::ErrorCode::Auth {
                    GitError::Auth {
                        url: shown,
                        message,
                    }
                } else {
                    GitError::Clone {
                        url: shown,
                        message,
                    }
                },
            );
        }
    };
    let heads = connection
        .list()
        .map_err(|e| GitError::Clone {
            url: shown,
            message: scrub(e.message(), token),
        })?
        .iter()
        .filter_map(|h| h.name().strip_prefix("refs/heads/").map(str::to_string))
        .collect();
    Ok(heads)
}
