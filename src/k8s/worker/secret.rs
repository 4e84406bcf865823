//! A cloud-proxy Agent's API key, read from the kube Secret its `providerConfig` names, in the
//! task's namespace (upstream's `resolveAuthToken`). The value goes straight into an
//! [`ApiKey`]; messages name the Secret and key, never the value.

use crate::api::{Agent, Provider};
use crate::executor::run::ProviderKey;
use crate::oai::ApiKey;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// Whether `agent` talks to a cloud proxy (so no InferenceService is resolved for it).
pub fn is_cloud_proxy(agent: &Agent) -> bool {
    agent.spec.provider == Some(Provider::CloudProxy)
}

/// The key of a cloud-proxy Agent that names a Secret; [`ProviderKey::Env`] (unused) else.
pub async fn provider_key(client: &kube::Client, namespace: &str, agent: &Agent) -> ProviderKey {
    let sel = agent
        .spec
        .provider_config
        .as_ref()
        .and_then(|c| c.api_key_secret_ref.as_ref());
    let Some(sel) = sel.filter(|_| is_cloud_proxy(agent)) else {
        return ProviderKey::Env;
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let what = format!(
        "Secret {namespace}/{} key {:?} for provider auth",
        sel.name, sel.key
    );
    let read = match secrets.get_opt(&sel.name).await {
        Err(e) => Err(format!("cannot read {what}: {e}")),
        Ok(None) => Err(format!("{what}: the Secret does not exist")),
        Ok(Some(s)) => {
            let value = s
                .data
                .as_ref()
                .and_then(|d| d.get(&sel.key))
                .map(|b| b.0.clone());
            let text = value
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            ApiKey::new(text).ok_or_else(|| format!("{what}: the Secret has no value for the key"))
        }
    };
    ProviderKey::Fetched(read)
}
