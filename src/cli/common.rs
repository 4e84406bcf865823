//! What several subcommands share: exit codes, effective settings from the console flags,
//! connecting to a cluster (and saying what to do when that fails), duration flags, default
//! paths and the FleetNode name of this machine.

use super::ConsoleArgs;
use crate::config::{Config, ConfigLayer, ConfigWarning};
use crate::k8s::{Cluster, ClusterArgs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// How a subcommand ends: the exit codes scripts rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The work itself failed (executor, cluster, terminal, a failed doctor check).
    Failed = 1,
    /// Bad input: manifests, flags, files.
    BadInput = 2,
    /// Stopped by Ctrl-C (the shell's 128 + SIGINT).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// `error: MSG` on stderr, exit [`Exit::Failed`].
pub fn failed(msg: impl std::fmt::Display) -> Exit {
    errln!("error: {msg}");
    Exit::Failed
}

/// `error: MSG` on stderr, exit [`Exit::BadInput`].
pub fn bad_input(msg: impl std::fmt::Display) -> Exit {
    errln!("error: {msg}");
    Exit::BadInput
}

/// Effective settings: defaults ← user file ← env ← flags. Warnings go to the status line.
pub fn settings(args: &ConsoleArgs) -> (Config, Vec<String>) {
    let (cfg, warnings) = settings_checked(args);
    (cfg, warnings.iter().map(|w| w.to_string()).collect())
}

/// [`settings`] with the warnings as values (the doctor tells a notice from a problem).
pub fn settings_checked(args: &ConsoleArgs) -> (Config, Vec<ConfigWarning>) {
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
        sandbox_mode: no_sandbox(args.no_sandbox),
        ..Default::default()
    };
    cfg.merge_overrides(&layer);
    (cfg, warnings)
}

/// `--no-sandbox` as a config layer's sandbox mode (it beats the file and the environment).
fn no_sandbox(flag: bool) -> Option<crate::sandbox::Mode> {
    flag.then_some(crate::sandbox::Mode::Off)
}

/// What `foreman run` and `foreman agent` read from the config (nothing else).
pub struct RunSettings {
    /// The `[sandbox]` table and `FOREMAN_SANDBOX*`, then `--no-sandbox`.
    pub sandbox: crate::sandbox::Settings,
    /// The `[executor]` defaults for what an Agent leaves unset.
    pub agent_defaults: crate::config::AgentDefaults,
    /// `[github] api_base`: where an empty issue prompt is read from (#571).
    pub github_api_base: String,
}

/// The config's [`RunSettings`], its warnings printed.
pub fn run_settings(no_sandbox_flag: bool) -> RunSettings {
    let (mut cfg, warnings) = Config::load();
    for w in &warnings {
        errln!("warning: {w}");
    }
    cfg.merge_overrides(&ConfigLayer {
        sandbox_mode: no_sandbox(no_sandbox_flag),
        ..Default::default()
    });
    RunSettings {
        agent_defaults: cfg.executor.agent_defaults(),
        sandbox: cfg.sandbox,
        github_api_base: cfg.github.api_base,
    }
}

/// Whether the console flags ask for a cluster instead of the local state directory.
pub fn cluster_selected(args: &ConsoleArgs) -> bool {
    args.cluster
        || args.kubeconfig.is_some()
        || args.context.is_some()
        || args.namespace.is_some()
        || args.all_namespaces
}

/// The console's connection (console, `submit`): kubectl's lookup order, then a check that the
/// cluster serves the Foreman CRDs, so a wrong cluster is refused before anything starts.
pub async fn connect_cluster(args: &ConsoleArgs) -> Result<Cluster, String> {
    let cargs = ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
    };
    let mut cluster = crate::k8s::connect(&cargs)
        .await
        .map_err(|e| e.to_string())?;
    if args.all_namespaces {
        cluster.namespace = String::new();
    }
    crate::backend::cluster::probe(&cluster)
        .await
        .map_err(|e| format!("{e} (cluster from {})", cluster.source))?;
    Ok(cluster)
}

/// A daemon's connection (the worker of `foreman agent`, the scheduler); on failure says why
/// (and what to pass) on stderr and gives [`Exit::Failed`].
pub async fn connect_or_say(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
) -> Result<Cluster, Exit> {
    crate::k8s::connect(&ClusterArgs {
        kubeconfig,
        context,
        namespace: None,
    })
    .await
    .map_err(failed)
}

/// Ctrl-C or SIGTERM (what `kubectl delete pod` and systemd send): when a daemon stops.
/// Without a SIGTERM handler, Ctrl-C alone.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Go's `time.ParseDuration` syntax, as upstream foreman-agent's flags take it: `30s`, `1m30s`,
/// `500ms`, `1.5h`, `0`; a unit is required on every number.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: use e.g. 30s, 1m30s, 500ms");
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// A whole number with an optional `ms`, `s` or `m` (a bare number is seconds), at least
/// 100ms: `10`, `10s`, `500ms`, `2m`. The scheduler's own flags, where a Go spelling buys
/// nothing and a too-short resync would hammer the apiserver.
pub fn parse_whole_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 10s, 500ms, 1m)"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("invalid duration {s:?} (use e.g. 10s, 500ms, 1m)")),
    };
    if d < Duration::from_millis(100) {
        return Err(format!("duration {s:?} is too short (minimum 100ms)"));
    }
    Ok(d)
}

