//! Which scheduler leads, in a console that does not schedule (issue 13 §5): it reads the
//! schedulers' Lease (`foreman-scheduler` in its namespace) and tells the fleet pane who holds
//! it, and that nobody does once the holder's claim runs out. Real kube-apiserver; the Lease
//! is written as a `foreman scheduler` replica writes it.
#![cfg(feature = "e2e")]

mod common;

use common::cluster_ui::{Ui, World, cluster};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_console_shows_the_lease_holder_and_when_its_claim_runs_out() {
    let w = World::new("leader-shown");
    let mut ui = Ui::start(&w.kc, &w.ns, &w.node("watcher"), &w.server.api()).await;
    let now = k8s_openapi::jiff::Timestamp::now();
    let lease: Lease = serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "foreman-scheduler", "namespace": w.ns},
        "spec": {
            "holderIdentity": "sched-a-4242",
            "leaseDurationSeconds": 4,
            "acquireTime": now.to_string(),
            "renewTime": now.to_string(),
        },
    }))
    .unwrap();
    let leases: Api<Lease> = Api::namespaced(cluster(&w.kc, &w.ns).await.client, &w.ns);
    leases.create(&PostParams::default(), &lease).await.unwrap();
    ui.until("the holder shown", 15, |u| {
        u.leaders.last().map(String::as_str) == Some("sched-a-4242")
    })
    .await;
    // Nobody renews: after its 4 s the claim has run out, and the console says so.
    ui.until("the lease run out", 20, |u| {
        u.leaders.last().map(String::as_str) == Some("")
    })
    .await;
    assert_eq!(ui.leaders, ["sched-a-4242", ""], "each change told once");
}
