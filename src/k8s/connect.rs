//! Connecting to a cluster the way upstream's agent (controller-runtime) and kubectl do:
//! `--kubeconfig`, then `$KUBECONFIG`, then the in-cluster service account, then
//! `~/.kube/config`; `--context` picks a context; the namespace is `--namespace`, else the
//! context's namespace, else `default`.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::{Path, PathBuf};

/// The `User-Agent` of every request to the apiserver.
pub const USER_AGENT: &str = concat!("foreman/", env!("CARGO_PKG_VERSION"));

/// Where to find the cluster (all optional; see the module doc for the lookup order).
#[derive(Clone, Debug, Default)]
pub struct ClusterArgs {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// A connected client plus the namespace it resolved.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    /// Where the config came from (shown by the console and in errors).
    pub source: String,
    /// Who this client is, as `user@context` of the kubeconfig (the decisions a console
    /// writes on tasks say so, `fleet::decision`).
    pub who: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error(
        "no cluster configuration found: pass --kubeconfig, set KUBECONFIG, run in a pod, or create ~/.kube/config"
    )]
    NotFound,
    #[error("cannot build a Kubernetes client from {source_}: {message}")]
    Client { source_: String, message: String },
}

/// Resolves the config per the lookup order and builds a client (no request is made yet).
pub async fn connect(args: &ClusterArgs) -> Result<Cluster, ConnectError> {
    let (mut config, source, who) = resolve_config(args).await?;
    // kube-rs sends no User-Agent; apiserver audit logs and `kubectl get --raw /metrics`
    // name the writer by it, as they name upstream's `foreman-agent/<version>`.
    config.headers.push((
        reqwest::header::USER_AGENT,
        reqwest::header::HeaderValue::from_static(USER_AGENT),
    ));
    let namespace = args
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| ConnectError::Client {
        source_: source.clone(),
        message: e.to_string(),
    })?;
    Ok(Cluster {
        client,
        namespace,
        source,
        who,
    })
}

async fn resolve_config(args: &ClusterArgs) -> Result<(Config, String, String), ConnectError> {
    let opts = KubeConfigOptions {
        context: args.context.clone(),
        ..Default::default()
    };
    if let Some(path) = &args.kubeconfig {
        return from_file(path, &opts).await;
    }
    if let Some(env) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        // kubectl merges a PATH-style list; the first existing file is the common case.
        let first = std::env::split_paths(&env).find(|p| p.exists());
        if let Some(p) = first {
            return from_file(&p, &opts).await;
        }
    }
    if args.context.is_none()
        && let Ok(c) = Config::incluster()
    {
        return Ok((
            c,
            "in-cluster service account".into(),
            "serviceaccount@in-cluster".into(),
        ));
    }
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().join(".kube/config"))
        .filter(|p| p.exists());
    match home {
        Some(p) => from_file(&p, &opts).await,
        None => Err(ConnectError::NotFound),
    }
}

async fn from_file(
    path: &Path,
    opts: &KubeConfigOptions,
) -> Result<(Config, String, String), ConnectError> {
    let err = |message: String| ConnectError::Kubeconfig {
        path: path.display().to_string(),
        message,
    };
    let kc = Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
    let who = who_of(&kc, opts.context.as_deref());
    let config = Config::from_custom_kubeconfig(kc, opts)
        .await
        .map_err(|e| err(e.to_string()))?;
    let source = match &opts.context {
        Some(c) => format!("{} (context {c})", path.display()),
        None => path.display().to_string(),
    };
    Ok((config, source, who))
}

/// `user@context` of the context in use (`?` where the kubeconfig does not say).
fn who_of(kc: &Kubeconfig, context: Option<&str>) -> String {
    let name = context
        .map(str::to_string)
        .or_else(|| kc.current_context.clone())
        .unwrap_or_else(|| "?".into());
    let user = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref()?.user.clone())
        .unwrap_or_else(|| "?".into());
    format!("{user}@{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KC: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster: {server: 'https://127.0.0.1:1'}\n- name: b\n  cluster: {server: 'https://127.0.0.1:2'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: one\n  context: {cluster: a, user: u, namespace: team-a}\n- name: two\n  context: {cluster: b, user: u}\ncurrent-context: one\n";

    #[tokio::test]
    async fn flag_context_and_namespace_follow_kubectl() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kc");
        std::fs::write(&p, KC).unwrap();
        let mut args = ClusterArgs {
            kubeconfig: Some(p.clone()),
            ..Default::default()
        };
        let c = connect(&args).await.unwrap();
        assert_eq!(c.namespace, "team-a");
        assert_eq!(
            c.who, "u@one",
            "decisions name the kubeconfig user and context"
        );
        args.context = Some("two".into());
        let c = connect(&args).await.unwrap();
        assert_eq!(c.namespace, "default");
        assert_eq!(c.who, "u@two");
        assert!(c.source.contains("context two"), "{}", c.source);
        args.namespace = Some("ops".into());
        assert_eq!(connect(&args).await.unwrap().namespace, "ops");
        args.context = Some("nope".into());
        let e = connect(&args).await.err().unwrap().to_string();
        assert!(e.contains("nope") && e.contains("kc"), "{e}");
    }

    /// A request through the built client reaches the server with `User-Agent: foreman/<v>`.
    #[tokio::test]
    async fn api_requests_carry_the_foreman_user_agent() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap();
            let body = r#"{"major":"1","minor":"20","gitVersion":"v1.20.2","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":""}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kc");
        let kc = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: one\n  context: {{cluster: a, user: u}}\ncurrent-context: one\n"
        );
        std::fs::write(&p, kc).unwrap();
        let c = connect(&ClusterArgs {
            kubeconfig: Some(p),
            ..Default::default()
        })
        .await
        .unwrap();
        c.client.apiserver_version().await.unwrap();
        let request = server.await.unwrap().to_ascii_lowercase();
        let want = format!("user-agent: foreman/{}", env!("CARGO_PKG_VERSION"));
        assert!(request.contains(&want), "{request}");
    }

    #[tokio::test]
    async fn malformed_kubeconfig_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad");
        std::fs::write(&p, "clusters: [").unwrap();
        let e = connect(&ClusterArgs {
            kubeconfig: Some(p),
            ..Default::default()
        })
        .await
        .err()
        .unwrap()
        .to_string();
        assert!(e.starts_with("kubeconfig ") && e.contains("bad"), "{e}");
    }
}
