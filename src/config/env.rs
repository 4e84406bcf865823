//! The `FOREMAN_*` environment as a config layer: one variable per setting, a bad value
//! skipped with a warning that names it (the file's and the flags' layers are elsewhere).

use super::{Bell, ConfigError, ConfigLayer, ConfigWarning, MAX_TOOL_CALLS_LIMIT, file};
use crate::sandbox::{Mode as SandboxMode, Network as SandboxNetwork};

/// Environment variables and the settings they set.
pub const ENV_VARS: [&str; 15] = [
    "FOREMAN_INFERENCE_BASE_URL",
    "FOREMAN_GIT_REMOTE_URL",
    "FOREMAN_GIT_AUTHOR_NAME",
    "FOREMAN_GIT_AUTHOR_EMAIL",
    "FOREMAN_WORKSPACE_DIR",
    "FOREMAN_STATE_DIR",
    "FOREMAN_MAX_CONCURRENT",
    "FOREMAN_AUTO_PUSH",
    "FOREMAN_MAX_TOOL_CALLS_PER_TURN",
    "FOREMAN_GITHUB_API_BASE",
    "FOREMAN_THEME",
    "FOREMAN_BELL",
    "FOREMAN_MOUSE",
    "FOREMAN_SANDBOX",
    "FOREMAN_SANDBOX_NETWORK",
];

/// The `FOREMAN_*` variables as a layer; a bad value is skipped with a warning.
pub(super) fn env_layer(
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<ConfigWarning>,
) -> ConfigLayer {
    let mut l = ConfigLayer::default();
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let mut bad = |var: &str, value: &str, reason: &str| {
        warnings.push(ConfigWarning {
            error: ConfigError::BadEnv {
                var: var.into(),
                value: value.into(),
                reason: reason.into(),
            },
            fallback: "ignored this variable",
        })
    };
    let parse_bool = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    };
    l.inference_base_url = get("FOREMAN_INFERENCE_BASE_URL");
    l.git_remote_url = get("FOREMAN_GIT_REMOTE_URL");
    l.git_author_name = get("FOREMAN_GIT_AUTHOR_NAME");
    l.git_author_email = get("FOREMAN_GIT_AUTHOR_EMAIL");
    l.workspace_dir = get("FOREMAN_WORKSPACE_DIR").map(|v| file::expand_home(&v));
    l.state_dir = get("FOREMAN_STATE_DIR").map(|v| file::expand_home(&v));
    l.github_api_base = get("FOREMAN_GITHUB_API_BASE");
    l.theme = get("FOREMAN_THEME");
    if let Some(v) = get("FOREMAN_MAX_CONCURRENT") {
        match v.trim().parse::<usize>() {
            Ok(n) if (1..=64).contains(&n) => l.max_concurrent = Some(n),
            _ => bad(
                "FOREMAN_MAX_CONCURRENT",
                &v,
                "expected a number from 1 to 64",
            ),
        }
    }
    if let Some(v) = get("FOREMAN_MAX_TOOL_CALLS_PER_TURN") {
        match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_TOOL_CALLS_LIMIT).contains(&n) => l.max_tool_calls_per_turn = Some(n),
            _ => bad(
                "FOREMAN_MAX_TOOL_CALLS_PER_TURN",
                &v,
                "expected a number from 1 to 1024",
            ),
        }
    }
    for (var, slot) in [
        ("FOREMAN_AUTO_PUSH", &mut l.auto_push),
        ("FOREMAN_MOUSE", &mut l.mouse),
    ] {
        if let Some(v) = get(var) {
            match parse_bool(&v) {
                Some(b) => *slot = Some(b),
                None => bad(var, &v, "expected true or false"),
            }
        }
    }
    if let Some(v) = get("FOREMAN_SANDBOX") {
        match v.parse::<SandboxMode>() {
            Ok(m) => l.sandbox_mode = Some(m),
            Err(reason) => bad("FOREMAN_SANDBOX", &v, &reason),
        }
    }
    if let Some(v) = get("FOREMAN_SANDBOX_NETWORK") {
        match v.parse::<SandboxNetwork>() {
            Ok(n) => l.sandbox_network = Some(n),
            Err(reason) => bad("FOREMAN_SANDBOX_NETWORK", &v, &reason),
        }
    }
    if let Some(v) = get("FOREMAN_BELL") {
        match v.parse::<Bell>() {
            Ok(b) => l.bell = Some(b),
            Err(reason) => bad("FOREMAN_BELL", &v, &reason),
        }
    }
    l
}
