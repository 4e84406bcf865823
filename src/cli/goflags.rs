//! Go `flag`-package spellings for the daemons upstream ships as Go binaries (`foreman agent`
//! for foreman-agent, `foreman scheduler` next to it), so upstream's launchd/systemd units and
//! Helm chart arguments work unchanged: `-flag` and `--flag`, `-flag=value` and `-flag value`,
//! booleans as bare `-flag`, `-flag=true` or `-flag=false` (Go's `strconv.ParseBool` words).
//!
//! The rewrite into clap's spelling needs to know which flags take a value, because Go gives
//! the next argument to a value flag even when it starts with `-`, and never to a boolean.
//! That is read from the clap command itself, so the flag list lives once: a flag declared as
//! [`go_bool`] (0 or 1 values, `=` required) is a boolean, any other flag with a value takes
//! the next argument.

use clap::Command;
use std::ffi::OsString;

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid boolean {s:?}: use true or false")),
    }
}

/// How a long flag of `cmd` reads its value.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// Never takes the next argument (Go bool, or a clap flag without a value).
    Bool,
    /// Takes `=value` or the next argument.
    Value,
    /// Not a flag of this command: left for clap to report.
    Unknown,
}

fn kind(cmd: &Command, name: &str) -> Kind {
    if matches!(name, "help" | "version") {
        return Kind::Bool;
    }
    let Some(arg) = cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|v| v.contains(&name))
    }) else {
        return Kind::Unknown;
    };
    let optional_value = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
    if !arg.get_action().takes_values() || optional_value {
        Kind::Bool
    } else {
        Kind::Value
    }
}

