//! `foreman get` and `foreman delete` on a real state directory, through the binary: the
//! kubectl-like table, -o yaml/json/wide, a missing name, and delete (refused while a run holds
//! the task, unless --force).

use foreman::api::TaskPhase;
use foreman::backend::embedded::Store;
use foreman::fleet::TaskKey;
use std::path::Path;
use std::process::{Command, Output};

const MANIFEST: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  tools: [read_file, submit_result]\n---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix-1}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix it\"}\n---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix-2, namespace: team}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 8, prompt: \"Fix that\"}\n";

fn foreman(state: &Path, args: &[&str]) -> (Output, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_foreman"))
        .env("FOREMAN_STATE_DIR", state)
        .env("HOME", state)
        .args(args)
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    (out, o, e)
}

fn submitted() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = dir.path().join("m.yaml");
    std::fs::write(&file, MANIFEST).unwrap();
    let (out, stdout, stderr) = foreman(&state, &["submit", file.to_str().unwrap()]);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "agent default/coder created\ntask default/fix-1 created\ntask team/fix-2 created\n"
    );
    (dir, state)
}

#[test]
fn get_prints_kubectl_tables_and_full_objects() {
    let (_dir, state) = submitted();
    let (out, table, _) = foreman(&state, &["get", "tasks"]);
    assert!(out.status.success());
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        head,
        [
            "NAMESPACE",
            "NAME",
            "STATE",
            "PHASE",
            "KIND",
            "NODE",
            "VERDICT",
            "AGE"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &row[..7],
        [
            "default",
            "fix-1",
            "Pending",
            "Pending",
            "issue-fix",
            "<none>",
            "<none>"
        ]
    );
    assert!(row[7].ends_with('s'), "an age: {row:?}");

    let (_, wide, _) = foreman(&state, &["get", "tasks", "-o", "wide"]);
    assert!(
        wide.lines()
            .next()
            .unwrap()
            .ends_with("ATTEMPT   BRANCH   COMMIT   REASON"),
        "{wide}"
    );

    let (_, yaml, _) = foreman(&state, &["get", "task", "fix-1", "-o", "yaml"]);
    let t: foreman::api::AgenticTask = foreman::api::yaml::from_str(&yaml).unwrap();
    assert_eq!(t.spec.payload.prompt.as_deref(), Some("Fix it"));
    assert!(t.metadata.resource_version.is_some());

    let (_, json, _) = foreman(&state, &["get", "agents", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["spec"]["role"], "coder");

    let (out, _, err) = foreman(&state, &["get", "tasks", "team/nope"]);
    assert!(!out.status.success());
    assert!(err.contains("task \"team/nope\" not found"), "{err}");
    let (_, nodes, _) = foreman(&state, &["get", "nodes"]);
    assert_eq!(nodes, "No resources found.\n");
}

#[test]
fn delete_removes_a_task_and_refuses_one_a_run_holds() {
    let (_dir, state) = submitted();
    {
        let (mut s, _) = Store::open(&state).unwrap();
        let mut t = s.task(&TaskKey::new("team", "fix-2")).unwrap().clone();
        t.status.as_mut().unwrap().phase = Some(TaskPhase::Running);
        s.save_task(&t).unwrap();
    }
    let (out, stdout, _) = foreman(&state, &["delete", "task", "fix-1"]);
    assert!(out.status.success());
    assert!(stdout.starts_with("task default/fix-1 deleted"), "{stdout}");
    let (out, _, err) = foreman(&state, &["delete", "task", "team/fix-2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("is Running; cancel it in the console first"),
        "{err}"
    );
    let (out, _, _) = foreman(&state, &["delete", "task", "team/fix-2", "--force"]);
    assert!(out.status.success());
    let (_, table, _) = foreman(&state, &["get", "tasks"]);
    assert_eq!(table, "No resources found.\n");
    let (out, _, err) = foreman(&state, &["delete", "task", "fix-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("task default/fix-1 is not in the store"),
        "{err}"
    );
}
