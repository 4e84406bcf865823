//! `git add -A && git commit -s -m <msg>` in-process (upstream §3.2 step 16, §3.4), with the
//! repository's own hooks, a guaranteed `Fixes #N` line and exactly one DCO sign-off.

use super::hooks::{self, HookRun};
use super::identity::Identity;
use crate::sandbox::{Policy, Sandbox};
use std::ffi::OsStr;

pub struct CommitRequest<'a> {
    pub identity: &'a Identity,
    /// The model's `commit_message`, verbatim.
    pub message: &'a str,
    /// For issue-fix tasks: the issue the commit must reference with a `Fixes #N` line.
    pub fixes_issue: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The work tree matched HEAD (after staging everything): nothing to commit.
    NoChanges,
    Committed {
        sha: String,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("commit rejected: the commit message is empty")]
    EmptyMessage,
    #[error("commit rejected by the repository's {hook} hook:\n{output}")]
    HookRejected { hook: String, output: String },
    #[error("commit failed: {0}")]
    Git(String),
}

fn git_err(what: &str) -> impl Fn(git2::Error) -> CommitError + '_ {
    move |e| CommitError::Git(format!("{what}: {}", e.message()))
}

/// Stage everything (adds, modifications, deletions, untracked but not ignored files) and
/// commit it on HEAD's branch as `req.identity`. See the module docs for the message rules.
/// Hooks run in the default sandbox of the work tree ([`Policy::new`]).
pub fn commit_all(
    repo: &git2::Repository,
    req: &CommitRequest,
) -> Result<CommitOutcome, CommitError> {
    let workdir = repo
        .workdir()
        .ok_or_else(|| CommitError::Git("repository has no work tree".into()))?;
    commit_all_in(repo, req, &Sandbox::new(Policy::new(workdir)))
}

/// [`commit_all`] with the hooks in `sandbox` (the task's, so they get the model's policy).
pub fn commit_all_in(
    repo: &git2::Repository,
    req: &CommitRequest,
    sandbox: &Sandbox,
) -> Result<CommitOutcome, CommitError> {
    let id = req.identity;
    if id.name.trim().is_empty() || id.email.trim().is_empty() {
        return Err(CommitError::Git(
            "commit identity is incomplete: author name and email must both be set".into(),
        ));
    }
    if repo.workdir().is_none() {
        return Err(CommitError::Git("repository has no work tree".into()));
    }
    if !has_changes(repo)? {
        return Ok(CommitOutcome::NoChanges);
    }
    let message = shape_message(req.message, req.fixes_issue, id)?;

    let mut index = repo.index().map_err(git_err("open index"))?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(git_err("stage changes"))?;
    index
        .update_all(["*"], None)
        .map_err(git_err("stage deletions"))?;
    index.write().map_err(git_err("write index"))?;

    let parent = match repo.head() {
        Ok(h) => Some(h.peel_to_commit().map_err(git_err("read HEAD commit"))?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
        Err(e) => return Err(git_err("read HEAD")(e)),
    };
    let unchanged = |index: &mut git2::Index| -> Result<bool, CommitError> {
        let tree = index.write_tree().map_err(git_err("write tree"))?;
        Ok(parent.as_ref().is_some_and(|p| p.tree_id() == tree))
    };
    if unchanged(&mut index)? {
        return Ok(CommitOutcome::NoChanges);
    }

    gate(
        run(repo, hooks::PRE_COMMIT, &[], id, sandbox)?,
        hooks::PRE_COMMIT,
    )?;
    // The hook may have staged more (formatters do); commit what the index holds now.
    index.read(true).map_err(git_err("re-read index"))?;
    if unchanged(&mut index)? {
        return Ok(CommitOutcome::NoChanges);
    }
    let tree_id = index.write_tree().map_err(git_err("write tree"))?;

    let message = run_message_hooks(repo, message, id, sandbox)?;

    let tree = repo.find_tree(tree_id).map_err(git_err("load tree"))?;
    let sig = git2::Signature::now(&id.name, &id.email).map_err(git_err("commit identity"))?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let oid = repo
        .commit(Some("HEAD"), &sig, &sig, &message, &tree, &parents)
        .map_err(git_err("create commit"))?;

    match run(repo, hooks::POST_COMMIT, &[], id, sandbox) {
        Ok(Some(r)) if !r.success => {
            tracing::warn!(
                hook = hooks::POST_COMMIT,
                "hook failed (ignored, as git does)"
            )
        }
        Err(e) => tracing::warn!(hook = hooks::POST_COMMIT, "{e}"),
        _ => {}
    }
    Ok(CommitOutcome::Committed {
        sha: oid.to_string(),
        message,
    })
}

fn has_changes(repo: &git2::Repository) -> Result<bool, CommitError> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_err("git status"))?;
    Ok(!statuses.is_empty())
}

