//! What this console runs on the cluster besides watching: its own executor (the same worker
//! as `foreman agent`) and, optionally, the scheduler. Both read AgenticTasks from the
//! console's task watch when they cover its namespace (the CLI always makes them), else from
//! their own; both only report through the UI's event channel.

use crate::backend::BackendEvent;
use crate::k8s::scheduler::SchedulerConfig;
use crate::k8s::watch::TaskWatch;
use crate::k8s::worker::{self, WorkerConfig, WorkerEvent, WorkerHandle};
use crate::k8s::{Cluster, lease};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Whether a task namespace setting (`None` or "" = all) is the console's ("" = all).
fn covers(console_namespace: &str, theirs: Option<&str>) -> bool {
    theirs.unwrap_or("") == console_namespace
}

/// Starts the worker; its events become the console's (`Run` feeds the live transcript).
pub(super) fn spawn_worker(
    cluster: &Cluster,
    cfg: WorkerConfig,
    tasks: &mut TaskWatch,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> WorkerHandle {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let node = cfg.node.name.clone();
    let handle = if covers(&cluster.namespace, cfg.task_namespace.as_deref()) {
        worker::spawn_sharing(cluster.clone(), cfg, tasks, tx)
    } else {
        worker::spawn(cluster.clone(), cfg, tx)
    };
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
    tasks: &mut TaskWatch,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> SchedulerHandle {
    use crate::k8s::scheduler;
    let (stop, stopped) = oneshot::channel::<()>();
    let client = cluster.client.clone();
    let shared = covers(&cluster.namespace, cfg.task_namespace.as_deref())
        .then(|| scheduler::subscribe(tasks));
    let (leader_tx, leader_rx) = tokio::sync::watch::channel(String::new());
    let cfg = SchedulerConfig {
        leader: Some(leader_tx),
        ..cfg
    };
    let say = events.clone();
    tokio::spawn(say_leader(leader_rx, say));
    let join = tokio::spawn(async move {
        let _ = events.send(BackendEvent::Notice(
            "this console also schedules Pending tasks (--scheduler)".into(),
        ));
        let shutdown = async move {
            let _ = stopped.await;
        };
        let r = match shared {
            Some(feed) => scheduler::run_sharing(client, cfg, feed, shutdown).await,
            None => scheduler::run(client, cfg, shutdown).await,
        };
        if let Err(e) = r {
            let _ = events.send(BackendEvent::Error(format!("scheduler: {e}")));
        }
    });
    SchedulerHandle { stop, join }
}

/// Tells the console who schedules each time the Lease changes hands (the status line says
/// "scheduler: <holder> leads", the fleet pane's title keeps it), until the scheduler stops.
async fn say_leader(
    mut rx: tokio::sync::watch::Receiver<String>,
    events: mpsc::UnboundedSender<BackendEvent>,
) {
    while rx.changed().await.is_ok() {
        let holder = rx.borrow_and_update().clone();
        if !holder.is_empty() && events.send(BackendEvent::Leader(holder)).is_err() {
            return;
        }
    }
}

/// For a console that does not schedule: who holds the schedulers' Lease (the default name,
/// `foreman-scheduler`, in the console's namespace), read every few seconds and told to the
/// console when it changes hands or runs out ("" = nobody leads).
pub(super) async fn read_leader(
    client: kube::Client,
    namespace: String,
    events: mpsc::UnboundedSender<BackendEvent>,
) {
    let mut last: Option<String> = None;
    loop {
        // An unreadable Lease (RBAC, a blip) keeps what was shown.
        if let Ok(holder) =
            lease::read_holder(client.clone(), &namespace, lease::DEFAULT_NAME).await
            && holder != last
        {
            let shown = holder.clone().unwrap_or_default();
            if (last.is_some() || !shown.is_empty())
                && events.send(BackendEvent::Leader(shown)).is_err()
            {
                return;
            }
            last = holder;
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn only_the_same_task_namespace_shares_the_console_watch() {
        assert!(covers("team", Some("team")));
        assert!(covers("", None) && covers("", Some("")));
        assert!(
            !covers("team", None),
            "all namespaces is more than the console watches"
        );
        assert!(!covers("", Some("team")) && !covers("a", Some("b")));
    }
}