/// `~/foreman-workspaces`: where `run` and the worker (`foreman agent`) clone when no flag says.
pub fn default_workspace_root() -> PathBuf {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().join("foreman-workspaces"))
        .unwrap_or_else(|| PathBuf::from("foreman-workspaces"))
}

/// Writes to stdout; a closed pipe (the reader went away: `| head -1`) ends the process at
/// once with status 0 and no message, since nothing more can be delivered. Any other write
/// error is reported on stderr once and ends it with [`Exit::Failed`].
pub fn write_out(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            write_err(format_args!("error: cannot write to stdout: {e}\n"));
            std::process::exit(Exit::Failed as i32);
        }
        std::process::exit(0);
    }
}

/// Writes to stderr, dropping the message if it cannot be written (a daemon whose log pipe
/// closed keeps running).
pub fn write_err(args: std::fmt::Arguments) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_fmt(args);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("foreman").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn no_sandbox_is_global_and_reaches_the_runs_and_the_console() {
        let run = |args: &[&str]| match crate::cli::with_global_flags(parse(args)).command {
            Some(Command::Run(a)) => a.no_sandbox,
            Some(Command::Agent(a)) => a.args.no_sandbox,
            other => panic!("{other:?}"),
        };
        let task = [
            "run",
            "--task",
            "t.yaml",
            "--agent",
            "a.yaml",
            "--commit-author-email",
            "b@x",
        ];
        assert!(!run(&task));
        assert!(run(&[&task[..], &["--no-sandbox"]].concat()));
        assert!(run(&[&["--no-sandbox"], &task[..]].concat()));
        assert!(run(&["agent", "--no-sandbox"]));
        assert!(!run(&["agent"]));
        assert_eq!(no_sandbox(true), Some(crate::sandbox::Mode::Off));
        assert_eq!(
            no_sandbox(false),
            None,
            "without the flag the config decides"
        );
    }

    #[test]
    fn exit_codes_are_the_documented_numbers() {
        let codes = [Exit::Ok, Exit::Failed, Exit::BadInput, Exit::Interrupted].map(|e| e as u8);
        assert_eq!(codes, [0, 1, 2, 130]);
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert!(parse_go_duration("30").is_err());
        assert!(parse_go_duration("5x").is_err());
    }

    #[test]
    fn whole_durations() {
        assert_eq!(parse_whole_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_whole_duration("10s").unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            parse_whole_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_whole_duration("2m").unwrap(),
            Duration::from_secs(120)
        );
        for bad in ["", "s", "10h", "-1s", "5ms", "1.5s"] {
            assert!(parse_whole_duration(bad).is_err(), "{bad}");
        }
    }

    /// The two parsers differ on purpose: `foreman agent` takes upstream's Go spellings,
    /// `foreman scheduler` bare seconds with a floor. Pinned so nobody "unifies" one into the
    /// other by accident.
    #[test]
    fn the_two_duration_syntaxes_differ_where_intended() {
        // A bare number: seconds for the scheduler, an error in Go.
        assert!(parse_go_duration("10").is_err());
        assert_eq!(parse_whole_duration("10"), Ok(Duration::from_secs(10)));
        // Fractions, hours and compound spellings: Go only.
        for go_only in ["1.5s", "2h", "1m30s"] {
            assert!(parse_go_duration(go_only).is_ok(), "{go_only}");
            assert!(parse_whole_duration(go_only).is_err(), "{go_only}");
        }
        // Below 100ms: fine for Go (and "0" is zero), refused for the scheduler.
        assert_eq!(parse_go_duration("5ms"), Ok(Duration::from_millis(5)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_whole_duration("5ms").is_err());
        assert!(parse_whole_duration("0").is_err());
    }

    #[test]
    fn cluster_flags_select_the_cluster_backend_without_clashing_with_run() {
        assert!(!cluster_selected(&parse(&[]).console));
        for flags in [
            &["--cluster"][..],
            &["--kubeconfig", "/k"],
            &["--context", "prod"],
            &["--namespace", "team"],
            &["-n", "team"],
            &["-A"],
        ] {
            assert!(cluster_selected(&parse(flags).console), "{flags:?}");
        }
        let cli = parse(&["--namespace", "team", "--context", "prod"]);
        assert_eq!(cli.console.namespace.as_deref(), Some("team"));
        assert_eq!(cli.console.context.as_deref(), Some("prod"));
        assert!(Cli::try_parse_from(["foreman", "-n", "a", "-A"]).is_err());
        // `foreman run --namespace` keeps its own meaning.
        let cli = parse(&[
            "run",
            "--task",
            "t.yaml",
            "--agent",
            "a.yaml",
            "--commit-author-email",
            "a@b.c",
            "--namespace",
            "ops",
        ]);
        let Some(Command::Run(run)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.namespace, "ops");
        assert!(!cluster_selected(&cli.console));
        // Cluster flags go before a subcommand.
        let cli = parse(&["--namespace", "team", "submit", "x.yaml"]);
        assert!(cluster_selected(&cli.console));
    }
}
