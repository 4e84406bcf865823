//! This machine's FleetNode (spec §5.2): upserted at start, heartbeated with its capability and
//! current task, `Draining` on shutdown. Status writes are merge patches: the node's status is
//! owned by its one agent, and the patch also works after an apiserver restart.

use crate::api::fleetnode::{FleetNodeCapability, NodeAccelerator};
use crate::api::{FleetNode, FleetNodePhase, FleetNodeSpec};
use crate::fleet::condition::upserted;
use crate::fleet::host::{probe_accelerator, probe_memory};
use crate::fleet::status::now;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use std::collections::BTreeMap;

/// What the node advertises; flags win over probes (spec §6).
#[derive(Clone, Debug, Default)]
pub struct NodeConfig {
    pub name: String,
    pub tailscale_addr: Option<String>,
    pub roles: Vec<String>,
    /// Extra `metadata.labels` (for the scheduler's nodeSelector).
    pub labels: BTreeMap<String, String>,
    pub accelerator: Option<NodeAccelerator>,
    pub installed_models: Vec<String>,
    pub max_context_tokens: i32,
    pub tokens_per_second: i32,
    /// 0 = read from the OS.
    pub total_ram_gb: i32,
}

impl NodeConfig {
    fn spec(&self) -> FleetNodeSpec {
        FleetNodeSpec {
            node_name: self.name.clone(),
            tailscale_addr: self.tailscale_addr.clone().filter(|s| !s.is_empty()),
            roles: (!self.roles.is_empty()).then(|| self.roles.clone()),
        }
    }

    /// The capability block: flags, else the probes (RAM from the OS, accelerator detected).
    pub fn capability(&self) -> FleetNodeCapability {
        let (total, avail) = if self.total_ram_gb > 0 {
            (Some(self.total_ram_gb), Some(self.total_ram_gb))
        } else {
            probe_memory()
        };
        let pos = |n: i32| (n > 0).then_some(n);
        FleetNodeCapability {
            accelerator: Some(self.accelerator.unwrap_or_else(probe_accelerator)),
            total_ram_gb: total,
            available_ram_gb: avail,
            installed_models: (!self.installed_models.is_empty())
                .then(|| self.installed_models.clone()),
            max_context_tokens: pos(self.max_context_tokens),
            tokens_per_second: pos(self.tokens_per_second),
        }
    }
}

/// Creates the node, or updates its spec/labels when they changed. Another agent (or a
/// restart racing itself) may create or change it concurrently: a 409 means read again.
pub async fn upsert(api: &Api<FleetNode>, cfg: &NodeConfig) -> Result<FleetNode, kube::Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match upsert_once(api, cfg).await {
            Err(e) if attempts < 5 && super::tasks::api_code(&e) == Some(409) => continue,
            other => return other,
        }
    }
}

async fn upsert_once(api: &Api<FleetNode>, cfg: &NodeConfig) -> Result<FleetNode, kube::Error> {
    let spec = cfg.spec();
    match api.get_opt(&cfg.name).await? {
        None => {
            let mut n = FleetNode::new(&cfg.name, spec);
            n.metadata.labels = (!cfg.labels.is_empty()).then(|| cfg.labels.clone());
            api.create(&PostParams::default(), &n).await
        }
        Some(mut cur) => {
            let mut labels = cur.metadata.labels.clone().unwrap_or_default();
            labels.extend(cfg.labels.clone());
            let labels = (!labels.is_empty()).then_some(labels);
            if cur.spec == spec && cur.metadata.labels == labels {
                return Ok(cur);
            }
            cur.spec = spec;
            cur.metadata.labels = labels;
            api.replace(&cfg.name, &PostParams::default(), &cur).await
        }
    }
}

/// One heartbeat: phase, time, capability and the current task (`None` clears it). The node's
/// conditions are read first, so the `Ready` condition keeps its transition time while its
/// status holds (and takes a new one after the scheduler marked it stale).
pub async fn heartbeat(
    api: &Api<FleetNode>,
    name: &str,
    phase: FleetNodePhase,
    capability: &FleetNodeCapability,
    current_task: Option<&str>,
) -> Result<FleetNode, kube::Error> {
    let prev = api.get_status(name).await?;
    let conds = prev.status.and_then(|s| s.conditions).unwrap_or_default();
    let patch = heartbeat_patch(&conds, phase, capability, current_task, &now());
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
}

