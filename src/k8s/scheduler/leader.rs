//! The scheduler's side of the election ([`crate::k8s::lease`]): a task that takes or renews
//! the Lease every retry period and says, through a watch channel, until when this replica
//! may act. A pass runs only while that instant is ahead; a replica that is not leading (or
//! cannot reach the apiserver to renew) stops placing before another can take over.

use crate::k8s::lease::{Elector, Leadership, LeaseConfig};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// This replica's right to act, kept current by the election task.
pub(super) struct Leader {
    until: Option<watch::Receiver<Option<Instant>>>,
    elector: Option<Arc<Elector>>,
    task: Option<JoinHandle<()>>,
}

impl Leader {
    /// Without a Lease configured this replica always acts (`--once`, tests). `holder` hears
    /// the current holder's identity (for a console to show).
    pub fn spawn(
        client: &kube::Client,
        lease: Option<LeaseConfig>,
        holder: Option<watch::Sender<String>>,
        wake: Arc<Notify>,
    ) -> Leader {
        let Some(cfg) = lease else {
            return Leader {
                until: None,
                elector: None,
                task: None,
            };
        };
        let elector = Arc::new(Elector::new(client.clone(), cfg));
        let (tx, rx) = watch::channel(None);
        let task = tokio::spawn(elect(Arc::clone(&elector), tx, holder, wake));
        Leader {
            until: Some(rx),
            elector: Some(elector),
            task: Some(task),
        }
    }

    /// Whether a pass may run now.
    pub fn may_act(&self) -> bool {
        match &self.until {
            None => true,
            Some(rx) => rx.borrow().is_some_and(|t| Instant::now() < t),
        }
    }

    /// Stops electing and gives the Lease up if it is ours, so a standby takes over at its
    /// next retry rather than after the whole duration.
    pub async fn stop(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        if let Some(e) = self.elector.take()
            && let Err(err) = e.release().await
        {
            warn!("could not release the scheduler Lease: {err}");
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// The election loop: one round per retry period; every change of holder is logged.
async fn elect(
    elector: Arc<Elector>,
    until: watch::Sender<Option<Instant>>,
    holder: Option<watch::Sender<String>>,
    wake: Arc<Notify>,
) {
    let cfg = elector.config().clone();
    let lease = format!("{}/{}", cfg.namespace, cfg.name);
    let mut last: Option<String> = None;
    loop {
        let now_holder = match elector.step().await {
            Ok(Leadership::Leading { until: t }) => {
                until.send_replace(Some(t));
                if last.as_deref() != Some(cfg.identity.as_str()) {
                    info!(
                        "scheduler: {} leads (this replica; Lease {lease})",
                        cfg.identity
                    );
                    wake.notify_one();
                }
                Some(cfg.identity.clone())
            }
            Ok(Leadership::Following { holder: h }) => {
                until.send_replace(None);
                if last.as_deref() != Some(h.as_str()) && !h.is_empty() {
                    info!(
                        "scheduler: {h} leads; {} is standby (Lease {lease})",
                        cfg.identity
                    );
                }
                Some(h)
            }
            Err(e) => {
                // The last claim runs out by itself; nothing to undo here.
                warn!("scheduler Lease {lease}: {e} (retrying)");
                None
            }
        };
        if let Some(h) = now_holder {
            if let Some(tx) = &holder {
                // Only a change of holder is news.
                tx.send_if_modified(|cur| {
                    let changed = *cur != h;
                    cur.clone_from(&h);
                    changed
                });
            }
            last = Some(h);
        }
        tokio::time::sleep(cfg.retry()).await;
    }
}
