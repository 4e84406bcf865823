//! One TOML config file → a `ConfigLayer`, strictly: unknown keys, bad values and bad key
//! strings are errors that name the file and line, so a typo never silently does nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::{Bell, ConfigError, ConfigLayer, KeyBinding};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    inference: Option<RawInference>,
    git: Option<RawGit>,
    workspace: Option<RawWorkspace>,
    executor: Option<RawExecutor>,
    github: Option<RawGitHub>,
    ui: Option<RawUi>,
    sandbox: Option<RawSandbox>,
    limits: Option<RawLimits>,
    keymap: Option<BTreeMap<String, Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSandbox {
    mode: Option<crate::sandbox::Mode>,
    network: Option<crate::sandbox::Network>,
    allow_paths: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_manifest_bytes: Option<Spanned<i64>>,
    max_objects: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInference {
    base_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    remote_url: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    dir: Option<String>,
    state_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    max_concurrent: Option<Spanned<i64>>,
    auto_push: Option<bool>,
    max_tool_calls_per_turn: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitHub {
    api_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUi {
    theme: Option<String>,
    bell: Option<Bell>,
    mouse: Option<bool>,
    transcript_budget_mb: Option<Spanned<i64>>,
}

/// 1-based line and column of a byte offset.
pub(super) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset.min(src.len())).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// `~/x` → `$HOME/x`; anything else unchanged.
pub(super) fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(b) = directories::BaseDirs::new()
    {
        return b.home_dir().join(rest);
    }
    PathBuf::from(p)
}

/// Parses one file. `actions` are the keymap action names that exist (those of the built-in
/// defaults); `None` accepts any (used for the defaults themselves). Long because every
/// setting is read here, each named once.
pub(super) fn parse_layer(
    src: &str,
    path: &str,
    actions: Option<&[String]>,
) -> Result<ConfigLayer, ConfigError> {
    let raw: RawFile = toml::from_str(src).map_err(|e: toml::de::Error| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(src, s.start));
        ConfigError::Parse {
            path: path.into(),
            line,
            col,
            message: e.message().trim().to_string(),
        }
    })?;
    let inference = raw.inference.unwrap_or_default();
    let git = raw.git.unwrap_or_default();
    let workspace = raw.workspace.unwrap_or_default();
    let executor = raw.executor.unwrap_or_default();
    let github = raw.github.unwrap_or_default();
    let ui = raw.ui.unwrap_or_default();
    let sandbox = raw.sandbox.unwrap_or_default();
    let limits = raw.limits.unwrap_or_default();
    let ranged = |n: Option<Spanned<i64>>, key: &str, range: std::ops::RangeInclusive<usize>| {
        n.map(|n| {
            let v = *n.get_ref();
            usize::try_from(v)
                .ok()
                .filter(|v| range.contains(v))
                .ok_or_else(|| ConfigError::BadValue {
                    path: path.into(),
                    line: line_col(src, n.span().start).0,
                    key: key.into(),
                    reason: format!(
                        "{v} is out of range; use {} to {}",
                        range.start(),
                        range.end()
                    ),
                })
        })
        .transpose()
    };
    let max_concurrent = ranged(executor.max_concurrent, "executor.max_concurrent", 1..=64)?;
    let max_tool_calls_per_turn = ranged(
        executor.max_tool_calls_per_turn,
        "executor.max_tool_calls_per_turn",
        1..=super::MAX_TOOL_CALLS_LIMIT,
    )?;
    let max_manifest_bytes = ranged(
        limits.max_manifest_bytes,
        "limits.max_manifest_bytes",
        1024..=(256 << 20),
    )?;
    let max_objects = ranged(limits.max_objects, "limits.max_objects", 1..=100_000)?;
    let transcript_budget_mb = ranged(
        ui.transcript_budget_mb,
        "ui.transcript_budget_mb",
        1..=1 << 20,
    )?;
    // Every field named (no `..Default::default()`): a new setting must be read here too.
    let mut layer = ConfigLayer {
        inference_base_url: inference.base_url,
        git_remote_url: git.remote_url,
        git_author_name: git.author_name,
        git_author_email: git.author_email,
        workspace_dir: workspace.dir.as_deref().map(expand_home),
        state_dir: workspace.state_dir.as_deref().map(expand_home),
        max_concurrent,
        auto_push: executor.auto_push,
        max_tool_calls_per_turn,
        github_api_base: github.api_base,
        theme: ui.theme,
        bell: ui.bell,
        mouse: ui.mouse,
        transcript_budget_mb,
        sandbox_mode: sandbox.mode,
        sandbox_network: sandbox.network,
        sandbox_allow_paths: sandbox.allow_paths,
        max_manifest_bytes,
        max_objects,
        keymap: BTreeMap::new(),
    };
    for (action, key) in raw.keymap.unwrap_or_default() {
        let line = line_col(src, key.span().start).0;
        if let Some(known) = actions
            && !known.contains(&action)
        {
            return Err(ConfigError::UnknownAction {
                path: path.into(),
                line,
                action,
                known: known.join(", "),
            });
        }
        let binding: KeyBinding =
            key.get_ref()
                .parse()
                .map_err(|e: super::KeyParseError| ConfigError::BadKey {
                    path: path.into(),
                    line,
                    action: action.clone(),
                    reason: e.0,
                })?;
        layer.keymap.insert(action, binding);
    }
    Ok(layer)
}
