//! clone → branch → edit → commit → push against local bare remotes, hooks, rejections, diff.
//!
//! Plain file-path remotes use libgit2's local transport, which never runs the remote's hooks.
//! To exercise a real `pre-receive` rejection without a server, a test-only `pipe://` transport
//! speaks the smart protocol to a spawned `git receive-pack` (how ssh remotes work).

mod common;
use common::{commit, git, seed_bare, write_hook};
use foreman::workspace::{
    CommitError, CommitOutcome, GitError, PushError, branch_name, clone, create_branch,
    diff_change, diff_commit, diff_range, push,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A bare remote on `main` with README.md, old.txt, src/lib.txt and a `.gitignore` of `*.log`.
fn seed_remote(root: &Path) -> PathBuf {
    seed_bare(
        root,
        "remote.git",
        &[
            ("README.md", "# demo\n\nline two\nline three\n"),
            ("old.txt", "obsolete\nstuff\n"),
            ("src/lib.txt", "lib\n"),
            (".gitignore", "*.log\n"),
        ],
    )
}

fn head_sha(repo: &git2::Repository) -> String {
    repo.head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string()
}

struct Setup {
    _dir: tempfile::TempDir,
    bare: PathBuf,
    work: PathBuf,
    repo: git2::Repository,
}

fn cloned(branch: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let bare = seed_remote(dir.path());
    let work = dir.path().join("ws");
    let repo = clone(bare.to_str().unwrap(), &work, None).unwrap();
    create_branch(&repo, branch).unwrap();
    Setup {
        _dir: dir,
        bare,
        work,
        repo,
    }
}

fn committed_sha(outcome: CommitOutcome) -> (String, String) {
    match outcome {
        CommitOutcome::Committed { sha, message } => (sha, message),
        CommitOutcome::NoChanges => panic!("expected a commit"),
    }
}

#[test]
fn clone_rejects_non_empty_destination() {
    let dir = tempfile::tempdir().unwrap();
    let bare = seed_remote(dir.path());
    let dest = dir.path().join("ws");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("leftover"), "x").unwrap();
    let err = clone(bare.to_str().unwrap(), &dest, None).err().unwrap();
    assert!(matches!(err, GitError::DestinationNotEmpty(_)), "{err:?}");
    assert!(err.to_string().contains("not empty"), "{err}");
    assert!(
        dest.join("leftover").exists(),
        "must not touch the directory"
    );

    // An existing empty directory is fine, and it is a full clone on the default branch.
    std::fs::remove_file(dest.join("leftover")).unwrap();
    let repo = clone(bare.to_str().unwrap(), &dest, None).unwrap();
    assert_eq!(repo.head().unwrap().shorthand().ok(), Some("main"));
    assert!(!repo.is_shallow());
}

