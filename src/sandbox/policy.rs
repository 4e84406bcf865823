//! What a sandboxed command may touch, and how the Agent and the operator's config decide it.
//!
//! The policy is deliberately small: the only knobs are the network and extra read-only paths
//! (and the operator's opt-out). Everything else (system dirs read-only, workspace writable,
//! `.git` read-only, HOME hidden, own PID namespace) is fixed, so no manifest can weaken it.

use crate::api::{AgentSandbox, SandboxNetwork as Network};
use std::path::{Component, Path, PathBuf};

/// Whether commands are confined. `Off` is the operator's explicit opt-out (`[sandbox] mode =
/// "off"`, or `--no-sandbox`); nothing else turns the sandbox off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    On,
    Off,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => Ok(Mode::On),
            "off" | "false" | "0" | "no" => Ok(Mode::Off),
            _ => Err("expected on or off".into()),
        }
    }
}

/// Toolchain caches visible read-only unless the config names its own list.
pub const DEFAULT_ALLOW_PATHS: [&str; 4] = ["~/.cargo", "~/.rustup", "~/go", "~/.cache/pip"];

/// Locations under HOME that hold credentials: an allow path may neither be one of them, lie
/// inside one, nor contain one (so `~/.config` cannot expose foreman's token file).
const SECRET_DIRS: [&str; 10] = [
    ".config/foreman",
    ".ssh",
    ".gnupg",
    ".aws",
    ".kube",
    ".docker",
    ".netrc",
    ".git-credentials",
    ".config/gh",
    ".config/git/credentials",
];

/// The operator's settings (config file, environment, flags), before an Agent is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    /// Overrides every Agent's `spec.sandbox.network` when set.
    pub network: Option<Network>,
    /// Read-only paths (`~/` expanded at resolve time); replaces [`DEFAULT_ALLOW_PATHS`].
    pub allow_paths: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::On,
            network: None,
            allow_paths: DEFAULT_ALLOW_PATHS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The resolved policy for one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// Read-write (its `.git` read-only); symlink-resolved.
    pub workspace: PathBuf,
    pub network: Network,
    /// Extra read-only host paths (absolute; missing ones are skipped when mounting).
    pub read_only: Vec<PathBuf>,
    /// The operator's HOME, hidden behind an empty private directory.
    pub home: Option<PathBuf>,
}

/// An allow path that cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "sandbox allow path {0:?} is not absolute; use an absolute path or one starting with ~/"
    )]
    NotAbsolute(String),
    #[error(
        "sandbox allow path {path:?} would expose {secret}, which holds credentials; allow a \
         narrower directory (e.g. a toolchain cache)"
    )]
    Secret { path: String, secret: String },
    #[error(
        "sandbox allow path {0:?} would expose the whole home directory or filesystem; allow \
         the specific cache directories instead"
    )]
    TooBroad(String),
}

impl Policy {
    /// The default policy: sandbox on, network `none`, the default toolchain caches.
    pub fn new(workspace: &Path) -> Policy {
        let home = home_dir();
        let read_only = DEFAULT_ALLOW_PATHS
            .iter()
            .map(|p| expand(p, home.as_deref()))
            .collect();
        Policy {
            mode: Mode::On,
            workspace: canonical(workspace),
            network: Network::None,
            read_only,
            home,
        }
    }

    /// Applies the operator's settings and the Agent's `spec.sandbox`: the config's network
    /// wins over the Agent's; the Agent's allow paths are added to the config's.
    pub fn resolve(
        workspace: &Path,
        settings: &Settings,
        agent: Option<&AgentSandbox>,
    ) -> Result<Policy, PolicyError> {
        Policy::resolve_with_home(workspace, settings, agent, home_dir())
    }

    /// [`Policy::resolve`] with the HOME to hide and to expand `~/` against (tests).
    pub fn resolve_with_home(
        workspace: &Path,
        settings: &Settings,
        agent: Option<&AgentSandbox>,
        home: Option<PathBuf>,
    ) -> Result<Policy, PolicyError> {
        let network = settings
            .network
            .or(agent.and_then(|a| a.network))
            .unwrap_or_default();
        let agent_paths = agent.and_then(|a| a.allow_paths.as_deref()).unwrap_or(&[]);
        let mut read_only = Vec::new();
        for raw in settings.allow_paths.iter().chain(agent_paths) {
            let p = expand(raw, home.as_deref());
            check_allowed(raw, &p, home.as_deref())?;
            if !read_only.contains(&p) {
                read_only.push(p);
            }
        }
        Ok(Policy {
            mode: settings.mode,
            workspace: canonical(workspace),
            network,
            read_only,
            home,
        })
    }
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| canonical(b.home_dir()))
}

