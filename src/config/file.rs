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
    keymap: Option<BTreeMap<String, Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSandbox {
    mode: Option<crate::sandbox::Mode>,
    network: Option<crate::sandbox::Network>,
    allow_paths: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInference {
    base_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    remote_url: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    dir: Option<String>,
    state_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    max_concurrent: Option<Spanned<i64>>,
    auto_push: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitHub {
    api_base: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUi {
    theme: Option<String>,
    bell: Option<Bell>,
    mouse: Option<bool>,
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
/// defaults); `None` accepts any (used for the defaults themselves).
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
    let mut layer = ConfigLayer::default();
    if let Some(i) = raw.inference {
        layer.inference_base_url = i.base_url;
    }
    if let Some(g) = raw.git {
        layer.git_remote_url = g.remote_url;
        layer.git_author_name = g.author_name;
        layer.git_author_email = g.author_email;
    }
    if let Some(w) = raw.workspace {
        layer.workspace_dir = w.dir.as_deref().map(expand_home);
        layer.state_dir = w.state_dir.as_deref().map(expand_home);
    }
    if let Some(x) = raw.executor {
        if let Some(n) = x.max_concurrent {
            let v = *n.get_ref();
            layer.max_concurrent = Some(
                usize::try_from(v)
                    .ok()
                    .filter(|v| (1..=64).contains(v))
                    .ok_or_else(|| ConfigError::BadValue {
                        path: path.into(),
                        line: line_col(src, n.span().start).0,
                        key: "executor.max_concurrent".into(),
                        reason: format!("{v} is out of range; use 1 to 64"),
                    })?,
            );
        }
        layer.auto_push = x.auto_push;
    }
    if let Some(g) = raw.github {
        layer.github_api_base = g.api_base;
    }
    if let Some(u) = raw.ui {
        layer.theme = u.theme;
        layer.bell = u.bell;
        layer.mouse = u.mouse;
    }
    if let Some(x) = raw.sandbox {
        layer.sandbox_mode = x.mode;
        layer.sandbox_network = x.network;
        layer.sandbox_allow_paths = x.allow_paths;
    }
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
