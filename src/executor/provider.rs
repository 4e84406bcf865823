//! Where the model is served (upstream HEAD `provider`/`providerConfig`): `local` is the base
//! URL the backend resolved (`--base-url`, the InferenceService); `cloud-proxy` is
//! `providerConfig.baseURL` with `providerConfig.model`, and, when `apiKeySecretRef` names a
//! Secret, its value as the bearer token. The key is read here, held as an [`ApiKey`] (which
//! never prints), and goes nowhere but the `Authorization` header: errors name the Secret
//! and its key, never the value.

use crate::api::{Agent, Provider, SecretKeySelector};
use crate::oai::ApiKey;

/// Where the cloud-proxy API key comes from.
#[derive(Clone, Debug, Default)]
pub enum ProviderKey {
    /// Embedded mode and `foreman run`: the Secret `<name>` key `<key>` is the environment
    /// variable [`env_var`] names (`FOREMAN_SECRET_<NAME>_<KEY>`).
    #[default]
    Env,
    /// Cluster mode: the worker read the kube Secret in the task's namespace (or says why
    /// it could not).
    Fetched(Result<ApiKey, String>),
}

/// The resolved endpoint of one run.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
}

/// The environment variable holding Secret `sel` in embedded mode: `FOREMAN_SECRET_`, then
/// the Secret's name and key, upper-cased, every other character than A-Z and 0-9 as `_`.
pub fn env_var(sel: &SecretKeySelector) -> String {
    let part = |s: &str| -> String {
        s.chars()
            .map(|c| match c.to_ascii_uppercase() {
                c @ ('A'..='Z' | '0'..='9') => c,
                _ => '_',
            })
            .collect()
    };
    format!("FOREMAN_SECRET_{}_{}", part(&sel.name), part(&sel.key))
}

/// The endpoint `agent` runs against; `Err` is upstream's `InferenceServiceUnavailable`
/// message (a missing `providerConfig` field, or a Secret that cannot be read).
pub fn resolve(agent: &Agent, base_url: &str, key: &ProviderKey) -> Result<Endpoint, String> {
    let spec = &agent.spec;
    if spec.provider.unwrap_or_default() == Provider::Local {
        return Ok(Endpoint {
            base_url: base_url.to_string(),
            model: spec.model.clone().unwrap_or_default(),
            api_key: None,
        });
    }
    let cfg = spec
        .provider_config
        .as_ref()
        .ok_or("agent.spec.providerConfig is required for provider=cloud-proxy")?;
    let base = cfg.base_url.as_deref().map(str::trim).unwrap_or_default();
    if base.is_empty() {
        return Err(
            "agent.spec.providerConfig.baseURL is required for provider=cloud-proxy".into(),
        );
    }
    let model = cfg.model.as_deref().map(str::trim).unwrap_or_default();
    if model.is_empty() {
        return Err("agent.spec.providerConfig.model is required for provider=cloud-proxy".into());
    }
    let api_key = match &cfg.api_key_secret_ref {
        None => None,
        Some(sel) => Some(read_key(sel, key)?),
    };
    Ok(Endpoint {
        base_url: base.trim_end_matches('/').to_string(),
        model: model.to_string(),
        api_key,
    })
}

fn read_key(sel: &SecretKeySelector, source: &ProviderKey) -> Result<ApiKey, String> {
    match source {
        ProviderKey::Fetched(r) => r.clone(),
        ProviderKey::Env => {
            let var = env_var(sel);
            let value = std::env::var(&var).unwrap_or_default();
            ApiKey::new(value).ok_or_else(|| {
                format!(
                    "Secret {:?} key {:?} for provider auth: embedded mode reads it from the \
                     environment variable {var}, which is unset or empty; export it where \
                     foreman runs",
                    sel.name, sel.key
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(yaml: &str) -> Agent {
        let doc = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: a}}\nspec:\n  role: coder\n  tools: [bash]\n{yaml}"
        );
        match crate::api::load_str("a", &doc).unwrap().remove(0) {
            crate::api::Object::Agent(a) => *a,
            _ => panic!("not an Agent"),
        }
    }

    #[test]
    fn local_keeps_the_backends_url_and_cloud_proxy_takes_its_own() {
        let e = resolve(&agent("  model: m\n"), "http://l/v1", &ProviderKey::Env).unwrap();
        assert_eq!(
            (e.base_url.as_str(), e.model.as_str()),
            ("http://l/v1", "m")
        );
        assert!(e.api_key.is_none());
        let a = agent(
            "  provider: cloud-proxy\n  providerConfig: {baseURL: 'https://p/v1/', model: gpt}\n",
        );
        let e = resolve(&a, "http://l/v1", &ProviderKey::Env).unwrap();
        assert_eq!(
            (e.base_url.as_str(), e.model.as_str()),
            ("https://p/v1", "gpt")
        );
        assert!(e.api_key.is_none(), "no Secret named: no header");
    }

    #[test]
    fn a_named_secret_must_be_readable_and_errors_never_carry_the_key() {
        let a = agent(
            "  provider: cloud-proxy\n  providerConfig:\n    baseURL: https://p/v1\n    model: gpt\n    apiKeySecretRef: {name: proxy-key, key: token}\n",
        );
        let err = resolve(&a, "", &ProviderKey::Env).unwrap_err();
        assert!(err.contains("FOREMAN_SECRET_PROXY_KEY_TOKEN"), "{err}");
        let key = ApiKey::new("sk-secret-123").unwrap();
        let e = resolve(&a, "", &ProviderKey::Fetched(Ok(key.clone()))).unwrap();
        assert_eq!(e.api_key, Some(key));
        assert!(
            !format!("{e:?}").contains("sk-secret-123"),
            "Debug hides the key"
        );
        let no_model = agent("  provider: cloud-proxy\n  providerConfig: {baseURL: 'https://p'}\n");
        let err = resolve(&no_model, "", &ProviderKey::Env).unwrap_err();
        assert!(err.contains("providerConfig.model"), "{err}");
    }
}
