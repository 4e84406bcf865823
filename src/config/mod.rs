//! The console's settings, layered (later wins): built-in `config/default.toml` ← the user's
//! file (`~/.config/foreman/config.toml`, or `$FOREMAN_CONFIG`) ← `FOREMAN_*` environment
//! variables ← command-line flags (`Config::merge_overrides`).
//!
//! Loading never refuses to start (kdash pattern): a broken user file or env value is skipped
//! and reported as a `ConfigWarning` for the status line; `check_file` is the strict variant.

mod env;
mod file;
mod keys;
pub mod paths;
pub use env::ENV_VARS;
use env::env_layer;
mod scope;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use keys::{KeyBinding, KeyParseError};
pub use scope::Scope;

use crate::sandbox::{Mode as SandboxMode, Network as SandboxNetwork};

/// The built-in defaults, documented for users (`foreman` can print it as a starting point).
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
const DEFAULT_ORIGIN: &str = "built-in config/default.toml";

/// When to ring the terminal bell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bell {
    Off,
    #[default]
    Approval,
    Finish,
    Both,
}

impl Bell {
    /// Ring when a push starts waiting for approval.
    pub fn on_approval(self) -> bool {
        matches!(self, Bell::Approval | Bell::Both)
    }
    /// Ring when a task reaches a terminal phase.
    pub fn on_finish(self) -> bool {
        matches!(self, Bell::Finish | Bell::Both)
    }
}

impl std::str::FromStr for Bell {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Bell::Off),
            "approval" => Ok(Bell::Approval),
            "finish" => Ok(Bell::Finish),
            "both" => Ok(Bell::Both),
            _ => Err("expected off, approval, finish or both".into()),
        }
    }
}

/// A partial set of settings: one file, the environment, or the command-line flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigLayer {
    pub inference_base_url: Option<String>,
    pub git_remote_url: Option<String>,
    pub git_author_name: Option<String>,
    pub git_author_email: Option<String>,
    pub workspace_dir: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub max_concurrent: Option<usize>,
    pub auto_push: Option<bool>,
    /// `[executor] max_tool_calls_per_turn`: the default cap for Agents that set none.
    pub max_tool_calls_per_turn: Option<usize>,
    pub github_api_base: Option<String>,
    pub theme: Option<String>,
    pub bell: Option<Bell>,
    pub mouse: Option<bool>,
    /// `[ui] transcript_budget_mb`: what closed transcripts may hold before the least
    /// recently shown are dropped (reloaded from their journal when selected again).
    pub transcript_budget_mb: Option<usize>,
    pub keymap: BTreeMap<String, KeyBinding>,
    /// `[sandbox] mode`; `--no-sandbox` sets `Off` (wired with the flags).
    pub sandbox_mode: Option<SandboxMode>,
    pub sandbox_network: Option<SandboxNetwork>,
    pub sandbox_allow_paths: Option<Vec<String>>,
    /// `[limits]`: the bounds of one manifest file (one submit).
    pub max_manifest_bytes: Option<usize>,
    pub max_objects: Option<usize>,
}

/// `[limits]`: the bytes and objects one manifest file may hold; YAML's depth and alias budgets
/// stay [`crate::api::Limits`]' own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    pub max_manifest_bytes: usize,
    pub max_objects: usize,
}

