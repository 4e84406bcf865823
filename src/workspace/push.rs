//! `git push --set-upstream origin <branch>`, never forced (upstream §3.2 step 16.5), to the
//! operator's URL only (issue 9 §2).
//!
//! The push never reads the workspace's `.git/config`: it goes through an anonymous remote
//! for the given URL on a second handle of the repository whose configuration is an empty
//! in-memory one, so `remote.*.url`, `pushurl`, `url.*.insteadOf`/`pushInsteadOf` and
//! credential helpers written there are ignored (the token only ever goes to `url`).
//! `Remote::create_detached` would be the same without a repository, but libgit2 cannot
//! push from a detached remote (it packs from the remote's repository).
//!
//! `Remote::push` can return `Ok` while the server refused the ref (a pre-receive hook, a
//! protected branch): the per-ref verdict only arrives through the `push_update_reference`
//! callback, so that callback decides success. The remote's sideband text (what a hook
//! printed) is kept so the rejection says *why*.

use super::auth::{Token, install_credentials, redact_url, scrub};
use std::cell::RefCell;
use std::rc::Rc;

/// Most remote sideband text kept for an error message.
const REMOTE_TEXT_CAP: usize = 4 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The remote (or libgit2's fast-forward check) refused the update.
    #[error("push rejected: {message}")]
    Rejected { message: String },
    #[error("push failed: authentication: {message}")]
    Auth { message: String },
    #[error("push failed: {message}")]
    Transport { message: String },
}

/// Push `refs/heads/<branch>` to `url` (same name, no `+`), whatever the workspace's config
/// says, then record `origin/<branch>` as its upstream.
pub fn push(
    repo: &git2::Repository,
    url: &str,
    branch: &str,
    token: Option<&Token>,
) -> Result<(), PushError> {
    let transport = |message: String| PushError::Transport { message };
    let refname = local_branch(repo, branch)?;
    let pinned = unconfigured(repo)
        .map_err(|e| transport(format!("cannot open the repository: {}", e.message())))?;
    let mut remote = pinned
        .remote_anonymous(url)
        .map_err(|e| transport(format!("invalid remote URL: {}", scrub(e.message(), token))))?;
    let url = redact_url(url);

    let rejected: Rc<RefCell<Vec<String>>> = Rc::default();
    let remote_text: Rc<RefCell<String>> = Rc::default();
    let mut cbs = git2::RemoteCallbacks::new();
    let creds = install_credentials(&mut cbs, token);
    {
        let rejected = Rc::clone(&rejected);
        cbs.push_update_reference(move |name, status| {
            if let Some(why) = status {
                rejected.borrow_mut().push(format!("{name}: {why}"));
            }
            Ok(())
        });
        let remote_text = Rc::clone(&remote_text);
        cbs.sideband_progress(move |data| {
            let mut t = remote_text.borrow_mut();
            if t.len() < REMOTE_TEXT_CAP {
                t.push_str(&String::from_utf8_lossy(data));
            }
            true
        });
    }
    let mut opts = git2::PushOptions::new();
    opts.remote_callbacks(cbs);
    let spec = format!("{refname}:{refname}");
    let outcome = remote.push(&[spec.as_str()], Some(&mut opts));
    drop(opts);

    let said = || {
        let text = remote_text.borrow();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            String::new()
        } else {
            format!("; remote said: {}", scrub(&lines.join(" | "), token))
        }
    };
    if let Err(e) = outcome {
        let msg = scrub(e.message(), token);
        return Err(if let Some(why) = creds.refusal() {
            PushError::Auth {
                message: format!(
                    "{why} while pushing {branch} to {url}; check GITHUB_TOKEN or \
                     ~/.config/foreman/github-token"
                ),
            }
        } else if e.code() == git2::ErrorCode::Auth {
            PushError::Auth {
                message: format!("{msg} (pushing {branch} to {url})"),
            }
        } else if e.code() == git2::ErrorCode::NotFastForward {
            PushError::Rejected {
                message: format!(
                    "{branch} to {url}: non-fast-forward: {}; the remote branch has commits \
                     this workspace lacks{}",
                    msg.trim_end_matches('.'),
                    said()
                ),
            }
        } else {
            PushError::Transport {
                message: format!("pushing {branch} to {url}: {msg}{}", said()),
            }
        });
    }
    let rejected = rejected.borrow();
    if !rejected.is_empty() {
        return Err(PushError::Rejected {
            message: format!(
                "{url} refused {}{}",
                scrub(&rejected.join(", "), token),
                said()
            ),
        });
    }
    set_upstream(repo, branch).map_err(|e| {
        transport(format!(
            "pushed {branch}, but recording its upstream failed: {}",
            e.message()
        ))
    })
}

/// `refs/heads/<branch>`, which must exist.
fn local_branch(repo: &git2::Repository, branch: &str) -> Result<String, PushError> {
    let transport = |message: String| PushError::Transport { message };
    let refname = format!("refs/heads/{branch}");
    if !git2::Reference::is_valid_name(&refname) {
        return Err(transport(format!("invalid branch name {branch:?}")));
    }
    repo.find_reference(&refname)
        .map_err(|e| transport(format!("local branch {branch} not found: {}", e.message())))?;
    Ok(refname)
}

/// A second handle on `repo` that sees no configuration at all (not the workspace's file, not
/// the operator's global one): nothing there can redirect the push or add credentials.
fn unconfigured(repo: &git2::Repository) -> Result<git2::Repository, git2::Error> {
    let pinned = git2::Repository::open(repo.path())?;
    pinned.set_config(&git2::Config::new()?)?;
    Ok(pinned)
}

/// `branch.<b>.remote = origin`, `branch.<b>.merge = refs/heads/<b>`: what `--set-upstream`
/// writes; set directly so it works whether or not the remote-tracking ref was updated.
fn set_upstream(repo: &git2::Repository, branch: &str) -> Result<(), git2::Error> {
    let mut cfg = repo.config()?;
    cfg.set_str(&format!("branch.{branch}.remote"), "origin")?;
    cfg.set_str(
        &format!("branch.{branch}.merge"),
        &format!("refs/heads/{branch}"),
    )
}