#[test]
fn clone_of_missing_remote_names_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("nope.git");
    let err = clone(url.to_str().unwrap(), &dir.path().join("ws"), None)
        .err()
        .unwrap();
    assert!(matches!(err, GitError::Clone { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.git"), "{err}");
}

#[test]
fn round_trip_commit_and_push_to_bare_remote() {
    let s = cloned("foreman/issue-42");
    let base = head_sha(&s.repo);
    std::fs::write(
        s.work.join("README.md"),
        "# demo\n\nline 2\nline three\nadded\n",
    )
    .unwrap();
    std::fs::remove_file(s.work.join("old.txt")).unwrap();
    std::fs::create_dir_all(s.work.join("new/dir")).unwrap();
    std::fs::write(s.work.join("new/dir/file.txt"), "hello\n").unwrap();
    std::fs::write(s.work.join("debug.log"), "ignored\n").unwrap();

    let raw = "Fix the README\n\nExplain the change.\n\nSigned-off-by: Model <model@ai>\n";
    let (sha, message) = committed_sha(commit(&s.repo, raw, Some(42)).unwrap());
    assert_eq!(
        message,
        "Fix the README\n\nExplain the change.\n\nFixes #42\n\nSigned-off-by: Foreman Bot <bot@example.com>\n"
    );
    assert_eq!(head_sha(&s.repo), sha, "HEAD's branch advances");
    assert_eq!(
        s.repo.head().unwrap().shorthand().ok(),
        Some("foreman/issue-42")
    );

    push(&s.repo, s.bare.to_str().unwrap(), "foreman/issue-42", None).unwrap();

    let bare = &s.bare;
    let r = "refs/heads/foreman/issue-42";
    assert_eq!(git(bare, &["rev-parse", r]).trim(), sha);
    assert_eq!(git(bare, &["rev-parse", "refs/heads/main"]).trim(), base);
    let who = git(bare, &["log", "-1", "--format=%an|%ae|%cn|%ce|%P", r]);
    assert_eq!(
        who.trim(),
        format!("Foreman Bot|bot@example.com|Foreman Bot|bot@example.com|{base}")
    );
    let body = git(bare, &["log", "-1", "--format=%B", r]);
    assert!(
        body.trim_end()
            .ends_with("Fixes #42\n\nSigned-off-by: Foreman Bot <bot@example.com>"),
        "{body}"
    );
    assert_eq!(body.matches("Signed-off-by:").count(), 1, "{body}");
    assert!(!body.contains("model@ai"));

    let files = git(bare, &["show", "--name-status", "--format=", r]);
    let mut files: Vec<&str> = files.lines().collect();
    files.sort();
    assert_eq!(files, ["A\tnew/dir/file.txt", "D\told.txt", "M\tREADME.md"]);

    let cfg = s.repo.config().unwrap();
    assert_eq!(
        cfg.get_string("branch.foreman/issue-42.remote").unwrap(),
        "origin"
    );
    assert_eq!(
        cfg.get_string("branch.foreman/issue-42.merge").unwrap(),
        "refs/heads/foreman/issue-42"
    );
}

#[test]
fn empty_remote_gets_a_root_commit_on_the_new_branch() {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("empty.git");
    git(
        dir.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let work = dir.path().join("ws");
    let repo = clone(bare.to_str().unwrap(), &work, None).unwrap();
    create_branch(&repo, "foreman/first").unwrap();
    std::fs::write(work.join("a.txt"), "a\n").unwrap();
    let (sha, _) = committed_sha(commit(&repo, "First", None).unwrap());
    push(&repo, bare.to_str().unwrap(), "foreman/first", None).unwrap();
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/foreman/first"]).trim(),
        sha
    );
    let diffs = diff_commit(&repo, &sha).unwrap();
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].new_path.as_deref(), Some("a.txt"));
    assert_eq!(diffs[0].additions, 1);
}

#[test]
fn derived_branch_name_is_checked_out() {
    let dir = tempfile::tempdir().unwrap();
    let bare = seed_remote(dir.path());
    let repo = clone(bare.to_str().unwrap(), &dir.path().join("ws"), None).unwrap();
    let spec: foreman::api::AgenticTaskSpec = serde_json::from_value(serde_json::json!({
        "kind": "issue-fix", "payload": {"issue": 9, "branchPrefix": "bots/"}
    }))
    .unwrap();
    let name = branch_name("t1", &spec).unwrap();
    create_branch(&repo, &name).unwrap();
    assert_eq!(
        repo.head().unwrap().name().ok(),
        Some("refs/heads/bots/issue-9")
    );
    assert!(create_branch(&repo, "bad..name").is_err());
}

#[test]
fn no_changes_when_clean_or_only_ignored_files() {
    let s = cloned("foreman/t");
    let before = head_sha(&s.repo);
    assert_eq!(
        commit(&s.repo, "msg", None).unwrap(),
        CommitOutcome::NoChanges
    );
    std::fs::write(s.work.join("trace.log"), "ignored").unwrap();
    assert_eq!(
        commit(&s.repo, "msg", None).unwrap(),
        CommitOutcome::NoChanges
    );
    assert_eq!(head_sha(&s.repo), before);
}

#[test]
fn empty_message_is_rejected_and_nothing_committed() {
    let s = cloned("foreman/t");
    let before = head_sha(&s.repo);
    std::fs::write(s.work.join("x.txt"), "x").unwrap();
    for msg in ["", "   \n", "Signed-off-by: Model <m@x>"] {
        let err = commit(&s.repo, msg, Some(1)).unwrap_err();
        assert!(matches!(err, CommitError::EmptyMessage), "{err:?}");
    }
    assert_eq!(head_sha(&s.repo), before);
}