impl LimitsConfig {
    /// The loader's bounds with these sizes.
    pub fn manifest(&self) -> crate::api::Limits {
        crate::api::Limits {
            max_bytes: self.max_manifest_bytes,
            max_objects: self.max_objects,
            ..crate::api::Limits::default()
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let l = crate::api::Limits::default();
        LimitsConfig {
            max_manifest_bytes: l.max_bytes,
            max_objects: l.max_objects,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferenceConfig {
    pub base_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitConfig {
    pub remote_url: Option<String>,
    pub author_name: String,
    pub author_email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceConfig {
    /// Explicit workspace dir; see `Config::workspace_dir` for the effective one.
    pub dir: Option<PathBuf>,
    pub state_dir: PathBuf,
}

/// The `[executor]` table: how this machine runs tasks (how many at once, push at once after a
/// GO). What one run needs is `executor::ExecutorConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorSettings {
    pub max_concurrent: usize,
    pub auto_push: bool,
    /// Tool calls of one reply that run when the Agent sets no `maxToolCallsPerTurn`
    /// (issue 9 §4); the rest are answered with an error the model can read.
    pub max_tool_calls_per_turn: usize,
}

impl ExecutorSettings {
    /// What of these settings fills the Agents this machine runs.
    pub fn agent_defaults(&self) -> AgentDefaults {
        AgentDefaults {
            max_tool_calls_per_turn: self.max_tool_calls_per_turn,
        }
    }
}

/// The operator's defaults for fields an Agent may leave unset (config `[executor]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentDefaults {
    pub max_tool_calls_per_turn: usize,
}

impl Default for AgentDefaults {
    fn default() -> Self {
        AgentDefaults {
            max_tool_calls_per_turn: crate::api::DEFAULT_MAX_TOOL_CALLS_PER_TURN,
        }
    }
}

impl AgentDefaults {
    /// Fills the Agent about to run: a field the Agent sets wins. Every executor of this
    /// machine (console, `foreman run`, `foreman agent`) calls this, so the rule lives once.
    pub fn apply_to(&self, agent: &mut crate::api::Agent) {
        let s = &mut agent.spec;
        if s.max_tool_calls_per_turn.is_none_or(|n| n <= 0) {
            s.max_tool_calls_per_turn = i32::try_from(self.max_tool_calls_per_turn).ok();
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubSettings {
    pub api_base: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiConfig {
    pub theme: String,
    pub bell: Bell,
    pub mouse: bool,
    pub transcript_budget_mb: usize,
}

/// Action name → key. The action names are those of the built-in `[keymap]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keymap(BTreeMap<String, KeyBinding>);

impl Keymap {
    /// The key bound to an action (for footer hints and dispatch).
    pub fn get(&self, action: &str) -> Option<KeyBinding> {
        self.0.get(action).copied()
    }

    /// The global action a pressed key triggers, if any (the `?` overlay's movement keys);
    /// the panes and the picker resolve through [`Keymap::action_in`].
    pub fn action_for(
        &self,
        code: crossterm::event::KeyCode,
        modifiers: crossterm::event::KeyModifiers,
    ) -> Option<&str> {
        self.0
            .iter()
            .find(|(a, k)| k.matches(code, modifiers) && Scope::of(a) == Scope::Global)
            .map(|(a, _)| a.as_str())
    }

    /// The action a pressed key triggers where the keys go to `scope` (the focused pane or an
    /// open overlay): an action of that scope, else (outside overlays) a global one.
    pub fn action_in(
        &self,
        code: crossterm::event::KeyCode,
        modifiers: crossterm::event::KeyModifiers,
        scope: Scope,
    ) -> Option<&str> {
        let hits = || {
            self.0
                .iter()
                .filter(|(_, k)| k.matches(code, modifiers))
                .map(|(a, _)| a.as_str())
        };
        hits()
            .find(|a| Scope::of(a) == scope)
            .or_else(|| hits().find(|a| Scope::of(a).overlaps(scope)))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, KeyBinding)> {
        self.0.iter().map(|(a, k)| (a.as_str(), *k))
    }

    /// Keys bound to more than one action whose scopes overlap ([`Scope::overlaps`]): only
    /// one of them would ever fire. One key may serve actions of disjoint scopes.
    pub fn conflicts(&self) -> Vec<(KeyBinding, Vec<String>)> {
        let mut by_key: Vec<(KeyBinding, Vec<String>)> = Vec::new();
        for (a, k) in &self.0 {
            match by_key.iter_mut().find(|(kk, _)| kk == k) {
                Some((_, v)) => v.push(a.clone()),
                None => by_key.push((*k, vec![a.clone()])),
            }
        }
        for (_, v) in &mut by_key {
            let all = v.clone();
            v.retain(|a| {
                all.iter()
                    .any(|b| b != a && Scope::of(a).overlaps(Scope::of(b)))
            });
        }
        by_key.retain(|(_, v)| v.len() > 1);
        by_key
    }
}

/// The effective settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub inference: InferenceConfig,
    pub git: GitConfig,
    pub workspace: WorkspaceConfig,
    pub executor: ExecutorSettings,
    pub github: GitHubSettings,
    pub ui: UiConfig,
    pub keymap: Keymap,
    /// The sandbox around the model's commands (README "Containment").
    pub sandbox: crate::sandbox::Settings,
    /// `[limits]`: what one manifest file (one submit) may hold.
    pub limits: LimitsConfig,
    /// The user file that was applied, if any (shown by an "info" view, like `k9s info`).
    pub user_file: Option<PathBuf>,
}

/// Config problems; each names where (file and line, or variable) and what is accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{path}:{line}: `{key}`: {reason}")]
    BadValue {
        path: String,
        line: usize,
        key: String,
        reason: String,
    },
    #[error("{path}:{line}: [keymap] {action}: {reason}")]
    BadKey {
        path: String,
        line: usize,
        action: String,
        reason: String,
    },
    #[error("{path}:{line}: [keymap] unknown action `{action}`; actions are: {known}")]
    UnknownAction {
        path: String,
        line: usize,
        action: String,
        known: String,
    },
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("${var}={value:?}: {reason}")]
    BadEnv {
        var: String,
        value: String,
        reason: String,
    },
    #[error("key {key} is bound to several actions: {}", actions.join(", "))]
    KeyConflict { key: String, actions: Vec<String> },
    #[error("{} is in the old location; move it to {}", old.display(), home.display())]
    OldLocation { old: PathBuf, home: PathBuf },
}

/// A problem that was worked around at load time; `Display` is a status-line message.
#[derive(Debug)]
pub struct ConfigWarning {
    pub error: ConfigError,
    /// What the console did instead.
    pub fallback: &'static str,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config: {} ({})", self.error, self.fallback)
    }
}

/// The highest `max_tool_calls_per_turn` the file or environment may set.
pub const MAX_TOOL_CALLS_LIMIT: usize = 1024;

/// The one place the app's data and state directories are named (the config home is
/// [`paths`]'s; this type's config dir is only its old location).
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "foreman")
}

impl Config {
    /// Loads every layer from the real environment. Never fails; see the warnings.
    pub fn load() -> (Config, Vec<ConfigWarning>) {
        Config::load_with(&|k| std::env::var(k).ok())
    }

    /// `load` with an injected environment lookup (tests, and `FOREMAN_CONFIG` handling).
    pub fn load_with(env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<ConfigWarning>) {
        Config::load_at(env, &paths::Locations::from_env(env))
    }

    /// `load_with` with injected config locations (tests of the home and its fallback).
    pub fn load_at(
        env: &dyn Fn(&str) -> Option<String>,
        at: &paths::Locations,
    ) -> (Config, Vec<ConfigWarning>) {
        let mut warnings = Vec::new();
        let mut cfg = Config::defaults(&mut warnings);
        let actions: Vec<String> = cfg.keymap.0.keys().cloned().collect();

        let (path, explicit) = match env("FOREMAN_CONFIG").filter(|p| !p.trim().is_empty()) {
            Some(p) => (Some(paths::Found::Home(file::expand_home(p.trim()))), true),
            None => (at.find("config.toml"), false),
        };
        if let Some(paths::Found::Old { old, home }) = &path {
            warnings.push(ConfigWarning {
                error: ConfigError::OldLocation {
                    old: old.clone(),
                    home: home.clone(),
                },
                fallback: "read it from there",
            });
        }
        let path = path.map(|p| p.path().to_path_buf());
        if let Some(path) = path {
            match std::fs::read_to_string(&path) {
                Ok(src) => {
                    match file::parse_layer(&src, &path.display().to_string(), Some(&actions)) {
                        Ok(layer) => {
                            cfg.merge_overrides(&layer);
                            cfg.user_file = Some(path);
                        }
                        Err(error) => warnings.push(ConfigWarning {
                            error,
                            fallback: "ignored this file; using defaults and environment",
                        }),
                    }
                }
                // A missing default-location file is normal; a missing $FOREMAN_CONFIG is not.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {}
                Err(source) => warnings.push(ConfigWarning {
                    error: ConfigError::Io { path, source },
                    fallback: "using defaults and environment",
                }),
            }
        }

        let env_layer = env_layer(env, &mut warnings);
        cfg.merge_overrides(&env_layer);

        for (key, actions) in cfg.keymap.conflicts() {
            warnings.push(ConfigWarning {
                error: ConfigError::KeyConflict {
                    key: key.to_string(),
                    actions,
                },
                fallback: "only the first action in alphabetical order fires",
            });
        }
        (cfg, warnings)
    }

    /// The built-in defaults alone.
    pub fn defaults(warnings: &mut Vec<ConfigWarning>) -> Config {
        let mut cfg = Config::last_resort();
        match file::parse_layer(DEFAULT_TOML, DEFAULT_ORIGIN, None) {
            Ok(layer) => cfg.merge_overrides(&layer),
            Err(error) => warnings.push(ConfigWarning {
                error,
                fallback: "the built-in defaults are broken; using minimal settings",
            }),
        }
        cfg
    }

    /// Used only if the embedded defaults failed to parse (a unit test keeps them valid).
    fn last_resort() -> Config {
        let state_dir = project_dirs()
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".foreman-state"));
        Config {
            inference: InferenceConfig {
                base_url: "http://127.0.0.1:8080/v1".into(),
            },
            git: GitConfig {
                remote_url: None,
                author_name: "Foreman Bot".into(),
                author_email: None,
            },
            workspace: WorkspaceConfig {
                dir: None,
                state_dir,
            },
            executor: ExecutorSettings {
                max_concurrent: 1,
                auto_push: false,
                max_tool_calls_per_turn: crate::api::DEFAULT_MAX_TOOL_CALLS_PER_TURN,
            },
            github: GitHubSettings {
                api_base: "https://api.github.com".into(),
            },
            ui: UiConfig {
                theme: "dark".into(),
                bell: Bell::Approval,
                mouse: false,
                transcript_budget_mb: 256,
            },
            keymap: Keymap::default(),
            sandbox: crate::sandbox::Settings::default(),
            limits: LimitsConfig::default(),
            user_file: None,
        }
    }