/// Symlink-resolved when it exists (mount targets must be real paths), else as given.
pub(crate) fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `~` / `~/x` → under HOME; `.`/`..` applied lexically; anything else as given.
fn expand(raw: &str, home: Option<&Path>) -> PathBuf {
    let raw = raw.trim();
    let p = match (raw.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            h.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(raw),
    };
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn check_allowed(raw: &str, p: &Path, home: Option<&Path>) -> Result<(), PolicyError> {
    if !p.is_absolute() {
        return Err(PolicyError::NotAbsolute(raw.to_string()));
    }
    if p == Path::new("/") || home.is_some_and(|h| h.starts_with(p)) {
        return Err(PolicyError::TooBroad(raw.to_string()));
    }
    let Some(home) = home else { return Ok(()) };
    for secret in SECRET_DIRS {
        let s = home.join(secret);
        if p.starts_with(&s) || s.starts_with(p) {
            return Err(PolicyError::Secret {
                path: raw.to_string(),
                secret: format!("~/{secret}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> Option<PathBuf> {
        Some(PathBuf::from("/home/op"))
    }

    fn agent(network: Option<Network>, paths: &[&str]) -> AgentSandbox {
        AgentSandbox {
            network,
            allow_paths: Some(paths.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn defaults_are_on_none_and_the_toolchain_caches() {
        let p =
            Policy::resolve_with_home(Path::new("/w"), &Settings::default(), None, home()).unwrap();
        assert_eq!(p.mode, Mode::On);
        assert_eq!(p.network, Network::None);
        let want: Vec<PathBuf> = [".cargo", ".rustup", "go", ".cache/pip"]
            .iter()
            .map(|s| PathBuf::from("/home/op").join(s))
            .collect();
        assert_eq!(p.read_only, want);
        assert_eq!(p.home.as_deref(), Some(Path::new("/home/op")));
    }

    #[test]
    fn config_network_beats_the_agent_and_paths_add_up() {
        let a = agent(
            Some(Network::Full),
            &["~/.m2", "/opt/sdk/../sdk2", "~/.cargo"],
        );
        let p = Policy::resolve_with_home(Path::new("/w"), &Settings::default(), Some(&a), home())
            .unwrap();
        assert_eq!(p.network, Network::Full, "the Agent's choice applies");
        assert!(p.read_only.contains(&PathBuf::from("/home/op/.m2")));
        assert!(p.read_only.contains(&PathBuf::from("/opt/sdk2")));
        assert_eq!(
            p.read_only.len(),
            6,
            "~/.cargo is listed once: {:?}",
            p.read_only
        );
        let s = Settings {
            network: Some(Network::Loopback),
            allow_paths: vec![],
            ..Settings::default()
        };
        let p = Policy::resolve_with_home(Path::new("/w"), &s, Some(&a), home()).unwrap();
        assert_eq!(p.network, Network::Loopback, "the operator's override wins");
        assert_eq!(
            p.read_only.len(),
            3,
            "an empty config list drops the defaults"
        );
    }

    #[test]
    fn secrets_home_and_relative_paths_are_refused() {
        for (raw, want) in [
            ("~/.config", "~/.config/foreman"),
            ("~/.config/foreman/x", "~/.config/foreman"),
            ("~/.ssh", "~/.ssh"),
            ("/home/op/.aws/creds", "~/.aws"),
            ("~/.cache/../.kube", "~/.kube"),
        ] {
            let a = agent(None, &[raw]);
            let e =
                Policy::resolve_with_home(Path::new("/w"), &Settings::default(), Some(&a), home())
                    .unwrap_err();
            assert_eq!(
                e,
                PolicyError::Secret {
                    path: raw.into(),
                    secret: want.into()
                }
            );
        }
        for raw in ["~", "/", "/home", "~/"] {
            let a = agent(None, &[raw]);
            let e =
                Policy::resolve_with_home(Path::new("/w"), &Settings::default(), Some(&a), home());
            assert_eq!(e, Err(PolicyError::TooBroad(raw.into())), "{raw}");
        }
        let a = agent(None, &["relative/dir"]);
        let e = Policy::resolve_with_home(Path::new("/w"), &Settings::default(), Some(&a), home());
        assert_eq!(e, Err(PolicyError::NotAbsolute("relative/dir".into())));
        assert!(e.unwrap_err().to_string().contains("absolute"));
    }

    #[test]
    fn mode_parses_on_and_off() {
        assert_eq!("off".parse::<Mode>(), Ok(Mode::Off));
        assert_eq!(" ON ".parse::<Mode>(), Ok(Mode::On));
        assert!("maybe".parse::<Mode>().is_err());
    }
}
