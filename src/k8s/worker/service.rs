//! The worker daemon under the user's service manager, as the runbook runs upstream's agent:
//! a launchd LaunchAgent on macOS, a systemd user unit on Linux. Both restart it on every
//! exit (upstream's agent exits 0 to restart onto a new binary and expects its supervisor to
//! bring it back) and start it at login. Pure generators; `cli::service` writes and loads them.
//!
//! The GitHub token is never written into either: the agent reads it at start from
//! `~/.config/foreman/github-token` (or `$GITHUB_TOKEN`), so only [`service_env`]'s
//! variables are copied from the installing shell.

use std::path::PathBuf;

/// The LaunchAgent's label (and plist file name); upstream's is `com.llmkube.foreman-agent`,
/// so both can be told apart.
pub const LAUNCHD_LABEL: &str = "dev.llmkube.foreman-agent";
/// The systemd user unit's name; upstream's is `llmkube-foreman-agent.service`.
pub const SYSTEMD_UNIT: &str = "foreman-agent.service";

/// What the service runs and where it logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The launchd label or systemd unit name.
    pub name: String,
    /// Absolute path of the `foreman` binary.
    pub program: PathBuf,
    /// Its arguments: `agent` and the agent's flags.
    pub args: Vec<String>,
    /// Environment for the daemon (see [`service_env`]).
    pub env: Vec<(String, String)>,
    /// The user's home directory, launchd's working directory (systemd's is `%h`, the same).
    pub working_dir: PathBuf,
    /// launchd's stdout and stderr file (`~/Library/Logs/foreman-agent.log`); systemd logs
    /// to the journal.
    pub log_file: PathBuf,
}

/// The variables copied from the installing shell: `PATH` (git, the sandbox, the model's
/// tools), `KUBECONFIG` and `RUST_LOG`. Nothing else, so no token or secret is written down.
pub fn service_env(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    ["PATH", "KUBECONFIG", "RUST_LOG"]
        .into_iter()
        .filter_map(|k| {
            let v = lookup(k).filter(|v| !v.is_empty())?;
            Some((k.to_string(), v))
        })
        .collect()
}

/// The LaunchAgent plist (`~/Library/LaunchAgents/<label>.plist`): RunAtLoad and KeepAlive
/// (relaunch on any exit), upstream's 30 s ThrottleInterval against a tight crash loop.
pub fn launchd_plist(spec: &ServiceSpec) -> Result<String, String> {
    use plist::{Dictionary, Value};
    let s = |v: &str| Value::String(v.to_string());
    let path = |p: &std::path::Path| Value::String(p.display().to_string());
    let mut program = vec![path(&spec.program)];
    program.extend(spec.args.iter().map(|a| s(a)));
    let env: Dictionary = spec.env.iter().map(|(k, v)| (k.clone(), s(v))).collect();
    let mut d = Dictionary::new();
    d.insert("Label".into(), s(&spec.name));
    d.insert("ProgramArguments".into(), Value::Array(program));
    d.insert("EnvironmentVariables".into(), Value::Dictionary(env));
    d.insert("WorkingDirectory".into(), path(&spec.working_dir));
    d.insert("RunAtLoad".into(), Value::Boolean(true));
    d.insert("KeepAlive".into(), Value::Boolean(true));
    d.insert("ThrottleInterval".into(), Value::Integer(30.into()));
    d.insert("StandardOutPath".into(), path(&spec.log_file));
    d.insert("StandardErrorPath".into(), path(&spec.log_file));
    let mut out = Vec::new();
    Value::Dictionary(d)
        .to_writer_xml(&mut out)
        .map_err(|e| format!("cannot write the LaunchAgent plist: {e}"))?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push('\n');
    Ok(text)
}

/// The systemd user unit (`~/.config/systemd/user/<name>`): Restart=always like upstream's
/// unit, output to the journal (`journalctl --user -u foreman-agent`), started at login.
pub fn systemd_unit(spec: &ServiceSpec) -> String {
    let mut exec = vec![systemd_quote(&spec.program.display().to_string(), true)];
    exec.extend(spec.args.iter().map(|a| systemd_quote(a, true)));
    let env: String = spec
        .env
        .iter()
        .map(|(k, v)| {
            format!(
                "Environment={}\n",
                systemd_quote(&format!("{k}={v}"), false)
            )
        })
        .collect();
    format!(
        "# Written by `foreman agent install-service`; `foreman agent uninstall-service` removes it.\n\
         [Unit]\n\
         Description=Foreman agent (LLMKube Foreman worker node)\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         StartLimitIntervalSec=300\n\
         StartLimitBurst=5\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exec}\n\
         WorkingDirectory=%h\n\
         {env}\
         Restart=always\n\
         RestartSec=30\n\
         StandardOutput=journal\n\
         StandardError=journal\n\
         SyslogIdentifier=foreman-agent\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        exec = exec.join(" "),
    )
}

