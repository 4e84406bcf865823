//! The per-task tool registry: binds the tools to one workspace, filters them by the Agent's
//! `spec.tools` whitelist, advertises their schemas and dispatches calls.

use super::bash::{self, Bash};
use super::path::Workspace;
use super::ready::ReadyGate;
use super::{ToolError, ToolOptions, ToolOutput};
use super::{grep, read_file, str_replace, submit_result, write_file};
use crate::api::AgentSandbox;
use crate::oai::ToolSpec;
use crate::sandbox::{Policy, PolicyError, Sandbox, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every tool name, sorted (the wire order of [`Registry::specs`]).
const ALL: [&str; 6] = [
    bash::NAME,
    grep::NAME,
    read_file::NAME,
    str_replace::NAME,
    submit_result::NAME,
    write_file::NAME,
];

/// Why a registry could not be built for a task.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "Agent spec.tools names unknown tool(s) {}; available tools: {}",
        quoted(.0),
        ALL.join(", ")
    )]
    UnknownTools(Vec<String>),
    #[error("Agent spec.tools lists tool(s) more than once: {}; list each once", quoted(.0))]
    DuplicateTools(Vec<String>),
    #[error("workspace {path:?} is not usable: {source}")]
    Workspace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The value is deliberately not part of the message: it may be a secret.
    #[error(
        "bash environment variable {0:?} is refused: credentials must never reach the model's \
         shell (use a credential-free name such as GIT_AUTHOR_NAME)"
    )]
    ForbiddenEnv(String),
    #[error("bash environment variable name {0:?} is invalid (empty, or contains '=' or NUL)")]
    InvalidEnvName(String),
    #[error("{0}")]
    Sandbox(#[from] PolicyError),
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tools enabled for one task, bound to its workspace.
#[derive(Debug)]
pub struct Registry {
    ws: Workspace,
    enabled: Vec<&'static str>,
    bash: Bash,
    sandbox: Arc<Sandbox>,
    /// Set while the workspace is still being cloned: calls wait for it.
    ready: Option<ReadyGate>,
}

impl Registry {
    /// `enabled` = Agent spec.tools whitelist; empty = all six. Unknown or duplicate names are
    /// errors naming them. The workspace must exist; it is symlink-resolved once here. `bash`
    /// runs in the default sandbox ([`Policy::new`]: network none, the default caches).
    pub fn new(
        workspace: &Path,
        enabled: &[String],
        opts: ToolOptions,
    ) -> Result<Registry, RegistryError> {
        Registry::build(workspace, enabled, opts, |root| Ok(Policy::new(root)))
    }

    /// [`Registry::new`] with the sandbox the operator's settings and the Agent's
    /// `spec.sandbox` resolve to (an allow path exposing credentials is an error).
    pub fn sandboxed(
        workspace: &Path,
        enabled: &[String],
        opts: ToolOptions,
        settings: &Settings,
        agent: Option<&AgentSandbox>,
    ) -> Result<Registry, RegistryError> {
        Registry::build(workspace, enabled, opts, |root| {
            Policy::resolve(root, settings, agent)
        })
    }

    fn build(
        workspace: &Path,
        enabled: &[String],
        opts: ToolOptions,
        policy: impl FnOnce(&Path) -> Result<Policy, PolicyError>,
    ) -> Result<Registry, RegistryError> {
        let chosen = choose(enabled)?;
        for (k, _) in &opts.bash_env {
            check_env_name(k)?;
        }
        let ws = Workspace::new(workspace).map_err(|source| RegistryError::Workspace {
            path: workspace.to_path_buf(),
            source,
        })?;
        let parent_env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let sandbox = Arc::new(Sandbox::new(policy(ws.root())?));
        let bash = Bash::new(
            ws.root().to_path_buf(),
            opts.bash_timeout,
            parent_env,
            &opts.bash_env,
            Arc::clone(&sandbox),
        );
        Ok(Registry {
            ws,
            enabled: chosen,
            bash,
            sandbox,
            ready: None,
        })
    }

    /// This registry's calls wait for `gate`: the workspace is still being set up.
    pub fn gated(mut self, gate: ReadyGate) -> Registry {
        self.ready = Some(gate);
        self
    }

    /// Waits for the workspace while it is set up (the `workspace.wait` span: the `overhead`
    /// bench counts it as set-up, not as the turn's own time).
    async fn ready(&self) -> Result<(), String> {
        use tracing::Instrument;
        match &self.ready {
            Some(g) if !g.is_open() => {
                g.wait()
                    .instrument(tracing::debug_span!("workspace.wait"))
                    .await
            }
            _ => Ok(()),
        }
    }

    /// The sandbox `bash` runs in; the executor runs the commit hooks in the same one.
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Runs `command` with `sh -c` exactly as the `bash` tool would (same sandbox, workspace
    /// and scrubbed environment: the token is never in it), bounded by `timeout` instead of
    /// the tool's limit. The coder gate's commands run here, whether or not `bash` is enabled.
    pub async fn run_command(
        &self,
        command: &str,
        timeout: std::time::Duration,
    ) -> Result<bash::ExecResult, String> {
        self.ready().await?;
        self.bash.with_timeout(timeout).exec(command).await
    }

    /// Schemas sorted by tool name (deterministic wire order, stable prompt cache).
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.enabled.iter().filter_map(|n| spec_of(n)).collect()
    }

    /// Enabled tool names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.enabled.clone()
    }

    /// The symlink-resolved workspace root the tools operate in.
    pub fn workspace(&self) -> &Path {
        self.ws.root()
    }

    /// Dispatches one call. An unknown (or disabled) tool is an error listing the available
    /// ones, so the model can pick a real tool next turn.
    pub async fn dispatch(
        &self,
        name: &str,
        args: &serde_json::Value,
    ) -> Result<ToolOutput, ToolError> {
        let Some(&name) = self.enabled.iter().find(|n| **n == name) else {
            return Err(ToolError(format!(
                "{name}: unknown tool; available tools: {}",
                self.enabled.join(", ")
            )));
        };
        self.ready()
            .await
            .map_err(|why| ToolError(format!("{name}: no workspace: {why}")))?;
        match name {
            bash::NAME => self.bash.run(args).await,
            submit_result::NAME => submit_result::run(args),
            _ => {
                // File and search tools block on the filesystem; keep them off the reactor.
                let ws = self.ws.clone();
                let args = args.clone();
                tokio::task::spawn_blocking(move || blocking(name, &ws, &args))
                    .await
                    .map_err(|e| ToolError(format!("{name}: internal error: {e}")))?
            }
        }
    }
}

