//! `foreman doctor` as a user runs it: every failing dependency is named with a fix, and with
//! real peers (llama.cpp, the token-protected git remote) everything passes.

mod common;

use std::path::Path;
use std::process::Command;

/// `foreman --inference-url INFERENCE --remote REMOTE --state-dir HOME/state doctor` with
/// `HOME` as home and `token` as GITHUB_TOKEN: its exit code and stdout.
fn doctor(home: &Path, inference: &str, remote: &str, token: Option<&str>) -> (i32, String) {
    // An empty user config: the doctor's config check passes, the defaults apply.
    std::fs::write(home.join("empty.toml"), "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.args(["--inference-url", inference, "--remote", remote])
        .arg("--state-dir")
        .arg(home.join("state"))
        .arg("doctor")
        .env("HOME", home)
        .env("FOREMAN_CONFIG", home.join("empty.toml"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("FOREMAN_STATE_DIR")
        .env_remove("FLEET_NODE_NAME");
    if let Some(t) = token {
        cmd.env("GITHUB_TOKEN", t);
    }
    let out = cmd.output().expect("foreman runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn failures_are_named_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.git");
    let (code, out) = doctor(
        dir.path(),
        "http://127.0.0.1:9/v1",
        missing.to_str().unwrap(),
        None,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✓ state dir") && out.contains("✓ config"),
        "{out}"
    );
    // The node this machine would register: the sanitized gethostname(2) name and its RAM.
    let host = foreman::fleet::host::hostname();
    let node = format!(
        "✓ node        {} (host {host:?}) · RAM ",
        foreman::fleet::host::node_name(&host)
    );
    assert!(out.contains(&node), "{node} missing:\n{out}");
    for failing in ["✗ inference", "✗ token", "✗ git remote"] {
        assert!(out.contains(failing), "{failing} missing:\n{out}");
    }
    assert!(out.contains("→ export GITHUB_TOKEN"), "{out}");
    assert!(
        out.matches("  → ").count() >= 3,
        "every failure has a fix:\n{out}"
    );
}

/// `foreman doctor` in `home` with no `$FOREMAN_CONFIG`: its `config` line.
fn config_line(home: &Path, xdg: Option<&Path>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.args([
        "--inference-url",
        "http://127.0.0.1:9/v1",
        "--remote",
        "/nowhere",
    ])
    .arg("--state-dir")
    .arg(home.join("state"))
    .arg("doctor")
    .env("HOME", home)
    .env_remove("FOREMAN_CONFIG")
    .env_remove("XDG_CONFIG_HOME")
    .env_remove("GITHUB_TOKEN");
    if let Some(x) = xdg {
        cmd.env("XDG_CONFIG_HOME", x);
    }
    let out = String::from_utf8_lossy(&cmd.output().expect("foreman runs").stdout).into_owned();
    out.lines()
        .find(|l| l.contains(" config "))
        .unwrap_or_else(|| panic!("no config line:\n{out}"))
        .to_string()
}

/// One config home on every platform: `~/.config/foreman/config.toml`, or under
/// `$XDG_CONFIG_HOME`, and the doctor says which file it read (issue 17).
#[test]
fn the_config_line_names_the_file_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let none = config_line(home, None);
    let expected = home.join(".config/foreman/config.toml");
    assert_eq!(
        none,
        format!("✓ config      defaults (no {})", expected.display())
    );

    std::fs::create_dir_all(home.join(".config/foreman")).unwrap();
    std::fs::write(&expected, "[ui]\ntheme = \"light\"\n").unwrap();
    assert_eq!(
        config_line(home, None),
        format!("✓ config      {}", expected.display())
    );

    let xdg = home.join("xdg");
    std::fs::create_dir_all(xdg.join("foreman")).unwrap();
    let in_xdg = xdg.join("foreman/config.toml");
    std::fs::write(&in_xdg, "").unwrap();
    assert_eq!(
        config_line(home, Some(&xdg)),
        format!("✓ config      {}", in_xdg.display())
    );
}

#[cfg(feature = "e2e")]
#[test]
fn passes_against_real_peers() {
    let llama = std::env::var("FOREMAN_E2E_LLAMA_URL")
        .expect("FOREMAN_E2E_LLAMA_URL is not set: run the e2e suites through scripts/test");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    common::seed_bare(&root, "acme/greeter.git", &[("README.md", "# greeter\n")]);
    let server = common::GitServer::start(&root, "doctor-token");
    let remote = server.url("acme/greeter");
    let (code, out) = doctor(dir.path(), &llama, &remote, Some("doctor-token"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("✓ inference") && out.contains("tool calls work"),
        "{out}"
    );
    assert!(
        out.contains("✓ git remote") && out.contains("1 branches"),
        "{out}"
    );
    // A wrong token is caught by the remote check.
    let (code, out) = doctor(dir.path(), &llama, &remote, Some("wrong-token"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ git remote") && out.contains("authentication"),
        "{out}"
    );
    assert!(
        !out.contains("wrong-token"),
        "the token must not be printed:\n{out}"
    );
}
