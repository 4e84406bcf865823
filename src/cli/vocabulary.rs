//! One flag vocabulary: a setting that the console, `foreman run` and `foreman agent` all take
//! has one canonical name everywhere, and each older or upstream spelling still works as an
//! alias (upstream's Go names for `agent` shown in its help). This table pins it.

use super::{AgentOnly, Cli, Command, goflags};
use clap::{CommandFactory, Parser};
use std::ffi::OsString;

/// Canonical name and every alias, per setting.
const VOCABULARY: &[(&str, &[&str])] = &[
    (
        "inference-base-url",
        &["inference-url", "base-url", "inference-base-url-override"],
    ),
    ("git-remote-url", &["remote"]),
    ("commit-author-email", &["author-email"]),
];

/// Where each alias is accepted: the console's top level, `run` and `agent`.
fn commands() -> Vec<(&'static str, clap::Command)> {
    let root = Cli::command();
    let run = root.find_subcommand("run").unwrap().clone();
    vec![
        ("console", root),
        ("run", run),
        ("agent", AgentOnly::command()),
    ]
}

#[test]
fn each_setting_has_one_canonical_name_in_console_run_and_agent() {
    for (canonical, aliases) in VOCABULARY {
        for (who, cmd) in commands() {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(canonical))
                .unwrap_or_else(|| panic!("{who}: no --{canonical}"));
            let known = arg.get_all_aliases().unwrap_or_default();
            for a in *aliases {
                // Upstream's agent-only name is the one alias the others need not take.
                if *a == "inference-base-url-override" && who != "agent" {
                    continue;
                }
                assert!(
                    known.contains(a),
                    "{who}: --{a} is not an alias of --{canonical}"
                );
            }
        }
    }
}

fn value_of(who: &str, flag: &str, v: &str) -> Option<String> {
    let s = |x: &str| OsString::from(x);
    match who {
        "console" => {
            let cli = Cli::try_parse_from([s("foreman"), s(&format!("--{flag}")), s(v)]).ok()?;
            let c = cli.console;
            [c.base_url, c.git_remote_url, c.commit_author_email]
                .into_iter()
                .flatten()
                .next()
        }
        "run" => {
            let argv = ["foreman", "run", "--task", "t", "--agent", "a"];
            let mut argv: Vec<OsString> = argv.into_iter().map(s).collect();
            argv.extend([s(&format!("--{flag}")), s(v)]);
            if flag != "commit-author-email" && flag != "author-email" {
                argv.extend([s("--commit-author-email"), s("x@y")]);
            }
            let Some(Command::Run(r)) = Cli::try_parse_from(argv).ok()?.command else {
                return None;
            };
            [
                Some(r.base_url),
                r.git_remote_url,
                Some(r.commit_author_email),
            ]
            .into_iter()
            .flatten()
            .find(|x| x == v)
        }
        _ => {
            // Go's single-dash spelling, through the same rewriting `foreman agent` uses.
            let argv = vec![s("agent"), s(&format!("-{flag}")), s(v)];
            let norm = goflags::normalize(&AgentOnly::command(), argv);
            let a = AgentOnly::try_parse_from(norm).ok()?.args;
            [
                a.inference_base_url_override,
                a.git_remote_url,
                a.commit_author_email,
            ]
            .into_iter()
            .flatten()
            .next()
        }
    }
}

#[test]
fn every_spelling_sets_the_same_setting() {
    // Unset defaults that would mask the parsed value.
    for var in ["FOREMAN_GIT_REMOTE_URL", "FOREMAN_GIT_AUTHOR_EMAIL"] {
        assert!(std::env::var_os(var).is_none(), "run without {var}");
    }
    for (canonical, aliases) in VOCABULARY {
        for flag in std::iter::once(canonical).chain(aliases.iter()) {
            for who in ["console", "run", "agent"] {
                if *flag == "inference-base-url-override" && who != "agent" {
                    continue;
                }
                let v = format!("v-{flag}");
                assert_eq!(value_of(who, flag, &v), Some(v.clone()), "{who} --{flag}");
            }
        }
    }
}
