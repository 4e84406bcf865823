#![cfg(feature = "e2e")]
//! The issue picker's task on a cluster (issue 12, point 1), against a real kube-apiserver:
//! `Command::CreateTask` creates the task the picker builds (payload, prompt, labels) in the
//! apiserver; a second task for the same unfinished issue is refused with the backend's own
//! fresh list, even when another writer (here `kubectl`) made the first; a finished one no
//! longer blocks; a name that exists is refused, never overwritten.
//!
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_intake

mod common;

use common::k8s::{kubectl_at, shared_namespace};
use foreman::backend::cluster::{ClusterBackendConfig, start_cluster};
use foreman::backend::{BackendEvent, BackendHandle, Command};
use foreman::executor::run::TokenSource;
use foreman::github::{Issue, issue_task};
use foreman::k8s::{ClusterArgs, connect};
use foreman::workspace::Token;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// The backend's answers to commands: notices and errors, in order.
struct Answers {
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    h: BackendHandle,
}

impl Answers {
    async fn start(kc: &Path, ns: &str) -> Answers {
        let cluster = connect(&ClusterArgs {
            kubeconfig: Some(kc.to_path_buf()),
            context: None,
            namespace: Some(ns.into()),
        })
        .await
        .expect("connect");
        let cfg = ClusterBackendConfig {
            node_name: "picker-node".into(),
            git_remote_url: None,
            github_api_base: "http://127.0.0.1:9".into(),
            token: TokenSource::Given(Token::new("unused")),
            worker: None,
            scheduler: None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let h = start_cluster(cluster, cfg, tx).expect("start");
        Answers { rx, h }
    }

    /// Sends `CreateTask` and returns the backend's answer: `Ok(notice)` or `Err(error)`.
    async fn create(&mut self, t: foreman::api::AgenticTask) -> Result<String, String> {
        self.h.send(Command::CreateTask(Box::new(t)));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(BackendEvent::Notice(m))) if m.contains("created") => return Ok(m),
                Ok(Some(BackendEvent::Error(m))) => return Err(m),
                Ok(Some(_)) => {}
                other => panic!("no answer to CreateTask: {:?}", other.map(|_| ())),
            }
        }
    }
}

fn issue(n: u64) -> Issue {
    Issue {
        number: n,
        title: "greet() says Helo".into(),
        body: "greeter.py prints 'Helo' instead of 'Hello'.".into(),
        labels: vec!["good first issue".into()],
        html_url: format!("https://github.com/acme/greeter/issues/{n}"),
    }
}

fn get(kc: &Path, ns: &str, name: &str) -> Value {
    let out = kubectl_at(
        kc,
        &["-n", ns, "get", "agentictask", name, "-o", "json"],
        None,
    );
    serde_json::from_str(&out).expect("the task is in the apiserver")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pickers_task_is_created_once_per_unfinished_issue_in_the_apiserver() {
    let (kc, ns) = shared_namespace("intake");
    let mut b = Answers::start(&kc, &ns).await;

    let t = issue_task(
        &ns,
        "issue-1",
        "acme/greeter",
        &issue(1),
        Some("coder"),
        None,
    )
    .unwrap();
    let said = b.create(t).await.expect("created");
    assert!(said.contains(&format!("created {ns}/issue-1")), "{said}");
    let got = get(&kc, &ns, "issue-1");
    assert_eq!(got["spec"]["payload"]["repo"], "acme/greeter");
    assert_eq!(got["spec"]["payload"]["issue"], 1);
    assert_eq!(got["spec"]["agentRef"]["name"], "coder");
    let prompt = got["spec"]["payload"]["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("greet() says Helo\n\n"), "{prompt}");
    assert!(prompt.contains("instead of 'Hello'"), "{prompt}");
    assert_eq!(
        got["metadata"]["labels"]["foreman.llmkube.dev/issue"], "1",
        "{got}"
    );
    assert_eq!(
        got["metadata"]["labels"]["foreman.llmkube.dev/agent"],
        "coder"
    );

    // The same issue again, under another name: refused while issue-1 is not finished.
    let again = issue_task(
        &ns,
        "issue-1-2",
        "acme/greeter",
        &issue(1),
        Some("coder"),
        None,
    )
    .unwrap();
    let why = b.create(again.clone()).await.unwrap_err();
    assert!(
        why.contains("issue #1 of acme/greeter already has a task that is not finished"),
        "{why}"
    );
    assert!(
        !kubectl_at(&kc, &["-n", &ns, "get", "agentictasks", "-o", "name"], None)
            .contains("issue-1-2")
    );

    // Another writer's task counts too: kubectl creates one for issue 2, the picker's is refused.
    let by_kubectl = serde_json::to_string(
        &issue_task(&ns, "by-kubectl", "acme/greeter", &issue(2), None, None).unwrap(),
    )
    .unwrap();
    kubectl_at(&kc, &["-n", &ns, "create", "-f", "-"], Some(&by_kubectl));
    let t2 = issue_task(
        &ns,
        "issue-2",
        "acme/greeter",
        &issue(2),
        Some("coder"),
        None,
    )
    .unwrap();
    let why = b.create(t2).await.unwrap_err();
    assert!(why.contains("issue #2 of acme/greeter"), "{why}");

    // Once issue-1 has finished, a new task for it may be created.
    kubectl_at(
        &kc,
        &[
            "-n",
            &ns,
            "patch",
            "agentictask",
            "issue-1",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Succeeded"}}"#,
        ],
        None,
    );
    let said = b
        .create(again)
        .await
        .expect("a finished task no longer blocks");
    assert!(said.contains("issue-1-2"), "{said}");

    // A name that exists is refused, and the task there is left as it was.
    let clash = issue_task(
        &ns,
        "issue-1",
        "acme/greeter",
        &issue(9),
        Some("coder"),
        None,
    )
    .unwrap();
    let why = b.create(clash).await.unwrap_err();
    assert!(why.contains("a task of that name already exists"), "{why}");
    assert_eq!(get(&kc, &ns, "issue-1")["spec"]["payload"]["issue"], 1);

    b.h.send(Command::Shutdown);
    b.h.stopped().await;
}
