//! Inference endpoint resolution (spec §4): a full override, else the Agent's InferenceService
//! `status.endpoint`, optionally with the host replaced and the port re-read live from the
//! Service's v1 Endpoints on every dispatch (a respawned llama-server on a new port is picked
//! up without a restart).

use crate::api::Agent;
use k8s_openapi::api::core::v1::Endpoints;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

#[derive(Clone, Debug, Default)]
pub struct EndpointConfig {
    /// `--inference-base-url-override`: used as given, minus a trailing `/`.
    pub base_url_override: Option<String>,
    /// `--inference-base-url-host-override`: host substituted, port from Endpoints.
    pub host_override: Option<String>,
    /// Used for an Agent without `inferenceServiceRef` (a console on a workstation whose
    /// llama.cpp is not an InferenceService); without it such an Agent is an error.
    pub fallback_base_url: Option<String>,
}

fn inference_service() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("inference.llmkube.dev", "v1alpha1", "InferenceService"),
        "inferenceservices",
    )
}

/// The base URL (with `/v1`) for `agent`'s task in `namespace`. The error is the reason text
/// of an `InferenceServiceUnavailable` precondition failure.
pub async fn resolve(
    client: &kube::Client,
    namespace: &str,
    agent: &Agent,
    cfg: &EndpointConfig,
) -> Result<String, String> {
    if let Some(u) = cfg.base_url_override.as_deref().filter(|u| !u.is_empty()) {
        return Ok(u.trim_end_matches('/').to_string());
    }
    let isvc = agent
        .spec
        .inference_service_ref
        .as_ref()
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty());
    if isvc.is_none()
        && let Some(u) = cfg.fallback_base_url.as_deref().filter(|u| !u.is_empty())
    {
        return Ok(u.trim_end_matches('/').to_string());
    }
    let isvc = isvc.ok_or_else(|| {
            format!(
                "Agent {:?} has no spec.inferenceServiceRef.name and no --inference-base-url-override was given",
                agent.metadata.name.as_deref().unwrap_or_default()
            )
        })?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &inference_service());
    let obj = api
        .get(&isvc)
        .await
        .map_err(|e| format!("get InferenceService {namespace}/{isvc}: {e}"))?;
    let endpoint = obj
        .data
        .get("status")
        .and_then(|s| s.get("endpoint"))
        .and_then(|e| e.as_str())
        .unwrap_or_default();
    if endpoint.is_empty() {
        return Err(format!(
            "InferenceService {namespace}/{isvc} has no status.endpoint yet"
        ));
    }
    let base = base_from_endpoint(endpoint);
    let Some(host) = cfg.host_override.as_deref().filter(|h| !h.is_empty()) else {
        return Ok(base);
    };
    let svc = isvc.replace('.', "-");
    let eps: Api<Endpoints> = Api::namespaced(client.clone(), namespace);
    let ep = eps.get(&svc).await.map_err(|e| {
        format!("get Endpoints {namespace}/{svc} for host-override resolution: {e}")
    })?;
    let port = ready_port(&ep)
        .ok_or_else(|| "no ready address with a port on the Endpoints object".to_string())?;
    with_host(&base, host, port)
}

/// `status.endpoint` minus a trailing `/chat/completions` and any trailing `/`.
fn base_from_endpoint(endpoint: &str) -> String {
    let e = endpoint.trim_end_matches('/');
    e.strip_suffix("/chat/completions")
        .unwrap_or(e)
        .trim_end_matches('/')
        .to_string()
}

/// The first port (> 0) of the first subset that has a ready address.
fn ready_port(ep: &Endpoints) -> Option<i32> {
    ep.subsets
        .iter()
        .flatten()
        .find(|s| s.addresses.as_ref().is_some_and(|a| !a.is_empty()))
        .and_then(|s| s.ports.iter().flatten().map(|p| p.port).find(|p| *p > 0))
}

/// `base` with its authority replaced by `host:port`, scheme and path kept.
fn with_host(base: &str, host: &str, port: i32) -> Result<String, String> {
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| format!("InferenceService endpoint {base:?} is not a URL"))?;
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    Ok(format!("{scheme}://{host}:{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset};

    #[test]
    fn the_endpoint_loses_chat_completions_and_slashes() {
        assert_eq!(
            base_from_endpoint("http://coder.team.svc.cluster.local:8080/v1/chat/completions"),
            "http://coder.team.svc.cluster.local:8080/v1"
        );
        assert_eq!(base_from_endpoint("http://x:1/v1/"), "http://x:1/v1");
    }

    #[test]
    fn the_host_override_keeps_scheme_and_path() {
        assert_eq!(
            with_host(
                "http://coder.team.svc.cluster.local:8080/v1",
                "127.0.0.1",
                60177
            )
            .unwrap(),
            "http://127.0.0.1:60177/v1"
        );
        assert!(with_host("nonsense", "h", 1).is_err());
    }

    #[test]
    fn the_port_comes_from_the_first_subset_with_an_address() {
        let subset = |addrs: usize, port: i32| EndpointSubset {
            addresses: Some(
                (0..addrs)
                    .map(|_| EndpointAddress {
                        ip: "10.0.0.1".into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ports: Some(vec![EndpointPort {
                port,
                ..Default::default()
            }]),
            ..Default::default()
        };
        let ep = Endpoints {
            subsets: Some(vec![subset(0, 1111), subset(1, 2222), subset(1, 3333)]),
            ..Default::default()
        };
        assert_eq!(ready_port(&ep), Some(2222));
        assert_eq!(ready_port(&Endpoints::default()), None);
    }
}