    /// `~/.config/foreman/themes` (the config home's, else the old location's), where
    /// `ui.theme = "NAME"` finds `NAME.toml`.
    pub fn themes_dir() -> Option<PathBuf> {
        paths::Locations::from_env(&|k| std::env::var(k).ok())
            .find("themes")
            .map(|f| f.path().to_path_buf())
    }

    /// Strictly parses a user config file (for a "check config" command).
    pub fn check_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut w = Vec::new();
        let actions: Vec<String> = Config::defaults(&mut w).keymap.0.keys().cloned().collect();
        file::parse_layer(&src, &path.display().to_string(), Some(&actions))
    }

    /// Applies a layer on top (the app calls this with its command-line flags last).
    pub fn merge_overrides(&mut self, l: &ConfigLayer) {
        fn set<T: Clone>(dst: &mut T, src: &Option<T>) {
            if let Some(v) = src {
                *dst = v.clone();
            }
        }
        set(&mut self.inference.base_url, &l.inference_base_url);
        if l.git_remote_url.is_some() {
            self.git.remote_url = l.git_remote_url.clone();
        }
        set(&mut self.git.author_name, &l.git_author_name);
        if l.git_author_email.is_some() {
            self.git.author_email = l.git_author_email.clone();
        }
        if l.workspace_dir.is_some() {
            self.workspace.dir = l.workspace_dir.clone();
        }
        set(&mut self.workspace.state_dir, &l.state_dir);
        set(&mut self.executor.max_concurrent, &l.max_concurrent);
        set(&mut self.executor.auto_push, &l.auto_push);
        set(
            &mut self.executor.max_tool_calls_per_turn,
            &l.max_tool_calls_per_turn,
        );
        set(&mut self.github.api_base, &l.github_api_base);
        set(&mut self.ui.theme, &l.theme);
        set(&mut self.ui.bell, &l.bell);
        set(&mut self.ui.mouse, &l.mouse);
        set(&mut self.ui.transcript_budget_mb, &l.transcript_budget_mb);
        for (a, k) in &l.keymap {
            self.keymap.0.insert(a.clone(), *k);
        }
        set(&mut self.sandbox.mode, &l.sandbox_mode);
        if l.sandbox_network.is_some() {
            self.sandbox.network = l.sandbox_network;
        }
        set(&mut self.sandbox.allow_paths, &l.sandbox_allow_paths);
        set(&mut self.limits.max_manifest_bytes, &l.max_manifest_bytes);
        set(&mut self.limits.max_objects, &l.max_objects);
    }

    /// Where workspaces go: `workspace.dir`, else `<state_dir>/workspaces`.
    pub fn workspace_dir(&self) -> PathBuf {
        self.workspace
            .dir
            .clone()
            .unwrap_or_else(|| self.workspace.state_dir.join("workspaces"))
    }
}

#[cfg(test)]
mod tests;
