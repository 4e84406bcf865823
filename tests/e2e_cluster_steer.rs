//! Steering a run on a cluster (issue 12 §4, "on a cluster for tasks this node runs"): the
//! console that runs its own worker sends the operator's note (`m`) to that worker's live run,
//! and the model reads it as a user message at the start of its next turn (asserted on the
//! request the scripted server receives). A console without a worker, or a task not running
//! here, is told why. Real kube-apiserver, the real git smart-HTTP server, the real sandbox.
#![cfg(feature = "e2e")]

mod common;

use common::cluster_ui::{TOKEN, Ui, World, key};
use common::scripted_oai::{Reply, ScriptedServer};
use foreman::agent::notes::note_message;
use foreman::backend::Command;
use foreman::backend::cluster::ClusterBackendConfig;
use foreman::executor::run::TokenSource;
use foreman::fleet::TaskState;
use foreman::workspace::Token;
use serde_json::json;
use std::time::Duration;

const STEERED: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: steered}\nspec:\n  role: coder\n  maxRetries: 0\n  tools: [read_file, bash, submit_result]\n";
const NOTE: &str = "keep the greeting in British English";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_from_the_console_reaches_its_own_workers_run_before_the_next_turn() {
    let w = World::new("steer");
    let a = w.node("a");
    // Turn 1 runs a slow command, so the note lands while that turn is in flight.
    let model = ScriptedServer::start(vec![
        Reply::tool_call("bash", json!({"command": "sleep 4"}).to_string()),
        Reply::tool_call(
            "submit_result",
            json!({"verdict": "NO-GO", "summary": "nothing to change"}).to_string(),
        ),
    ])
    .unwrap();
    w.apply(STEERED);
    w.apply(&format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: steer-me}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: steered}}\n  payload: {{repo: {}, issue: 1, prompt: \"Look at the greeting\"}}\n",
        common::cluster_ui::REPO
    ));
    w.patch_status("steer-me", json!({"phase": "Pending"}));
    w.patch_status("steer-me", json!({"phase": "Scheduled", "assignedNode": a}));
    let cfg = ClusterBackendConfig {
        node_name: a.clone(),
        git_remote_url: None,
        github_api_base: w.server.api(),
        token: TokenSource::Given(Token::new(TOKEN)),
        worker: Some(w.real_worker_config(&a, &model.base_url())),
        scheduler: None,
    };
    let mut ui = Ui::start_with(&w.kc, &w.ns, cfg).await;
    let mut watcher = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;

    // A console without a worker cannot steer: it says where to do it.
    watcher.h.send(Command::Note {
        task: key(&w, "steer-me"),
        text: NOTE.into(),
    });
    watcher
        .until("the refusal", 20, |u| {
            u.errors.iter().any(|e| e.contains("runs no worker"))
        })
        .await;

    // The first request is in and its reply (the slow command) streamed: send the note.
    for _ in 0..300 {
        if !model.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(model.requests().len(), 1, "turn 1 was asked");
    ui.h.send(Command::Note {
        task: key(&w, "steer-me"),
        text: NOTE.into(),
    });
    ui.until("the note queued", 20, |u| {
        u.notices
            .iter()
            .any(|n| n.contains("note for") && n.contains("queued"))
    })
    .await;
    ui.until("the run's end", 90, |u| {
        u.state("steer-me") == Some(TaskState::Succeeded)
    })
    .await;
    let reqs = model.requests();
    assert_eq!(reqs.len(), 2, "two turns");
    let has_note = |i: usize| {
        reqs[i]["messages"].as_array().unwrap().iter().any(|m| {
            m["role"] == "user" && m["content"].as_str() == Some(note_message(NOTE).as_str())
        })
    };
    assert!(
        !has_note(0),
        "the note is not in the request before it was sent"
    );
    assert!(has_note(1), "the next turn's request carries the note");

    // The run is over (the worker may still be writing its end): refused, never "queued".
    let queued = ui.notices.len();
    ui.h.send(Command::Note {
        task: key(&w, "steer-me"),
        text: "too late".into(),
    });
    ui.until("the late note refused", 20, |u| {
        u.errors
            .iter()
            .any(|e| e.contains("is not running on") || e.contains("run has ended"))
    })
    .await;
    assert!(
        !ui.notices[queued..].iter().any(|n| n.contains("queued")),
        "{:?}",
        ui.notices
    );
}
