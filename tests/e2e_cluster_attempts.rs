#![cfg(feature = "e2e")]
//! The attempt selector on the cluster backend, against a real kube-apiserver
//! (scripts/k8s.sh): the apiserver keeps only a task's current attempt, so that one is answered
//! with its status and transcript and an earlier one says where earlier attempts are kept.
//!
//!   KUBE_PORT=20243 ETCD_PORT=20279 scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_attempts
//!   scripts/k8s.sh stop /tmp/k8s

mod common;

use common::k8s::{kubectl_at, shared_namespace};
use foreman::api::TaskPhase;
use foreman::backend::attempt::EARLIER_ONLY_EMBEDDED;
use foreman::backend::cluster::{ClusterBackendConfig, start_cluster};
use foreman::backend::{AttemptView, BackendEvent, BackendHandle, Command};
use foreman::executor::run::TokenSource;
use foreman::fleet::TaskKey;
use foreman::k8s::{ClusterArgs, connect};
use foreman::workspace::Token;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  tools: [read_file, submit_result]\n";
/// A task on its second attempt (re-queued by an embedded console, then applied here).
const TASK: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata:\n  name: again\n  annotations: {foreman.llmkube.dev/attempt: \"2\"}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/greeter, issue: 1, prompt: \"Fix the greeting\"}\n";

/// Sends `LoadAttempt` and waits for its answer.
async fn ask(
    h: &BackendHandle,
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    key: &TaskKey,
    attempt: u32,
) -> AttemptView {
    h.send(Command::LoadAttempt {
        task: key.clone(),
        attempt,
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Attempt(v))) if v.attempt == attempt => return *v,
            Ok(Some(_)) => {}
            other => panic!("no answer for attempt {attempt}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_answers_its_current_attempt_and_names_where_earlier_ones_are() {
    let (kc, ns) = shared_namespace("console-attempts");
    kubectl_at(&kc, &["-n", &ns, "apply", "-f", "-"], Some(AGENT));
    kubectl_at(&kc, &["-n", &ns, "apply", "-f", "-"], Some(TASK));
    let status = json!({"status": {"phase": "Failed", "verdict": "INCOMPLETE"}}).to_string();
    kubectl_at(
        &kc,
        &[
            "-n",
            &ns,
            "patch",
            "agentictask",
            "again",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ],
        None,
    );
    let cluster = connect(&ClusterArgs {
        kubeconfig: Some(kc.clone()),
        context: None,
        namespace: Some(ns.clone()),
    })
    .await
    .expect("connect");
    let cfg = ClusterBackendConfig {
        node_name: format!("{ns}-here"),
        git_remote_url: None,
        github_api_base: "http://127.0.0.1:9".into(),
        token: TokenSource::Given(Token::new("unused")),
        worker: None,
        scheduler: None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let h = start_cluster(cluster, cfg, tx).expect("start");
    let key = TaskKey::new(&ns, "again");
    // The current attempt: its status now, and its transcript (none recorded: empty).
    let now = ask(&h, &mut rx, &key, 2).await;
    assert_eq!(
        (now.task.clone(), now.attempts.clone()),
        (key.clone(), vec![2])
    );
    assert_eq!(now.status.unwrap().phase, Some(TaskPhase::Failed));
    assert_eq!(now.records.unwrap().len(), 0);
    assert!(now.diff.is_none());
    // An earlier one is not on the cluster: the answer says where it is kept.
    let before = ask(&h, &mut rx, &key, 1).await;
    assert!(before.status.is_none() && before.diff.is_none());
    assert_eq!(before.records.unwrap_err(), EARLIER_ONLY_EMBEDDED);
    h.send(Command::Shutdown);
    tokio::time::timeout(Duration::from_secs(10), h.stopped())
        .await
        .expect("the backend stops");
}
