//! The command line as a user sees it: `foreman --help`, `-h`, `--version` and the help of
//! every subcommand, pinned byte for byte, so reorganising src/cli provably changes no flag,
//! default or help text. The binary is run (not just the clap types rendered), so the Go-style
//! `-flag` rewriting in front of clap is covered too.

use clap::CommandFactory;
use foreman::cli::Cli;
use std::process::Command;

/// Every environment variable a flag reads: clap shows a set one's value in the help, so the
/// child runs without them (and without forced colour).
fn flag_env_vars() -> Vec<String> {
    let root = Cli::command();
    let mut cmds = vec![&root];
    cmds.extend(root.get_subcommands());
    let mut vars: Vec<String> = cmds
        .iter()
        .flat_map(|c| c.get_arguments())
        .filter_map(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    vars.extend(["CLICOLOR_FORCE", "CLICOLOR", "NO_COLOR"].map(String::from));
    vars.sort();
    vars.dedup();
    vars
}

/// `foreman ARGS…`: the exit code and stdout, with stderr appended when there is any.
fn foreman(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.args(args);
    for v in flag_env_vars() {
        cmd.env_remove(v);
    }
    let out = cmd.output().expect("foreman runs");
    let mut s = format!(
        "$ foreman {} (exit {})\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    );
    if !out.stderr.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    s
}

#[test]
fn top_level_help_and_version() {
    let out = [
        foreman(&["--help"]),
        foreman(&["-h"]),
        foreman(&["--version"]),
    ]
    .join("\n");
    insta::assert_snapshot!("foreman", out);
}

#[test]
fn every_subcommand_help() {
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    // The subcommand list itself is pinned too (a dropped one would leave a stale snapshot).
    insta::assert_snapshot!("subcommands", names.join("\n"));
    for name in &names {
        let out = [foreman(&[name, "--help"]), foreman(&[name, "-h"])].join("\n");
        insta::assert_snapshot!(format!("sub_{name}"), out);
    }
    // Nested ones (`foreman agent install-service`).
    for sub in Cli::command().get_subcommands() {
        for nested in sub.get_subcommands() {
            let (a, b) = (sub.get_name(), nested.get_name());
            let out = [foreman(&[a, b, "--help"]), foreman(&[a, b, "-h"])].join("\n");
            insta::assert_snapshot!(format!("sub_{a}_{b}"), out);
        }
    }
}

#[test]
fn go_style_flags_reach_the_same_help() {
    // `foreman agent -help` is how a Go flag user asks; it is rewritten to `--help`.
    let go = foreman(&["agent", "-help"]);
    let gnu = foreman(&["agent", "--help"]);
    assert_eq!(
        go.split_once('\n').map(|(_, rest)| rest),
        gnu.split_once('\n').map(|(_, rest)| rest)
    );
    assert!(gnu.contains("--fleet-node-name"), "{gnu}");
}

#[test]
fn each_subcommand_help_lists_only_what_applies_to_it() {
    let console_only = [
        "--theme",
        "--submit",
        "--auto-push",
        "--max-concurrent",
        "--kubeconfig",
    ];
    for sub in [
        "run",
        "doctor",
        "get",
        "validate",
        "crds",
        "push",
        "completions",
        "man",
    ] {
        let help = foreman(&[sub, "--help"]);
        for flag in console_only {
            if sub == "run" && flag == "--kubeconfig" {
                continue;
            }
            assert!(!help.contains(flag), "{sub} --help lists {flag}:\n{help}");
        }
    }
    // One name per setting: the canonical one is what help shows (upstream's Go name for the
    // agent as a visible alias).
    let agent = foreman(&["agent", "--help"]);
    assert!(agent.contains("--inference-base-url <URL>"), "{agent}");
    assert!(agent.contains("inference-base-url-override"), "{agent}");
    assert!(
        !agent.contains("--theme") && !agent.contains("--submit"),
        "{agent}"
    );
    let run = foreman(&["run", "--help"]);
    assert!(
        run.contains("--inference-base-url <URL>") && !run.contains("--base-url"),
        "{run}"
    );
}