fn blocking(
    name: &'static str,
    ws: &Workspace,
    args: &serde_json::Value,
) -> Result<ToolOutput, ToolError> {
    match name {
        read_file::NAME => read_file::run(ws, args),
        write_file::NAME => write_file::run(ws, args),
        str_replace::NAME => str_replace::run(ws, args),
        grep::NAME => grep::run(ws, args),
        other => Err(ToolError(format!("{other}: not a filesystem tool"))),
    }
}

fn spec_of(name: &str) -> Option<ToolSpec> {
    Some(match name {
        bash::NAME => bash::spec(),
        grep::NAME => grep::spec(),
        read_file::NAME => read_file::spec(),
        str_replace::NAME => str_replace::spec(),
        submit_result::NAME => submit_result::spec(),
        write_file::NAME => write_file::spec(),
        _ => return None,
    })
}

/// Applies the whitelist: empty = all; otherwise every name must be known and listed once.
fn choose(enabled: &[String]) -> Result<Vec<&'static str>, RegistryError> {
    if enabled.is_empty() {
        return Ok(ALL.to_vec());
    }
    let mut unknown: Vec<String> = enabled
        .iter()
        .filter(|n| !ALL.contains(&n.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        unknown.dedup();
        return Err(RegistryError::UnknownTools(unknown));
    }
    let mut dups: Vec<String> = enabled
        .iter()
        .enumerate()
        .filter(|(i, n)| enabled[..*i].contains(n))
        .map(|(_, n)| n.clone())
        .collect();
    if !dups.is_empty() {
        dups.sort();
        dups.dedup();
        return Err(RegistryError::DuplicateTools(dups));
    }
    Ok(ALL
        .iter()
        .copied()
        .filter(|n| enabled.iter().any(|e| e == n))
        .collect())
}

