//! Printing commands on a closed pipe (`foreman doctor | head -1`) exit quietly: no panic, no
//! "Broken pipe" message. And the generated completions and man page come out whole.

use std::process::{Command, Stdio};

/// `foreman ARGS` with stdout a pipe whose reader is already gone; its exit status and stderr.
fn on_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_foreman"))
        .args(args)
        .env(
            "FOREMAN_STATE_DIR",
            std::env::temp_dir().join("foreman-cli-pipes"),
        )
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    // doctor fails its checks here (no model server on port 9): what matters is how it ends.
    for args in [
        &["--inference-base-url", "http://127.0.0.1:9/v1", "doctor"][..],
        &["crds"],
        &["man"],
        &["completions", "bash"],
        &["get", "tasks"],
    ] {
        let (code, stderr) = on_closed_pipe(args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

/// `foreman ARGS` run to its end, its output captured.
fn foreman<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_foreman"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = foreman(args);
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_and_the_man_page_cover_every_subcommand() {
    let bash = stdout_of(&["completions", "bash"]);
    assert!(bash.contains("complete -F _foreman"), "{bash}");
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef foreman"), "{zsh}");
    let fish = stdout_of(&["completions", "fish"]);
    let man = stdout_of(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH foreman"),
        "{man}"
    );
    for sub in [
        "run",
        "doctor",
        "agent",
        "completions",
        "man",
        "review",
        "note",
    ] {
        assert!(bash.contains(sub) && fish.contains(sub), "{sub}");
        assert!(man.contains(sub), "man lists {sub}");
    }
    assert!(
        fish.contains("inference-base-url"),
        "the canonical flags complete"
    );
}

/// `foreman man run` prints the subcommand's own page; `--dir` writes one page per subcommand;
/// an unknown name is bad input that lists what exists.
#[test]
fn man_pages_per_subcommand() {
    let run = stdout_of(&["man", "run"]);
    assert!(run.contains(".TH foreman-run"), "{run}");
    assert!(
        run.contains("inference"),
        "run's page lists its flags: {run}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = foreman(&["man".as_ref(), "--dir".as_ref(), dir.path().as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "foreman.1",
        "foreman-run.1",
        "foreman-agent.1",
        "foreman-doctor.1",
        "foreman-review.1",
        "foreman-note.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} written");
    }
    let bad = foreman(&["man", "nosuch"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("no subcommand `nosuch`") && err.contains("run"),
        "{err}"
    );
}