/// The heartbeat's merge patch over the node's current `conditions`.
fn heartbeat_patch(
    conds: &[Condition],
    phase: FleetNodePhase,
    capability: &FleetNodeCapability,
    current_task: Option<&str>,
    now: &Time,
) -> serde_json::Value {
    let (reason, message) = match phase {
        FleetNodePhase::Ready => ("HeartbeatFresh", "FleetAgent heartbeat is current"),
        FleetNodePhase::Draining => ("AgentShutdown", "the agent is shutting down"),
        _ => ("AgentReported", "reported by the agent"),
    };
    let ready = phase == FleetNodePhase::Ready;
    let conds = upserted(conds, "Ready", ready, reason, message, now).unwrap_or(conds.to_vec());
    serde_json::json!({
        "status": {
            "phase": phase,
            "lastHeartbeatTime": now,
            "capability": capability,
            "currentTask": current_task,
            "conditions": conds,
            // Upstream HEAD's identity fields. `agentKind` stays unset: upstream's AgentRelease
            // rollout targets `foreman-agent` nodes with its own binary, which this agent
            // must not be offered.
            "agentVersion": crate::k8s::connect::USER_AGENT,
            "os": go_os(),
            "arch": go_arch(),
        }
    })
}

/// Go's `GOOS` spelling of this machine's OS (upstream's `status.os`).
fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// Go's `GOARCH` spelling of this machine's architecture (upstream's `status.arch`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_probes() {
        let cfg = NodeConfig {
            name: "mac".into(),
            roles: vec!["worker".into()],
            accelerator: Some(NodeAccelerator::Metal),
            total_ram_gb: 128,
            max_context_tokens: 65536,
            installed_models: vec!["qwen".into()],
            ..Default::default()
        };
        let c = cfg.capability();
        assert_eq!(c.accelerator, Some(NodeAccelerator::Metal));
        assert_eq!((c.total_ram_gb, c.available_ram_gb), (Some(128), Some(128)));
        assert_eq!(c.max_context_tokens, Some(65536));
        assert_eq!(c.tokens_per_second, None);
        assert_eq!(cfg.spec().roles, Some(vec!["worker".to_string()]));
        let probed = NodeConfig::default().capability();
        assert!(probed.total_ram_gb.is_some_and(|g| g >= 0));
    }

    #[test]
    fn heartbeats_say_version_os_and_arch_in_gos_spelling() {
        let at = Time(jiff::Timestamp::from_second(1).unwrap());
        let p = heartbeat_patch(&[], FleetNodePhase::Ready, &Default::default(), None, &at);
        let st = &p["status"];
        assert_eq!(
            st["agentVersion"],
            format!("foreman/{}", env!("CARGO_PKG_VERSION"))
        );
        let (os, arch) = (st["os"].as_str().unwrap(), st["arch"].as_str().unwrap());
        assert!(["linux", "darwin"].contains(&os), "{os}");
        assert!(["amd64", "arm64"].contains(&arch), "{arch}");
        assert!(st["agentKind"].is_null());
    }

    #[test]
    fn heartbeats_keep_the_ready_time_until_the_status_flips() {
        let at = |s| Time(jiff::Timestamp::from_second(s).unwrap());
        let cap = FleetNodeCapability::default();
        let conds = |p: &serde_json::Value| -> Vec<Condition> {
            serde_json::from_value(p["status"]["conditions"].clone()).unwrap()
        };
        let first = conds(&heartbeat_patch(
            &[],
            FleetNodePhase::Ready,
            &cap,
            None,
            &at(10),
        ));
        assert_eq!(first[0].last_transition_time, at(10));
        let again = conds(&heartbeat_patch(
            &first,
            FleetNodePhase::Ready,
            &cap,
            Some("a/b"),
            &at(40),
        ));
        assert_eq!(
            again[0].last_transition_time,
            at(10),
            "still Ready: time kept"
        );
        // The scheduler marked it stale (Ready=False): the next beat is a transition.
        let mut stale = again.clone();
        crate::fleet::condition::upsert(
            &mut stale,
            "Ready",
            false,
            "HeartbeatStale",
            "x",
            &at(200),
        );
        let back = conds(&heartbeat_patch(
            &stale,
            FleetNodePhase::Ready,
            &cap,
            None,
            &at(210),
        ));
        assert_eq!(
            (back[0].status.as_str(), back[0].reason.as_str()),
            ("True", "HeartbeatFresh")
        );
        assert_eq!(back[0].last_transition_time, at(210));
        let drain = conds(&heartbeat_patch(
            &back,
            FleetNodePhase::Draining,
            &cap,
            None,
            &at(220),
        ));
        assert_eq!(
            (drain[0].status.as_str(), drain[0].reason.as_str()),
            ("False", "AgentShutdown")
        );
        assert_eq!(drain[0].last_transition_time, at(220));
    }
}