#[test]
fn failing_pre_commit_hook_rejects_with_its_output() {
    let s = cloned("foreman/t");
    let before = head_sha(&s.repo);
    write_hook(
        &s.repo.path().join("hooks"),
        "pre-commit",
        "echo 'checking style'\necho 'lint failed: trailing whitespace in x.txt' >&2\nexit 1",
    );
    std::fs::write(s.work.join("x.txt"), "x \n").unwrap();
    let err = commit(&s.repo, "Add x", None).unwrap_err();
    match &err {
        CommitError::HookRejected { hook, output } => {
            assert_eq!(hook, "pre-commit");
            assert_eq!(
                output.trim(),
                "checking style\nlint failed: trailing whitespace in x.txt"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("lint failed"), "{err}");
    assert_eq!(head_sha(&s.repo), before);
}

#[test]
fn commit_msg_hook_rewrite_is_honoured() {
    let s = cloned("foreman/t");
    write_hook(
        &s.repo.path().join("hooks"),
        "commit-msg",
        "sed -i 's/^Add x$/feat: add x/' \"$1\"\nprintf '\\nChange-Id: I0001\\n' >> \"$1\"",
    );
    std::fs::write(s.work.join("x.txt"), "x").unwrap();
    let (sha, message) = committed_sha(commit(&s.repo, "Add x", None).unwrap());
    assert_eq!(
        message,
        "feat: add x\n\nSigned-off-by: Foreman Bot <bot@example.com>\n\nChange-Id: I0001\n"
    );
    let stored = s
        .repo
        .find_commit(git2::Oid::from_str(&sha).unwrap())
        .unwrap();
    assert_eq!(stored.message().ok(), Some(message.as_str()));
}

#[test]
fn rejecting_commit_msg_hook_and_ignored_post_commit_failure() {
    let s = cloned("foreman/t");
    let hooks = s.repo.path().join("hooks");
    write_hook(&hooks, "commit-msg", "echo 'subject too short'\nexit 3");
    std::fs::write(s.work.join("x.txt"), "x").unwrap();
    let err = commit(&s.repo, "x", None).unwrap_err();
    assert!(
        matches!(&err, CommitError::HookRejected { hook, output } if hook == "commit-msg" && output.contains("subject too short")),
        "{err:?}"
    );
    std::fs::remove_file(hooks.join("commit-msg")).unwrap();
    write_hook(&hooks, "post-commit", "echo boom\nexit 1");
    assert!(matches!(
        commit(&s.repo, "x", None).unwrap(),
        CommitOutcome::Committed { .. }
    ));
}

#[test]
fn hooks_path_config_is_respected_and_non_executable_hooks_skipped() {
    let s = cloned("foreman/t");
    // A non-executable hook in .git/hooks is ignored, as git does.
    let plain = s.repo.path().join("hooks/pre-commit");
    std::fs::write(&plain, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::write(s.work.join("a.txt"), "a").unwrap();
    assert!(matches!(
        commit(&s.repo, "a", None).unwrap(),
        CommitOutcome::Committed { .. }
    ));
    // core.hooksPath (relative = relative to the work tree) replaces .git/hooks.
    write_hook(
        &s.work.join("ci/hooks"),
        "pre-commit",
        "echo from-hooks-path; exit 1",
    );
    s.repo
        .config()
        .unwrap()
        .set_str("core.hooksPath", "ci/hooks")
        .unwrap();
    std::fs::write(s.work.join("b.txt"), "b").unwrap();
    let err = commit(&s.repo, "b", None).unwrap_err();
    assert!(
        matches!(&err, CommitError::HookRejected { output, .. } if output.contains("from-hooks-path")),
        "{err:?}"
    );
}

#[test]
fn hooks_get_a_scrubbed_environment_in_the_work_tree() {
    let s = cloned("foreman/t");
    // In the work tree: the hook runs sandboxed and can write nowhere else on the host.
    let dump = s.work.join("hook-env.txt");
    write_hook(
        &s.repo.path().join("hooks"),
        "pre-commit",
        &format!("pwd > '{0}'\nenv >> '{0}'", dump.display()),
    );
    std::fs::write(s.work.join("x.txt"), "x").unwrap();
    commit(&s.repo, "x", None).unwrap();
    let text = std::fs::read_to_string(&dump).unwrap();
    let mut lines = text.lines();
    let cwd = lines.next().unwrap();
    assert_eq!(
        Path::new(cwd).canonicalize().unwrap(),
        s.work.canonicalize().unwrap()
    );
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "PWD",
        "SHLVL",
        "_",
        "OLDPWD",
    ];
    for line in lines {
        let key = line.split('=').next().unwrap();
        assert!(
            allowed.contains(&key),
            "unexpected variable in hook env: {key}"
        );
    }
    assert!(text.contains("GIT_AUTHOR_NAME=Foreman Bot\n"), "{text}");
    assert!(
        text.contains("GIT_COMMITTER_EMAIL=bot@example.com\n"),
        "{text}"
    );
}

#[test]
fn non_fast_forward_push_is_rejected() {
    let s = cloned("foreman/t");
    // Someone else pushed a different commit to the same branch first.
    let other_dir = s._dir.path().join("other");
    let other = clone(s.bare.to_str().unwrap(), &other_dir, None).unwrap();
    create_branch(&other, "foreman/t").unwrap();
    std::fs::write(other_dir.join("o.txt"), "other").unwrap();
    commit(&other, "other", None).unwrap();
    push(&other, s.bare.to_str().unwrap(), "foreman/t", None).unwrap();
    let theirs = git(&s.bare, &["rev-parse", "refs/heads/foreman/t"]);

    std::fs::write(s.work.join("m.txt"), "mine").unwrap();
    commit(&s.repo, "mine", None).unwrap();
    let err = push(&s.repo, s.bare.to_str().unwrap(), "foreman/t", None).unwrap_err();
    assert!(matches!(err, PushError::Rejected { .. }), "{err:?}");
    assert!(err.to_string().contains("foreman/t"), "{err}");
    assert_eq!(
        git(&s.bare, &["rev-parse", "refs/heads/foreman/t"]),
        theirs,
        "never forced"
    );
}

#[test]
fn pre_receive_rejection_carries_the_remotes_message() {
    register_pipe_transport();
    let s = cloned("foreman/t");
    write_hook(
        &s.bare.join("hooks"),
        "pre-receive",
        "echo 'policy: foreman/* branches are frozen' >&2\nexit 1",
    );
    let url = format!("pipe://{}", s.bare.display());
    std::fs::write(s.work.join("m.txt"), "mine").unwrap();
    commit(&s.repo, "mine", None).unwrap();
    let err = push(&s.repo, &url, "foreman/t", None).unwrap_err();
    match &err {
        PushError::Rejected { message } => {
            assert!(message.contains("refs/heads/foreman/t"), "{message}");
            assert!(message.contains("pre-receive hook declined"), "{message}");
            assert!(
                message.contains("policy: foreman/* branches are frozen"),
                "{message}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let refs = git(&s.bare, &["for-each-ref", "--format=%(refname)"]);
    assert!(!refs.contains("foreman/t"), "{refs}");

    // The same transport accepts the push once the hook allows it.
    std::fs::remove_file(s.bare.join("hooks/pre-receive")).unwrap();
    push(&s.repo, &url, "foreman/t", None).unwrap();
    assert_eq!(
        git(&s.bare, &["rev-parse", "refs/heads/foreman/t"]).trim(),
        head_sha(&s.repo)
    );
}

#[test]
fn diff_of_commit_lists_add_modify_delete() {
    let s = cloned("foreman/t");
    std::fs::write(
        s.work.join("README.md"),
        "# demo\n\nline 2\nline three\nadded\n",
    )
    .unwrap();
    std::fs::remove_file(s.work.join("old.txt")).unwrap();
    std::fs::write(s.work.join("new.txt"), "a\nb\nc\n").unwrap();
    std::fs::write(s.work.join("blob.bin"), [0u8, 1, 2, 0, 255]).unwrap();
    let (sha, _) = committed_sha(commit(&s.repo, "change", None).unwrap());

    let mut diffs = diff_commit(&s.repo, &sha).unwrap();
    diffs.sort_by_key(|d| d.new_path.clone().or(d.old_path.clone()));
    let summary: Vec<_> = diffs
        .iter()
        .map(|d| {
            (
                d.old_path.as_deref(),
                d.new_path.as_deref(),
                d.additions,
                d.deletions,
                d.binary,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some("README.md"), Some("README.md"), 2, 1, false),
            (None, Some("blob.bin"), 0, 0, true),
            (None, Some("new.txt"), 3, 0, false),
            (Some("old.txt"), None, 0, 2, false),
        ]
    );
    let readme = &diffs[0].patch;
    assert!(
        readme.starts_with("diff --git a/README.md b/README.md"),
        "{readme}"
    );
    assert!(readme.contains("-line two\n+line 2\n"), "{readme}");
    assert!(diffs[3].patch.contains("-obsolete\n-stuff\n"));

    let err = diff_commit(&s.repo, "0123456789abcdef0123456789abcdef01234567").unwrap_err();
    assert!(err.to_string().contains("diff of 0123456789"), "{err}");
}

/// Two attempts on one branch (a request for changes adds a commit on top): the whole change
/// shows both, even once the first attempt's branch was pushed (its remote-tracking ref is a
/// merge base nearer than the default branch); one attempt's range shows only its own.
#[test]
fn the_whole_change_spans_every_attempt_and_a_range_only_its_own() {
    let s = cloned("foreman/t");
    std::fs::write(s.work.join("new.txt"), "first\n").unwrap();
    let (first, _) = committed_sha(commit(&s.repo, "attempt 1", None).unwrap());
    s.repo
        .reference(
            "refs/remotes/origin/foreman/t",
            git2::Oid::from_str(&first).unwrap(),
            true,
            "pushed",
        )
        .unwrap();
    std::fs::write(s.work.join("README.md"), "# demo\n\nline two\nline 3\n").unwrap();
    let (second, _) = committed_sha(commit(&s.repo, "attempt 2", None).unwrap());
    let paths = |d: Vec<foreman::workspace::FileDiff>| {
        let mut p: Vec<String> = d.into_iter().filter_map(|f| f.new_path).collect();
        p.sort();
        p
    };
    assert_eq!(
        paths(diff_change(&s.repo, &second).unwrap()),
        ["README.md", "new.txt"]
    );
    assert_eq!(paths(diff_commit(&s.repo, &second).unwrap()), ["README.md"]);
    assert_eq!(
        paths(diff_range(&s.repo, Some(&first), &second).unwrap()),
        ["README.md"]
    );
    // One attempt only: the whole change is that commit.
    assert_eq!(paths(diff_change(&s.repo, &first).unwrap()), ["new.txt"]);
}

// ---- test-only `pipe://<abs path>` transport: smart protocol over `git receive-pack` ----

#[allow(unsafe_code)] // git2 marks transport registration unsafe (global state)
fn register_pipe_transport() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registered once, before any remote uses the `pipe` scheme.
        unsafe {
            git2::transport::register("pipe", |remote| {
                git2::transport::Transport::smart(remote, false, PipeSub)
            })
            .unwrap();
        }
    });
}

struct PipeSub;

struct PipeStream {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

impl git2::transport::SmartSubtransport for PipeSub {
    fn action(
        &self,
        url: &str,
        action: git2::transport::Service,
    ) -> Result<Box<dyn git2::transport::SmartSubtransportStream>, git2::Error> {
        use git2::transport::Service;
        let path = url.trim_start_matches("pipe://");
        let program = match action {
            Service::UploadPackLs | Service::UploadPack => "upload-pack",
            Service::ReceivePackLs | Service::ReceivePack => "receive-pack",
        };
        let mut child = Command::new("git")
            .args([program, path])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| git2::Error::from_str(&e.to_string()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        Ok(Box::new(PipeStream {
            child,
            stdin,
            stdout,
        }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

impl Read for PipeStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stdout.read(buf)
    }
}

impl Write for PipeStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.stdin {
            Some(s) => s.write(buf),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stdin.as_mut().map_or(Ok(()), |s| s.flush())
    }
}

impl Drop for PipeStream {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