/// `args` (the subcommand's name first) in clap's spelling: every flag as `--name` or
/// `--name=value`. Like Go, parsing stops at `--` or at the first argument that is not a flag;
/// the rest is passed on untouched.
pub fn normalize(cmd: &Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    out.extend(it.next());
    while let Some(a) = it.next() {
        let Some(s) = a.to_str() else {
            out.push(a);
            break;
        };
        let body = s.strip_prefix("--").or_else(|| s.strip_prefix('-'));
        let Some(body) = body.filter(|b| !b.is_empty() && !b.starts_with('-')) else {
            // `--` ends the flags (and is dropped, as Go does); `-` or a word is an argument.
            if s != "--" {
                out.push(a);
            }
            break;
        };
        if body == "h" {
            out.push("--help".into());
            continue;
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (body, None),
        };
        match (kind(cmd, name), value) {
            (_, Some(v)) => out.push(format!("--{name}={v}").into()),
            (Kind::Value, None) => match it.next() {
                Some(v) => {
                    let mut flag = OsString::from(format!("--{name}="));
                    flag.push(v);
                    out.push(flag);
                }
                // Missing value: let clap say so.
                None => out.push(format!("--{name}").into()),
            },
            (Kind::Bool | Kind::Unknown, None) => out.push(format!("--{name}").into()),
        }
    }
    out.extend(it);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{AgentOnly, SchedulerOnly};
    use clap::{CommandFactory, Parser};

    fn argv(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn agent(v: &[&str]) -> Result<crate::cli::AgentArgs, String> {
        let norm = normalize(&AgentOnly::command(), argv(v));
        AgentOnly::try_parse_from(norm)
            .map(|a| a.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn go_bool_words_are_strconv_parsebools() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Ok(false), "{f}");
        }
        assert!(parse_go_bool("yes").is_err());
        assert!(parse_go_bool("").is_err());
    }

    /// Every spelling Go's flag package takes, for a value flag and a boolean, parses to the
    /// same value.
    #[test]
    fn every_go_spelling_of_a_value_flag_and_a_bool() {
        let value_spellings: [&[&str]; 4] = [
            &["agent", "-fleet-node-name", "m1"],
            &["agent", "--fleet-node-name", "m1"],
            &["agent", "-fleet-node-name=m1"],
            &["agent", "--fleet-node-name=m1"],
        ];
        for v in value_spellings {
            let a = agent(v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            assert_eq!(a.fleet_node_name.as_deref(), Some("m1"), "{v:?}");
        }
        let bools: [(&[&str], bool); 9] = [
            (&["agent"], false),
            (&["agent", "-keep-workspace"], true),
            (&["agent", "--keep-workspace"], true),
            (&["agent", "-keep-workspace=true"], true),
            (&["agent", "--keep-workspace=true"], true),
            (&["agent", "-keep-workspace=false"], false),
            (&["agent", "--keep-workspace=false"], false),
            (&["agent", "-keep-workspace=1"], true),
            (&["agent", "-keep-workspace=F"], false),
        ];
        for (v, want) in bools {
            let a = agent(v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            assert_eq!(a.keep_workspace, want, "{v:?}");
        }
        // `-self-update` defaults to true upstream; `=false` turns it off.
        assert!(agent(&["agent"]).unwrap().self_update);
        assert!(!agent(&["agent", "-self-update=false"]).unwrap().self_update);
        assert!(agent(&["agent", "-keep-workspace=maybe"]).is_err());
    }

    #[test]
    fn a_value_flag_takes_the_next_argument_even_when_it_looks_like_a_flag() {
        let a = agent(&[
            "agent",
            "-task-namespace",
            "",
            "-roles",
            "-odd-",
            "-keep-workspace",
        ])
        .unwrap();
        assert_eq!(a.task_namespace, "");
        assert_eq!(a.roles, "-odd-");
        assert!(a.keep_workspace);
        // A boolean never takes the next argument: Go stops at `false`, clap refuses it.
        assert!(agent(&["agent", "-keep-workspace", "false"]).is_err());
    }

    #[test]
    fn unknown_flags_and_the_end_of_flags() {
        let e = agent(&["agent", "-no-such-flag=1"]).unwrap_err();
        assert!(e.contains("--no-such-flag"), "{e}");
        let norm = normalize(
            &AgentOnly::command(),
            argv(&["agent", "-roles=a", "--", "-x"]),
        );
        assert_eq!(norm, argv(&["agent", "--roles=a", "-x"]));
    }

    /// Every flag of upstream's cmd/foreman-agent at P550 (43516088) and HEAD (907ac8d8),
    /// controller-runtime's `-kubeconfig` and zap flags included, in Go's single-dash
    /// `-flag=value` spelling (booleans bare), parses.
    #[test]
    fn every_upstream_agent_flag_parses() {
        let p550 = [
            "-fleet-node-name=m5-max",
            "-tailscale-addr=100.64.0.1",
            "-kube-context=prod",
            "-kubeconfig=/etc/kube/config",
            "-workspace-dir=/tmp/ws",
            "-opencode-bin=/usr/bin/opencode",
            "-roles=worker,verifier",
            "-accelerator=metal",
            "-installed-models=a,b",
            "-heartbeat-interval=30s",
            "-task-poll-interval=5s",
            "-task-namespace=default",
            "-stub-sleep=10s",
            "-max-context-tokens=131072",
            "-tokens-per-second=40",
            "-total-ram-gb=128",
            "-agent-mode=native",
            "-git-remote-url=https://github.com/me/fork.git",
            "-inference-base-url-override=http://127.0.0.1:8080/v1",
            "-inference-base-url-host-override=10.0.0.2",
            "-commit-author-name=Foreman Bot",
            "-commit-author-email=bot@example.com",
            "-keep-workspace",
            "-foreman-namespace=foreman-system",
            "-zap-devel",
            "-zap-encoder=json",
            "-zap-log-level=info",
            "-zap-stacktrace-level=error",
            "-zap-time-encoding=iso8601",
        ];
        let head = [
            "-node-labels=pool=a",
            "-commit-committer-name=Foreman Bot",
            "-commit-committer-email=bot@example.com",
            "-gate-cache-pvc=gate-cache",
            "-coder-git-secret=foreman-github",
            "-coder-git-secret-key=GITHUB_TOKEN",
            "-self-update=false",
            "-install-root=/opt/foreman-agent",
        ];
        let mut v = vec!["agent"];
        v.extend(p550);
        v.extend(head);
        let a = agent(&v).unwrap();
        assert_eq!(a.fleet_node_name.as_deref(), Some("m5-max"));
        assert_eq!(a.total_ram_gb, 128);
        assert_eq!(a.commit_author_name, "Foreman Bot");
        assert!(a.keep_workspace && !a.self_update);
        assert_eq!(a.coder_git_secret, "foreman-github");
        // The same with double dashes and separate values.
        let mut spaced = vec!["agent".to_owned()];
        for f in p550.iter().chain(head.iter()) {
            match f.split_once('=') {
                Some((n, val)) if n != "-self-update" => {
                    spaced.push(format!("-{n}"));
                    spaced.push(val.to_owned());
                }
                _ => spaced.push(format!("-{f}")),
            }
        }
        let spaced: Vec<&str> = spaced.iter().map(String::as_str).collect();
        assert_eq!(agent(&spaced).unwrap().fleet_node_name, a.fleet_node_name);
    }

    #[test]
    fn the_scheduler_takes_go_spellings_too() {
        let norm = normalize(
            &SchedulerOnly::command(),
            argv(&[
                "scheduler",
                "-task-namespace",
                "team-a",
                "-once",
                "-no-stale-marking=true",
            ]),
        );
        let s = SchedulerOnly::try_parse_from(norm).unwrap().args;
        assert_eq!(s.task_namespace, "team-a");
        assert!(s.once && s.no_stale_marking);
    }
}