/// One word of a systemd command line (`exec`: `$` is expanded there, so escaped too) or of
/// an `Environment=` setting: `%` escaped (specifiers), double-quoted when it holds a space,
/// quote, backslash or nothing.
fn systemd_quote(word: &str, exec: bool) -> String {
    let escaped = word.replace('%', "%%");
    let escaped = if exec {
        escaped.replace('$', "$$")
    } else {
        escaped
    };
    let plain = !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return escaped;
    }
    let inner = escaped
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{inner}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, home: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            program: format!("{home}/.cargo/bin/foreman").into(),
            args: [
                "agent",
                "--git-remote-url",
                "https://github.com/acme/fleet.git",
                "--commit-author-email",
                "ann@example.com",
                "--installed-models",
                "qwen3-coder-30b,gemma-3-27b",
                "--node-labels",
                "pool=studio",
            ]
            .map(String::from)
            .into(),
            env: vec![
                ("PATH".into(), "/opt/homebrew/bin:/usr/bin:/bin".into()),
                ("KUBECONFIG".into(), format!("{home}/.kube/fleet")),
            ],
            working_dir: home.into(),
            log_file: format!("{home}/Library/Logs/foreman-agent.log").into(),
        }
    }

    #[test]
    fn the_launch_agent_plist() {
        insta::assert_snapshot!(launchd_plist(&spec(LAUNCHD_LABEL, "/Users/ann")).unwrap());
    }

    #[test]
    fn the_systemd_user_unit() {
        insta::assert_snapshot!(systemd_unit(&spec(SYSTEMD_UNIT, "/home/ann")));
    }

    #[test]
    fn plist_strings_are_escaped_xml() {
        let mut s = spec(LAUNCHD_LABEL, "/Users/a&b");
        s.args.push("<x>".into());
        let p = launchd_plist(&s).unwrap();
        assert!(
            p.contains("<string>/Users/a&amp;b/.cargo/bin/foreman</string>"),
            "{p}"
        );
        assert!(p.contains("<string>&lt;x&gt;</string>"), "{p}");
        assert!(!p.contains("<x>"), "{p}");
    }

    #[test]
    fn systemd_words_are_quoted_and_escaped() {
        assert_eq!(systemd_quote("--roles=worker", true), "--roles=worker");
        assert_eq!(systemd_quote("", true), "\"\"");
        assert_eq!(
            systemd_quote("/Users/ann/My Tools/foreman", true),
            "\"/Users/ann/My Tools/foreman\""
        );
        assert_eq!(systemd_quote("100%$HOME", true), "100%%$$HOME");
        // Environment= does not expand `$`.
        assert_eq!(systemd_quote("P=$HOME/bin", false), "P=$HOME/bin");
        assert_eq!(systemd_quote("a\"b\\c", true), "\"a\\\"b\\\\c\"");
        let mut s = spec(SYSTEMD_UNIT, "/home/ann");
        s.args.extend(["--task-namespace".into(), String::new()]);
        assert!(systemd_unit(&s).contains("--task-namespace \"\"\n"));
    }

    #[test]
    fn only_path_kubeconfig_and_rust_log_are_copied_never_the_token() {
        let shell = |k: &str| match k {
            "PATH" => Some("/usr/bin".to_string()),
            "GITHUB_TOKEN" => Some("ghp_secret".to_string()),
            "RUST_LOG" => Some(String::new()),
            _ => None,
        };
        let env = service_env(&shell);
        assert_eq!(env, vec![("PATH".to_string(), "/usr/bin".to_string())]);
        let mut s = spec(LAUNCHD_LABEL, "/Users/ann");
        s.env = env;
        for text in [launchd_plist(&s).unwrap(), systemd_unit(&s)] {
            assert!(!text.contains("ghp_secret") && !text.contains("GITHUB_TOKEN"));
        }
    }
}