fn run(
    repo: &git2::Repository,
    hook: &str,
    args: &[&OsStr],
    id: &Identity,
    sandbox: &Sandbox,
) -> Result<Option<HookRun>, CommitError> {
    hooks::run_hook(repo, hook, args, id, sandbox).map_err(|output| CommitError::HookRejected {
        hook: hook.to_string(),
        output,
    })
}

fn gate(run: Option<HookRun>, hook: &str) -> Result<(), CommitError> {
    match run {
        Some(r) if !r.success => Err(CommitError::HookRejected {
            hook: hook.to_string(),
            output: r.output,
        }),
        _ => Ok(()),
    }
}

/// prepare-commit-msg then commit-msg over `COMMIT_EDITMSG`; both may rewrite it, and what
/// they leave is the message (whitespace-cleaned, like `git commit -m`). The file lives in
/// the sandbox's private temp dir: `.git` is read-only to hooks.
fn run_message_hooks(
    repo: &git2::Repository,
    message: String,
    id: &Identity,
    sandbox: &Sandbox,
) -> Result<String, CommitError> {
    let have = |h| hooks::find_hook(repo, h).is_some();
    if !have(hooks::PREPARE_COMMIT_MSG) && !have(hooks::COMMIT_MSG) {
        return Ok(message);
    }
    let scratch = sandbox
        .scratch_dir()
        .map_err(|e| CommitError::Git(e.to_string()))?;
    let file = scratch.host.join("COMMIT_EDITMSG");
    let inside = scratch.inside.join("COMMIT_EDITMSG");
    let io =
        |what: &str, e: std::io::Error| CommitError::Git(format!("{what} {}: {e}", file.display()));
    std::fs::write(&file, &message).map_err(|e| io("write", e))?;
    let f = inside.as_os_str();
    gate(
        run(
            repo,
            hooks::PREPARE_COMMIT_MSG,
            &[f, OsStr::new("message")],
            id,
            sandbox,
        )?,
        hooks::PREPARE_COMMIT_MSG,
    )?;
    gate(
        run(repo, hooks::COMMIT_MSG, &[f], id, sandbox)?,
        hooks::COMMIT_MSG,
    )?;
    let edited = std::fs::read(&file).map_err(|e| io("read", e))?;
    let cleaned = cleanup(&String::from_utf8_lossy(&edited));
    if cleaned.is_empty() {
        return Err(CommitError::EmptyMessage);
    }
    Ok(cleaned + "\n")
}

/// The final message before hooks: trimmed, the model's own `Signed-off-by:` lines dropped,
/// `Fixes #N` guaranteed, then the DCO trailer exactly as `git commit -s` adds it.
fn shape_message(
    raw: &str,
    fixes_issue: Option<i32>,
    id: &Identity,
) -> Result<String, CommitError> {
    let kept: Vec<&str> = raw.lines().filter(|l| !is_signoff(l)).collect();
    let mut msg = cleanup(kept.join("\n").trim());
    if msg.is_empty() {
        return Err(CommitError::EmptyMessage);
    }
    if let Some(n) = fixes_issue.filter(|n| *n > 0)
        && !msg.lines().any(|l| is_fixes_line(l, n))
    {
        msg.push_str(&format!("\n\nFixes #{n}"));
    }
    let last_paragraph = msg.rsplit("\n\n").next().unwrap_or("");
    let joiner = if msg.contains("\n\n") && last_paragraph.lines().all(is_trailer) {
        "\n"
    } else {
        "\n\n"
    };
    Ok(format!(
        "{msg}{joiner}Signed-off-by: {} <{}>\n",
        id.name, id.email
    ))
}

