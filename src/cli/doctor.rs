//! `foreman doctor`: checks each dependency and says how to fix what fails.
//! Required: state dir writable, the sandbox usable (or deliberately off, shown as a warning),
//! inference server reachable and doing tool calls, token present, git remote reachable with
//! the token. Each check has a time limit.

use super::ConsoleArgs;
use super::common::{Exit, settings_checked};
use crate::api::ToolProtocol;
use crate::config::{Config, ConfigError, ConfigWarning};
use crate::oai::{Client, ClientConfig, Message, ToolSpec};
use crate::workspace::{AuthError, Token};
use std::path::Path;
use std::time::Duration;

struct Check {
    name: &'static str,
    ok: bool,
    /// Works, but the operator should know (shown with `!`, not counted as a failure).
    warn: bool,
    detail: String,
    fix: Option<String>,
}

fn pass(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok: true,
        warn: false,
        detail: detail.into(),
        fix: None,
    }
}
fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok: false,
        warn: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// The run bounds an Agent may leave to the operator (issue 9 §4): always a pass, so the
/// operator sees the cap that applies and where to change it.
fn tool_calls(e: &crate::config::ExecutorSettings) -> Check {
    pass(
        "tool calls",
        format!(
            "at most {} per model reply run, the rest answered with an error \
             ([executor] max_tool_calls_per_turn; an Agent's maxToolCallsPerTurn wins)",
            e.max_tool_calls_per_turn
        ),
    )
}

/// Works / what is missing / deliberately off.
fn sandbox(settings: &crate::sandbox::Settings) -> Check {
    use crate::sandbox::Status;
    let network = settings.network.map_or_else(
        || "each Agent's network (default none)".to_string(),
        |n| format!("network {} for every Agent", n.as_str()),
    );
    match crate::sandbox::status(settings.mode) {
        Status::Ready(how) => pass("sandbox", format!("{how}; {network}")),
        Status::Off => Check {
            warn: true,
            ..pass(
                "sandbox",
                "OFF: the model's commands and the commit hooks run unconfined, with your \
                 rights ([sandbox] mode = \"off\")",
            )
        },
        Status::Unavailable(why) => fail(
            "sandbox",
            why,
            "fix the above, or set [sandbox] mode = \"off\" in ~/.config/foreman/config.toml \
             to run the model's commands unconfined",
        ),
    }
}

pub async fn doctor(args: &ConsoleArgs) -> Exit {
    let (cfg, warnings) = settings_checked(args);
    let token = crate::workspace::resolve_token();
    let checks = [
        config_file(&cfg, &warnings),
        node(),
        state_dir(&cfg.workspace.state_dir),
        sandbox(&cfg.sandbox),
        tool_calls(&cfg.executor),
        inference(&cfg.inference.base_url).await,
        token_found(&token),
        git_remote(cfg.git.remote_url.as_deref(), token.ok()).await,
    ];
    let mut bad = 0;
    for c in &checks {
        let mark = match (c.ok, c.warn) {
            (true, true) => "!",
            (true, false) => "✓",
            (false, _) => "✗",
        };
        outln!("{mark} {:<11} {}", c.name, c.detail);
        if let Some(f) = &c.fix {
            outln!("  → {f}");
            bad += 1;
        }
    }
    if bad == 0 { Exit::Ok } else { Exit::Failed }
}

