//! This machine as a FleetNode: memory and accelerator probed locally, context size and models
//! asked of the inference server (llama.cpp `/props`, OpenAI `/models`) without ever blocking,
//! and tokens/s averaged from real runs.

use super::status::now;
use crate::api::fleetnode::NodeAccelerator;
use crate::api::{FleetNode, FleetNodeCapability, FleetNodePhase, FleetNodeSpec, FleetNodeStatus};
use std::time::Duration;

/// What the inference server told us (each part absent when unreachable).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InferenceProbe {
    pub max_context_tokens: Option<i32>,
    pub installed_models: Option<Vec<String>>,
}

/// `MemTotal`/`MemAvailable` in whole GB from /proc/meminfo text.
pub fn parse_meminfo(text: &str) -> (Option<i32>, Option<i32>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kb| (kb / (1024 * 1024)) as i32)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// Total and available RAM in GB (macOS reports only the total).
pub fn probe_memory() -> (Option<i32>, Option<i32>) {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        return parse_meminfo(&text);
    }
    if cfg!(target_os = "macos")
        && let Ok(out) = std::process::Command::new("sysctl")
            .args(["-n", "hw.memsize"])
            .output()
        && let Ok(bytes) = String::from_utf8_lossy(&out.stdout).trim().parse::<u64>()
    {
        let gb = (bytes / (1 << 30)) as i32;
        return (Some(gb), Some(gb));
    }
    (None, None)
}

/// metal on macOS, cuda when `nvidia-smi` is on PATH, else none.
pub fn probe_accelerator() -> NodeAccelerator {
    if cfg!(target_os = "macos") {
        return NodeAccelerator::Metal;
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nvidia-smi").is_file()));
    if on_path {
        NodeAccelerator::Cuda
    } else {
        NodeAccelerator::None
    }
}

/// Asks `<base without /v1>/props` and `<base>/models`, each bounded by 2 s.
pub async fn probe_inference(base_url: &str) -> InferenceProbe {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(2))
        .build()
    else {
        return InferenceProbe::default();
    };
    let base = base_url.trim().trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let get = |url: String| {
        let http = http.clone();
        async move {
            let resp = http.get(url).send().await.ok()?;
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
        installed_models: models.as_ref().and_then(|m| m.get("data")).and_then(|d| {
            d.as_array().map(|a| {
                a.iter()
                    .filter_map(|m| m.get("id").and_then(|i| i.as_str()).map(str::to_string))
                    .collect()
            })
        }),
    }
}

/// This machine's host name as the OS gives it (empty when unknown).
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The host name made into a valid object name (lowercase, `[a-z0-9-.]`).
pub fn default_node_name() -> String {
    sanitize(&hostname())
}

pub fn sanitize(raw: &str) -> String {
    let s: String = raw
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '.').to_string();
    if s.is_empty() { "localhost".into() } else { s }
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
    fn meminfo_parses_to_gb() {
        let t = "MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   12288000 kB\n";
        assert_eq!(parse_meminfo(t), (Some(23), Some(11)));
        assert_eq!(parse_meminfo("junk"), (None, None));
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("My_Host.local\n"), "my-host.local");
        assert_eq!(sanitize("  "), "localhost");
    }

    #[test]
    fn tps_average_moves_by_a_fifth() {
        assert_eq!(average_tps(None, 10.0), Some(10.0));
        assert_eq!(average_tps(Some(10.0), 20.0), Some(12.0));
        assert_eq!(average_tps(Some(10.0), f64::NAN), Some(10.0));
    }
}
