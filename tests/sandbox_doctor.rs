//! `foreman doctor` reports the sandbox: working, missing (with the fix), or deliberately off.

use std::process::Command;

fn doctor(home: &std::path::Path, env: &[(&str, &str)]) -> String {
    std::fs::write(home.join("empty.toml"), "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.args(["--inference-url", "http://127.0.0.1:9/v1", "doctor"])
        .env("HOME", home)
        .env("FOREMAN_CONFIG", home.join("empty.toml"))
        .env("FOREMAN_STATE_DIR", home.join("state"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("FOREMAN_SANDBOX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("foreman runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?}:\n{out}"))
}

#[test]
fn doctor_reports_a_working_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(dir.path(), &[]);
    let l = line(&out, "✓ sandbox");
    assert!(l.contains("bubblewrap") && l.contains("seccomp"), "{l}");
    assert!(l.contains("each Agent's network (default none)"), "{l}");
}

#[test]
fn doctor_names_the_fix_when_bubblewrap_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(dir.path(), &[("PATH", "/nonexistent-bin")]);
    let l = line(&out, "✗ sandbox");
    assert!(
        l.contains("bubblewrap (bwrap) is not installed")
            && l.contains("apt-get install bubblewrap"),
        "{l}"
    );
    let next = out
        .lines()
        .skip_while(|x| !x.starts_with("✗ sandbox"))
        .nth(1)
        .unwrap_or("");
    assert!(next.contains("mode = \"off\""), "{out}");
}

#[test]
fn doctor_warns_when_the_operator_turned_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(
        dir.path(),
        &[
            ("FOREMAN_SANDBOX", "off"),
            ("FOREMAN_SANDBOX_NETWORK", "full"),
        ],
    );
    let l = line(&out, "! sandbox");
    assert!(l.contains("OFF") && l.contains("unconfined"), "{l}");
}

/// The tool-call cap that applies is shown, from the environment as from the file.
#[test]
fn doctor_shows_the_tool_call_cap() {
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(dir.path(), &[]);
    let l = line(&out, "✓ tool calls");
    assert!(l.contains("at most 32 per model reply"), "{l}");
    let out = doctor(dir.path(), &[("FOREMAN_MAX_TOOL_CALLS_PER_TURN", "6")]);
    let l = line(&out, "✓ tool calls");
    assert!(l.contains("at most 6 per model reply"), "{l}");
}
