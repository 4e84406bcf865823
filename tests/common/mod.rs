//! Shared fixtures for integration tests: manifests and local git remotes.
#![allow(dead_code)]

use foreman::api::{Agent, AgenticTask, Object, load_str};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Seed")
        .env("GIT_AUTHOR_EMAIL", "seed@example.com")
        .env("GIT_COMMITTER_NAME", "Seed")
        .env("GIT_COMMITTER_EMAIL", "seed@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository at `<root>/<rel>` seeded with `files` on `main`.
pub fn seed_bare(root: &Path, rel: &str, files: &[(&str, &str)]) -> PathBuf {
    let bare = root.join(rel);
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        root,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let work = root.join(format!("seed-{}", rel.replace('/', "-")));
    git(root, &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    for (name, body) in files {
        let p = work.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "initial"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

pub fn task(yaml_spec: &str) -> AgenticTask {
    let text = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: fix-1, namespace: default}}\nspec:\n{yaml_spec}"
    );
    match load_str("task", &text).unwrap().remove(0) {
        Object::Task(t) => *t,
        other => panic!("not a task: {other:?}"),
    }
}

pub fn issue_task() -> AgenticTask {
    task(
        "  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}\n",
    )
}

pub fn agent(extra: &str) -> Agent {
    let text = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: coder}}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n{extra}"
    );
    match load_str("agent", &text).unwrap().remove(0) {
        Object::Agent(a) => *a,
        other => panic!("not an agent: {other:?}"),
    }
}

pub fn file_agent(path: &Path) -> Agent {
    match foreman::api::load_file(path).unwrap().remove(0) {
        Object::Agent(a) => *a,
        other => panic!("not an agent: {other:?}"),
    }
}
