//! What this console runs on the cluster besides watching: its own executor (the same worker
//! as `foreman agent`) and, optionally, the scheduler. Both only report through the UI's
//! event channel.

use crate::backend::BackendEvent;
use crate::k8s::Cluster;
use crate::k8s::scheduler::SchedulerConfig;
use crate::k8s::worker::{self, WorkerConfig, WorkerEvent, WorkerHandle};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Starts the worker; its events become the console's (`Run` feeds the live transcript).
pub(super) fn spawn_worker(
    cluster: &Cluster,
    cfg: WorkerConfig,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> WorkerHandle {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let node = cfg.node.name.clone();
    let handle = worker::spawn(cluster.clone(), cfg, tx);
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            let e = match ev {
                WorkerEvent::Run { task, event } => BackendEvent::Run { task, event },
                WorkerEvent::Registered(_) => {
                    BackendEvent::Notice(format!("this console runs tasks as FleetNode {node}"))
                }
                WorkerEvent::Recovered(keys) => BackendEvent::Notice(format!(
                    "re-queued {} orphaned task(s) of {node}: {}",
                    keys.len(),
                    keys.iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                WorkerEvent::Claimed(k) => BackendEvent::Notice(format!("claimed {k}")),
                WorkerEvent::Finished { task, outcome } => match outcome {
                    Ok(v) => BackendEvent::Notice(format!("{task} finished: {v}")),
                    Err(e) => BackendEvent::Error(e),
                },
                WorkerEvent::Notice(m) => BackendEvent::Notice(m),
                WorkerEvent::Error(m) => BackendEvent::Error(m),
            };
            if events.send(e).is_err() {
                break;
            }
        }
    });
    handle
}

/// The in-console scheduler.
pub(super) struct SchedulerHandle {
    stop: oneshot::Sender<()>,
    join: JoinHandle<()>,
}

impl SchedulerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.join.await;
    }
}

pub(super) fn spawn_scheduler(
    cluster: &Cluster,
    cfg: SchedulerConfig,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> SchedulerHandle {
    let (stop, stopped) = oneshot::channel::<()>();
    let client = cluster.client.clone();
    let join = tokio::spawn(async move {
        let _ = events.send(BackendEvent::Notice(
            "this console also schedules Pending tasks (--scheduler)".into(),
        ));
        let r = crate::k8s::scheduler::run(client, cfg, async move {
            let _ = stopped.await;
        })
        .await;
        if let Err(e) = r {
            let _ = events.send(BackendEvent::Error(format!("scheduler: {e}")));
        }
    });
    SchedulerHandle { stop, join }
}
