//! `foreman` (no subcommand): the console on the embedded backend; `foreman submit`.

use super::ConsoleArgs;
use crate::app::{self, state::App};
use crate::backend::embedded::{EmbeddedConfig, Store, start_embedded};
use crate::config::{Config, ConfigLayer};
use crate::executor::run::TokenSource;
use crate::ui_theme::Theme;
use crate::workspace::Identity;
use std::path::PathBuf;
use std::process::ExitCode;

/// Effective settings: defaults ← user file ← env ← flags. Warnings go to the status line.
pub fn settings(args: &ConsoleArgs) -> (Config, Vec<String>) {
    let (mut cfg, warnings) = Config::load();
    let layer = ConfigLayer {
        inference_base_url: args.base_url.clone(),
        git_remote_url: args.git_remote_url.clone(),
        git_author_email: args.commit_author_email.clone(),
        state_dir: args.state_dir.clone(),
        max_concurrent: args.max_concurrent,
        auto_push: args.auto_push.then_some(true),
        theme: args.theme.clone(),
        github_api_base: args.github_api_base.clone(),
        ..Default::default()
    };
    cfg.merge_overrides(&layer);
    (cfg, warnings.iter().map(|w| w.to_string()).collect())
}

/// DNS-1123 name of this machine (upstream's FleetNode naming).
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let mut out = String::new();
    for c in host.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    if out.is_empty() {
        "fleetnode".into()
    } else {
        out
    }
}

pub async fn console(args: ConsoleArgs) -> ExitCode {
    let (cfg, mut warnings) = settings(&args);
    let theme = match Theme::load(&cfg.ui.theme, Config::themes_dir().as_deref()) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!("theme: {e} (using the dark theme)"));
            Theme::builtin(crate::ui_theme::DEFAULT_THEME).unwrap_or_else(|_| Theme::plain())
        }
    };
    let email = cfg
        .git
        .author_email
        .clone()
        .unwrap_or_else(|| format!("foreman@{}.local", node_name()));
    let ecfg = EmbeddedConfig {
        state_dir: cfg.workspace.state_dir.clone(),
        base_url: cfg.inference.base_url.clone(),
        git_remote_url: cfg.git.remote_url.clone(),
        identity: Identity {
            name: cfg.git.author_name.clone(),
            email,
        },
        max_concurrent: cfg.executor.max_concurrent.max(1),
        auto_push: cfg.executor.auto_push,
        github_api_base: cfg.github.api_base.clone(),
        token: TokenSource::Lookup,
        node_name: node_name(),
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let backend = match start_embedded(ecfg, tx) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot start the embedded backend: {e}");
            return ExitCode::from(1);
        }
    };
    let label = format!(
        "embedded · state {} · model {} · ? for help",
        cfg.workspace.state_dir.display(),
        cfg.inference.base_url
    );
    let mut app = App::new(theme, cfg.keymap.clone(), cfg.ui.bell, label);
    if let Some(w) = warnings.first() {
        app.say(w.clone(), app::state::Level::Warn);
    }
    for f in &args.submit {
        backend.send(crate::backend::Command::Submit(f.clone()));
    }
    match app::run(app, backend, rx, cfg.ui.mouse).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: terminal: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn submit(args: &ConsoleArgs, files: &[PathBuf]) -> ExitCode {
    let (cfg, _) = settings(args);
    let mut store = match Store::open(&cfg.workspace.state_dir) {
        Ok((s, warnings)) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            s
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut bad = false;
    for f in files {
        match crate::api::load_file(f)
            .map_err(|e| e.to_string())
            .and_then(|objs| store.submit(objs).map_err(|e| e.to_string()))
        {
            Ok(names) => {
                for n in names {
                    println!("{}: submitted task {n}", f.display());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(super::run::EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