/// Refuses names that carry credentials (defence in depth for §11.6: even a mistaken
/// executor cannot hand the token to the shell) and names `Command` would reject.
fn check_env_name(name: &str) -> Result<(), RegistryError> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err(RegistryError::InvalidEnvName(name.to_string()));
    }
    let upper = name.to_ascii_uppercase();
    let secret = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "ASKPASS",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| upper.contains(w));
    if secret {
        return Err(RegistryError::ForbiddenEnv(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ModelVerdict;
    use serde_json::json;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_whitelist_enables_all_sorted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = Registry::new(tmp.path(), &[], ToolOptions::default()).expect("registry");
        assert_eq!(
            r.names(),
            vec![
                "bash",
                "grep",
                "read_file",
                "str_replace",
                "submit_result",
                "write_file"
            ]
        );
        let specs = r.specs();
        let spec_names: Vec<&str> = specs.iter().map(|s| s.name()).collect();
        assert_eq!(spec_names, r.names());
        for s in &specs {
            assert_eq!(s.kind, "function");
            let p = &s.function.parameters;
            assert_eq!(p["type"], "object", "{}", s.name());
            assert_eq!(p["additionalProperties"], false, "{}", s.name());
            assert!(p["properties"].is_object() && p["required"].is_array());
            assert!(
                s.function.description.len() > 40,
                "{} needs a description",
                s.name()
            );
            // Every required parameter is declared.
            for req in p["required"].as_array().into_iter().flatten() {
                assert!(p["properties"].get(req.as_str().unwrap_or("")).is_some());
            }
        }
    }

    #[test]
    fn whitelist_filters_and_keeps_sorted_order() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = Registry::new(
            tmp.path(),
            &names(&["submit_result", "read_file", "bash"]),
            ToolOptions::default(),
        )
        .expect("registry");
        assert_eq!(r.names(), vec!["bash", "read_file", "submit_result"]);
        assert_eq!(r.specs().len(), 3);
    }

    #[test]
    fn unknown_and_duplicate_names_are_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let e = Registry::new(
            tmp.path(),
            &names(&["bash", "run_gate_job", "rm"]),
            ToolOptions::default(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("\"rm\", \"run_gate_job\""), "{e}");
        assert!(e.contains("available tools: bash, grep"), "{e}");
        let e = Registry::new(
            tmp.path(),
            &names(&["grep", "bash", "grep"]),
            ToolOptions::default(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("more than once: \"grep\""), "{e}");
    }

    #[test]
    fn missing_workspace_is_an_error() {
        let e = Registry::new(Path::new("/nonexistent/ws"), &[], ToolOptions::default());
        assert!(matches!(e, Err(RegistryError::Workspace { .. })));
    }

    #[test]
    fn secret_looking_bash_env_is_refused_without_echoing_the_value() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for k in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "GIT_ASKPASS",
            "db_password",
            "MY_SECRET",
        ] {
            let opts = ToolOptions {
                bash_env: vec![(k.to_string(), "ghp_valuemarker".to_string())],
                ..ToolOptions::default()
            };
            let e = Registry::new(tmp.path(), &[], opts)
                .err()
                .map(|e| e.to_string());
            let e = e.unwrap_or_default();
            assert!(
                e.contains("is refused") && !e.contains("valuemarker"),
                "{k}: {e}"
            );
        }
        let opts = ToolOptions {
            bash_env: vec![("A=B".into(), "x".into())],
            ..ToolOptions::default()
        };
        assert!(matches!(
            Registry::new(tmp.path(), &[], opts),
            Err(RegistryError::InvalidEnvName(_))
        ));
    }

    #[tokio::test]
    async fn dispatch_routes_and_refuses_unknown_or_disabled_tools() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = Registry::new(
            tmp.path(),
            &names(&[
                "write_file",
                "read_file",
                "submit_result",
                "bash",
                "grep",
                "str_replace",
            ]),
            ToolOptions {
                bash_env: vec![("GIT_AUTHOR_NAME".into(), "Bot".into())],
                ..ToolOptions::default()
            },
        )
        .expect("registry");
        let out = r
            .dispatch("write_file", &json!({"path": "d/a.txt", "content": "hi\n"}))
            .await
            .expect("write");
        assert_eq!(out.output["bytes"], 3);
        assert_eq!(out.submission, None);
        let out = r
            .dispatch(
                "str_replace",
                &json!({"path": "d/a.txt", "old_string": "hi", "new_string": "yo"}),
            )
            .await
            .expect("replace");
        assert_eq!(out.output["replacements"], 1);
        let out = r
            .dispatch("read_file", &json!({"path": "d/a.txt"}))
            .await
            .expect("read");
        assert_eq!(out.output["content"], "yo\n");
        let out = r
            .dispatch("grep", &json!({"pattern": "yo"}))
            .await
            .expect("grep");
        assert_eq!(out.output["matches"][0]["file"], "d/a.txt");
        let out = r
            .dispatch(
                "bash",
                &json!({"command": "cat d/a.txt; echo $GIT_AUTHOR_NAME"}),
            )
            .await
            .expect("bash");
        assert_eq!(out.output["stdout"], "yo\nBot\n");
        let out = r
            .dispatch(
                "submit_result",
                &json!({"verdict": "GO", "summary": "done", "commit_message": "fix: x"}),
            )
            .await
            .expect("submit");
        assert_eq!(out.submission.map(|s| s.verdict), Some(ModelVerdict::Go));

        let e = r.dispatch("rm_rf", &json!({})).await.err().map(|e| e.0);
        assert_eq!(
            e.as_deref(),
            Some(
                "rm_rf: unknown tool; available tools: bash, grep, read_file, str_replace, submit_result, write_file"
            )
        );

        let limited = Registry::new(tmp.path(), &names(&["read_file"]), ToolOptions::default())
            .expect("registry");
        let e = limited
            .dispatch("bash", &json!({"command": "true"}))
            .await
            .err()
            .map(|e| e.0);
        assert_eq!(
            e.as_deref(),
            Some("bash: unknown tool; available tools: read_file")
        );
    }
}