/// Which config file is in use (or where one would be read), and that it parsed without a
/// warning; a file read from the old location works but is shown with `!` and where to move it.
fn config_file(cfg: &Config, warnings: &[ConfigWarning]) -> Check {
    let old = warnings.iter().find_map(|w| match &w.error {
        ConfigError::OldLocation { old, home } => Some((old, home)),
        _ => None,
    });
    let problem = warnings
        .iter()
        .find(|w| !matches!(w.error, ConfigError::OldLocation { .. }));
    if let Some(w) = problem {
        return fail(
            "config",
            w.to_string(),
            "fix the file named above (config/default.toml documents every field)",
        );
    }
    if let Some((old, home)) = old {
        return Check {
            warn: true,
            ..pass(
                "config",
                format!(
                    "{} (the old location; move it to {})",
                    old.display(),
                    home.display()
                ),
            )
        };
    }
    let detail = match &cfg.user_file {
        Some(p) => p.display().to_string(),
        None => crate::config::paths::Locations::from_env(&|k| std::env::var(k).ok())
            .find("config.toml")
            .map_or("defaults (no home directory)".into(), |f| {
                format!("defaults (no {})", f.path().display())
            }),
    };
    pass("config", detail)
}

/// This machine as a FleetNode: the name (`$FLEET_NODE_NAME`, else the sanitized host name)
/// and the memory it would advertise. Informational: it never fails.
fn node() -> Check {
    use crate::fleet::host;
    let name = host::local_node_name(std::env::var("FLEET_NODE_NAME").ok().as_deref());
    let gib = |g: Option<i32>| g.map_or("?".to_string(), |g| g.to_string());
    let (total, avail) = host::probe_memory();
    let acc = serde_json::to_value(host::probe_accelerator())
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    pass(
        "node",
        format!(
            "{name} (host {:?}) · RAM {} GiB, {} available · {acc}",
            host::hostname(),
            gib(total),
            gib(avail)
        ),
    )
}

/// The state directory exists (or can be made) and takes a file.
fn state_dir(state: &Path) -> Check {
    let probe = state.join(".doctor-probe");
    let writable = std::fs::create_dir_all(state)
        .and_then(|()| std::fs::write(&probe, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    match writable {
        Ok(()) => pass("state dir", state.display().to_string()),
        Err(e) => fail(
            "state dir",
            format!("{}: {e}", state.display()),
            "pass --state-dir DIR or set FOREMAN_STATE_DIR to a writable directory",
        ),
    }
}

/// A GitHub token is found (the push and the pull request need it).
fn token_found(token: &Result<Token, AuthError>) -> Check {
    match token {
        Ok(_) => pass(
            "token",
            "found (GITHUB_TOKEN or ~/.config/foreman/github-token)",
        ),
        Err(e) => fail(
            "token",
            e.to_string(),
            "export GITHUB_TOKEN=… or write it to ~/.config/foreman/github-token (chmod 600)",
        ),
    }
}

/// The remote answers `ls-remote` with the token within 20 s.
async fn git_remote(remote: Option<&str>, token: Option<Token>) -> Check {
    let Some(url) = remote else {
        return fail(
            "git remote",
            "not configured",
            "set git.remote_url in ~/.config/foreman/config.toml or pass --remote URL",
        );
    };
    let owned = url.to_string();
    let res = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || crate::workspace::ls_remote(&owned, token.as_ref())),
    )
    .await;
    let shown = crate::workspace::auth::redact_url(url);
    match res {
        Ok(Ok(Ok(heads))) => pass("git remote", format!("{shown}: {} branches", heads.len())),
        Ok(Ok(Err(e))) => fail(
            "git remote",
            e.to_string(),
            "check the URL and that the token can read (and push to) the repository",
        ),
        Ok(Err(e)) => fail("git remote", e.to_string(), "internal error; see the log"),
        Err(_) => fail(
            "git remote",
            format!("{shown}: no answer within 20 s"),
            "check the URL and your network",
        ),
    }
}

