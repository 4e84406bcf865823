//! The node's heartbeat as the worker sends it: phase, capability (probed once at start) and
//! the task it runs. A failed beat is only logged: the next one (or the scheduler's staleness
//! rule) takes over.

use super::node::{self, NodeConfig};
use crate::api::fleetnode::FleetNodeCapability;
use crate::api::{FleetNode, FleetNodePhase};
use kube::Api;

pub(super) struct Heartbeat {
    nodes: Api<FleetNode>,
    name: String,
    capability: FleetNodeCapability,
}

impl Heartbeat {
    pub fn new(nodes: Api<FleetNode>, cfg: &NodeConfig) -> Heartbeat {
        Heartbeat {
            nodes,
            name: cfg.name.clone(),
            capability: cfg.capability(),
        }
    }

    /// One beat; `current` is the task running here (`None` clears it).
    pub async fn beat(
        &self,
        current: Option<&str>,
        phase: FleetNodePhase,
    ) -> Result<FleetNode, kube::Error> {
        node::heartbeat(&self.nodes, &self.name, phase, &self.capability, current).await
    }

    /// A `Ready` beat whose failure is logged as `what` failed.
    pub async fn ready(&self, current: Option<&str>, what: &str) {
        if let Err(e) = self.beat(current, FleetNodePhase::Ready).await {
            tracing::warn!(node = %self.name, "{what} failed: {e}");
        }
    }
}
