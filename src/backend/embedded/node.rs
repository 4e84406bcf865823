//! This machine as a FleetNode: memory and accelerator probed locally, context size and models
//! asked of the inference server (llama.cpp `/props`, OpenAI `/models`) without ever blocking,
//! and tokens/s averaged from real runs.

use crate::api::fleetnode::NodeAccelerator;
use crate::api::{FleetNode, FleetNodeCapability, FleetNodePhase, FleetNodeSpec, FleetNodeStatus};
use crate::fleet::host::probe_memory;
use crate::fleet::status::now;
use std::time::Duration;

/// What the inference server told us (each part absent when unreachable).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InferenceProbe {
    pub max_context_tokens: Option<i32>,
    pub installed_models: Option<Vec<String>>,
    /// llama.cpp's `total_slots`: how many requests it serves at once, each with its own cache.
    pub total_slots: Option<u32>,
}

/// Asks `<base without /v1>/props` and `<base>/models`, each bounded by 2 s.
pub async fn probe_inference(base_url: &str) -> InferenceProbe {
    // The process's shared client (built once, not at every probe); each request has its
    // own 2 s bound.
    let Ok(http) = crate::oai::http::client(Duration::from_secs(2), base_url) else {
        return InferenceProbe::default();
    };
    let base = base_url.trim().trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let get = |url: String| {
        let http = http.clone();
        async move {
            let resp = http
                .get(url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?;
            if !resp.status().is_success() {
                return None;
            }
            resp.json::<serde_json::Value>().await.ok()
        }
    };
    let props = get(format!("{root}/props")).await;
    let models = get(format!("{base}/models")).await;
    InferenceProbe {
        max_context_tokens: props
            .as_ref()
            .and_then(|p| p.pointer("/default_generation_settings/n_ctx"))
            .and_then(|v| v.as_i64())
            .map(|n| n.clamp(0, i32::MAX as i64) as i32),
        total_slots: props
            .as_ref()
            .and_then(|p| p.get("total_slots"))
            .and_then(|v| v.as_u64())
            .map(|n| n.min(u32::MAX as u64) as u32),
        installed_models: models.as_ref().and_then(|m| m.get("data")).and_then(|d| {
            d.as_array().map(|a| {
                a.iter()
                    .filter_map(|m| m.get("id").and_then(|i| i.as_str()).map(str::to_string))
                    .collect()
            })
        }),
    }
}

/// The node object with a fresh heartbeat.
pub fn local_node(
    name: &str,
    accelerator: NodeAccelerator,
    probe: &InferenceProbe,
    tokens_per_second: Option<f64>,
    running: &[String],
) -> FleetNode {
    let (total, avail) = probe_memory();
    let mut n = FleetNode::new(
        name,
        FleetNodeSpec {
            node_name: name.into(),
            tailscale_addr: None,
            roles: Some(vec!["worker".into()]),
        },
    );
    n.status = Some(FleetNodeStatus {
        phase: Some(FleetNodePhase::Ready),
        last_heartbeat_time: Some(now()),
        capability: Some(FleetNodeCapability {
            accelerator: Some(accelerator),
            total_ram_gb: total,
            available_ram_gb: avail,
            installed_models: probe.installed_models.clone(),
            max_context_tokens: probe.max_context_tokens,
            tokens_per_second: tokens_per_second.map(|t| t.round() as i32),
        }),
        current_task: if running.is_empty() {
            None
        } else {
            Some(running.join(","))
        },
        conditions: None,
        ..Default::default()
    });
    n
}

/// Exponential moving average of decode speed (a new run moves it by a fifth).
pub fn average_tps(prev: Option<f64>, sample: f64) -> Option<f64> {
    if !sample.is_finite() || sample <= 0.0 {
        return prev;
    }
    Some(match prev {
        Some(p) => p * 0.8 + sample * 0.2,
        None => sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tps_average_moves_by_a_fifth() {
        assert_eq!(average_tps(None, 10.0), Some(10.0));
        assert_eq!(average_tps(Some(10.0), 20.0), Some(12.0));
        assert_eq!(average_tps(Some(10.0), f64::NAN), Some(10.0));
    }
}