/// Reachable, and does it produce a tool call (OpenAI tools, else grammar-constrained)?
async fn inference(base: &str) -> Check {
    let ping = ToolSpec::function(
        "ping",
        "Reply to the operator's ping.",
        serde_json::json!({"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false}),
    );
    let messages = [
        Message::system("You are a tool-calling agent. Always answer with a tool call."),
        Message::user("Call the ping tool with text \"hello\"."),
    ];
    let mut results = Vec::new();
    for protocol in [ToolProtocol::OpenaiTools, ToolProtocol::JsonSchema] {
        let mut cfg = ClientConfig::new(base, "");
        cfg.protocol = protocol;
        cfg.max_retries = 0;
        cfg.header_timeout = Duration::from_secs(30);
        cfg.max_tokens = Some(64);
        cfg.temperature = Some(0.0);
        let client = match Client::new(cfg) {
            Ok(c) => c,
            Err(e) => {
                return fail(
                    "inference",
                    e.to_string(),
                    "pass --inference-url http://HOST:PORT/v1",
                );
            }
        };
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            client.complete(&messages, std::slice::from_ref(&ping), &mut |_| {}),
        )
        .await;
        match r {
            Err(_) => {
                return fail(
                    "inference",
                    format!("{base}: no answer within 60 s"),
                    "is the model loaded? check the server's log",
                );
            }
            Ok(Err(e)) if results.is_empty() => {
                return fail(
                    "inference",
                    e.to_string(),
                    "start llama.cpp (llama-server --jinja -m MODEL --port 8080) or pass --inference-url",
                );
            }
            Ok(Err(e)) => results.push((protocol, Err(e.to_string()))),
            Ok(Ok(c)) => results.push((
                protocol,
                Ok(c.message
                    .tool_calls()
                    .iter()
                    .any(|t| t.function.name == "ping")),
            )),
        }
    }
    let tools_ok = matches!(results.first(), Some((_, Ok(true))));
    let grammar_ok = matches!(results.get(1), Some((_, Ok(true))));
    tool_call_verdict(base, tools_ok, grammar_ok)
}

/// A reachable server: which ways of calling tools work, and what to set when only the
/// grammar-constrained one does.
fn tool_call_verdict(base: &str, tools_ok: bool, grammar_ok: bool) -> Check {
    match (tools_ok, grammar_ok) {
        (true, _) => pass(
            "inference",
            format!(
                "{base}: tool calls work (OpenAI tools{})",
                if grammar_ok { " and json-schema" } else { "" }
            ),
        ),
        (false, true) => pass(
            "inference",
            format!(
                "{base}: tool calls work only grammar-constrained: set `toolProtocol: json-schema` on your Agents"
            ),
        ),
        (false, false) => fail(
            "inference",
            format!("{base}: reachable, but the model made no tool call"),
            "start llama.cpp with --jinja and a tool-capable chat template, or use `toolProtocol: json-schema`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn cfg_from(file: Option<&str>) -> Config {
        let mut w = Vec::new();
        let mut c = Config::defaults(&mut w);
        c.user_file = file.map(PathBuf::from);
        c
    }

    #[test]
    fn the_config_line_names_the_file_in_use_and_an_old_location() {
        let c = config_file(&cfg_from(Some("/h/.config/foreman/config.toml")), &[]);
        assert!(c.ok && !c.warn);
        assert_eq!(c.detail, "/h/.config/foreman/config.toml");

        let old = ConfigWarning {
            error: ConfigError::OldLocation {
                old: "/h/Library/Application Support/foreman/config.toml".into(),
                home: "/h/.config/foreman/config.toml".into(),
            },
            fallback: "read it from there",
        };
        let c = config_file(
            &cfg_from(Some("/h/Library/Application Support/foreman/config.toml")),
            std::slice::from_ref(&old),
        );
        assert!(c.ok && c.warn && c.fix.is_none());
        assert_eq!(
            c.detail,
            "/h/Library/Application Support/foreman/config.toml (the old location; move it to \
             /h/.config/foreman/config.toml)"
        );

        // A real problem outranks the notice.
        let bad = ConfigWarning {
            error: ConfigError::KeyConflict {
                key: "a".into(),
                actions: vec!["x".into(), "y".into()],
            },
            fallback: "only the first fires",
        };
        let c = config_file(&cfg_from(None), &[old, bad]);
        assert!(!c.ok);
        assert!(c.detail.contains("key a is bound"), "{}", c.detail);
    }
}