fn is_signoff(line: &str) -> bool {
    line.trim_start()
        .get(..14)
        .is_some_and(|p| p.eq_ignore_ascii_case("signed-off-by:"))
}

/// `Fixes #N` (any case, optional colon) at the start of a line, not followed by a digit.
fn is_fixes_line(line: &str, n: i32) -> bool {
    let l = line.trim().to_ascii_lowercase();
    let Some(rest) = l.strip_prefix("fixes") else {
        return false;
    };
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    let Some(after) = rest.strip_prefix(&format!("#{n}")) else {
        return false;
    };
    !after.starts_with(|c: char| c.is_ascii_digit())
}

/// `Token: value` lines, as git's trailer detection sees them.
fn is_trailer(line: &str) -> bool {
    match line.split_once(": ") {
        Some((key, _)) => {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        None => false,
    }
}

/// git's `--cleanup=whitespace`: strip trailing spaces, collapse blank runs, trim blank
/// lines at both ends. Returned without a final newline.
pub fn cleanup(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> Identity {
        Identity {
            name: "Foreman Bot".into(),
            email: "bot@example.com".into(),
        }
    }

    #[test]
    fn adds_fixes_and_signoff_in_git_shape() {
        let m = shape_message(
            "  Fix the thing\n\nBecause reasons.  \n\n",
            Some(379),
            &bot(),
        );
        assert_eq!(
            m.unwrap(),
            "Fix the thing\n\nBecause reasons.\n\nFixes #379\n\nSigned-off-by: Foreman Bot <bot@example.com>\n"
        );
    }

    #[test]
    fn keeps_existing_fixes_and_drops_model_signoff() {
        let raw = "Fix\n\nbody\n\nfixes #12\nSigned-off-by: Model <m@x>\n";
        let m = shape_message(raw, Some(12), &bot()).unwrap();
        assert_eq!(
            m,
            "Fix\n\nbody\n\nfixes #12\n\nSigned-off-by: Foreman Bot <bot@example.com>\n"
        );
        // `Fixes: #12` is a trailer, so like `git commit -s` the sign-off joins its block.
        let m = shape_message("Fix\n\nFixes: #12", Some(12), &bot()).unwrap();
        assert_eq!(
            m,
            "Fix\n\nFixes: #12\nSigned-off-by: Foreman Bot <bot@example.com>\n"
        );
        assert_eq!(m.matches("Signed-off-by").count(), 1);
    }

    #[test]
    fn fixes_for_other_issue_does_not_count() {
        let m = shape_message("Fix\n\nFixes #123", Some(12), &bot()).unwrap();
        assert!(
            m.contains("Fixes #123\n\nFixes #12\n\nSigned-off-by"),
            "{m}"
        );
    }

    #[test]
    fn signoff_joins_an_existing_trailer_block() {
        let m = shape_message("Fix\n\nCo-authored-by: A <a@x>", None, &bot()).unwrap();
        assert_eq!(
            m,
            "Fix\n\nCo-authored-by: A <a@x>\nSigned-off-by: Foreman Bot <bot@example.com>\n"
        );
        // A lone subject is never treated as a trailer block.
        let m = shape_message("docs: typo", None, &bot()).unwrap();
        assert_eq!(
            m,
            "docs: typo\n\nSigned-off-by: Foreman Bot <bot@example.com>\n"
        );
    }

    #[test]
    fn empty_after_cleanup_is_rejected() {
        for raw in ["", "  \n\n ", "Signed-off-by: M <m@x>"] {
            assert!(matches!(
                shape_message(raw, Some(1), &bot()),
                Err(CommitError::EmptyMessage)
            ));
        }
    }

    #[test]
    fn cleanup_collapses_blank_runs() {
        assert_eq!(cleanup("\n\na  \n\n\n\nb\r\n\n"), "a\n\nb");
    }
}
