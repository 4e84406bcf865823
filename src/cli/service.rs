//! `foreman agent install-service FLAGS…` / `uninstall-service`: run the worker daemon under
//! the user's service manager (a launchd LaunchAgent on macOS, a systemd user unit on Linux),
//! started at login and restarted on every exit. The files come from `k8s::worker::service`;
//! this writes them and loads them (`launchctl bootstrap gui/UID`, `systemctl --user`).

use super::common::{Exit, bad_input, failed};
use super::{AgentArgs, InstallServiceArgs};
use crate::k8s::worker::service::{
    LAUNCHD_LABEL, SYSTEMD_UNIT, ServiceSpec, launchd_plist, service_env, systemd_unit,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which service manager, and where its file goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manager {
    /// `~/Library/LaunchAgents/<label>.plist`, loaded into `gui/<uid>`.
    Launchd { dir: PathBuf, uid: u32 },
    /// `~/.config/systemd/user/<unit>` (`$XDG_CONFIG_HOME/systemd/user`).
    Systemd { dir: PathBuf },
}

/// The service's file for `name` (a label or a unit name).
pub fn file_of(m: &Manager, name: &str) -> PathBuf {
    match m {
        Manager::Launchd { dir, .. } => dir.join(format!("{name}.plist")),
        Manager::Systemd { dir } => dir.join(name),
    }
}

/// The commands that load the written file: launchd's job is booted out first (a reinstall
/// with new flags), enabled (it may have been disabled) and bootstrapped, which starts it
/// (RunAtLoad); systemd reloads, enables and starts it, restarting it on a reinstall.
pub fn load_steps(m: &Manager, name: &str, reinstall: bool) -> Vec<Vec<String>> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match m {
        Manager::Launchd { uid, .. } => {
            let job = format!("gui/{uid}/{name}");
            let file = file_of(m, name).display().to_string();
            vec![
                owned(&["launchctl", "enable", &job]),
                owned(&["launchctl", "bootstrap", &format!("gui/{uid}"), &file]),
            ]
        }
        Manager::Systemd { .. } => {
            let mut steps = vec![
                owned(&["systemctl", "--user", "daemon-reload"]),
                owned(&["systemctl", "--user", "enable", "--now", name]),
            ];
            if reinstall {
                steps.push(owned(&["systemctl", "--user", "restart", name]));
            }
            steps
        }
    }
}

/// The commands that stop and unload the service (before its file is removed); they may
/// fail when it is not loaded, which is fine.
pub fn unload_steps(m: &Manager, name: &str) -> Vec<Vec<String>> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match m {
        Manager::Launchd { uid, .. } => {
            vec![owned(&[
                "launchctl",
                "bootout",
                &format!("gui/{uid}/{name}"),
            ])]
        }
        Manager::Systemd { .. } => {
            vec![owned(&["systemctl", "--user", "disable", "--now", name])]
        }
    }
}

/// Runs one step; `Err` names the command and what it printed.
pub fn run_step(step: &[String]) -> Result<(), String> {
    let out = Command::new(&step[0])
        .args(&step[1..])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", step[0]))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{}` failed ({}): {}",
        step.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Writes the service file (owner-only: it names the fork and the author) and loads it.
pub fn install(m: &Manager, name: &str, text: &str) -> Result<PathBuf, String> {
    let file = file_of(m, name);
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let reinstall = file.exists();
    if reinstall && matches!(m, Manager::Launchd { .. }) {
        // A loaded job keeps its old flags until booted out.
        for step in unload_steps(m, name) {
            let _ = run_step(&step);
        }
    }
    write_private(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    for step in load_steps(m, name, reinstall) {
        run_step(&step)
            .map_err(|e| format!("wrote {} but could not start it: {e}", file.display()))?;
    }
    Ok(file)
}

/// Stops the service and removes its file; `Ok(None)` when there was none.
pub fn uninstall(m: &Manager, name: &str) -> Result<Option<PathBuf>, String> {
    let file = file_of(m, name);
    if !file.exists() {
        return Ok(None);
    }
    for step in unload_steps(m, name) {
        let _ = run_step(&step);
    }
    std::fs::remove_file(&file).map_err(|e| format!("cannot remove {}: {e}", file.display()))?;
    if matches!(m, Manager::Systemd { .. }) {
        run_step(&["systemctl", "--user", "daemon-reload"].map(String::from))?;
    }
    Ok(Some(file))
}

fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(text.as_bytes())
}

/// This user's id, for launchd's `gui/<uid>` domain.
#[allow(unsafe_code)] // getuid has no safe std equivalent; it has no preconditions and cannot fail
fn uid() -> u32 {
    unsafe { libc::getuid() }
}

fn home() -> Result<PathBuf, String> {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .ok_or_else(|| "no home directory: set HOME".to_string())
}

/// This platform's manager with its default directory, and the service's name.
fn this_manager(home: &Path) -> (Manager, &'static str) {
    if cfg!(target_os = "macos") {
        let dir = home.join("Library/LaunchAgents");
        (Manager::Launchd { dir, uid: uid() }, LAUNCHD_LABEL)
    } else {
        let config = std::env::var("XDG_CONFIG_HOME")
            .ok()
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".config"));
        let dir = config.join("systemd/user");
        (Manager::Systemd { dir }, SYSTEMD_UNIT)
    }
}

/// The flags checked as `foreman agent` would check them, with the values it would take from
/// `$FLEET_NODE_NAME`, `$FOREMAN_GIT_REMOTE_URL` and `$FOREMAN_GIT_AUTHOR_EMAIL` made flags
/// (the service does not inherit this shell), and relative paths refused.
pub fn service_flags(flags: &[String], args: &AgentArgs) -> Result<Vec<String>, String> {
    for w in super::agent::check_flags(args)? {
        errln!("warning: {w}");
    }
    let mut out = flags.to_vec();
    let given = |flag: &str| {
        flags
            .iter()
            .any(|f| f == flag || f.starts_with(&format!("{flag}=")))
    };
    let from_env = [
        ("--fleet-node-name", &args.fleet_node_name),
        ("--git-remote-url", &args.git_remote_url),
        ("--commit-author-email", &args.commit_author_email),
    ];
    for (flag, value) in from_env {
        if let Some(v) = value.as_ref().filter(|_| !given(flag)) {
            out.extend([flag.to_string(), v.clone()]);
        }
    }
    for (flag, path) in [
        ("--kubeconfig", &args.kubeconfig),
        ("--workspace-dir", &args.workspace_dir),
    ] {
        if path.as_ref().is_some_and(|p| p.is_relative()) {
            return Err(format!(
                "{flag} must be an absolute path: the service does not run in this directory"
            ));
        }
    }
    Ok(out)
}

/// The flags after `install-service`, parsed as `foreman agent` parses its own.
fn parse_agent_flags(flags: &[String]) -> Result<AgentArgs, String> {
    #[derive(clap::Parser)]
    #[command(name = "foreman agent install-service")]
    struct Flags {
        #[command(flatten)]
        agent: AgentArgs,
    }
    use clap::Parser;
    Flags::try_parse_from(
        std::iter::once("install-service").chain(flags.iter().map(|s| s.as_str())),
    )
    .map(|f| f.agent)
    .map_err(|e| {
        e.to_string()
            .trim_start_matches("error: ")
            .trim()
            .to_string()
    })
}

/// `foreman agent install-service`.
pub fn install_service(a: InstallServiceArgs) -> Exit {
    let flags = match parse_agent_flags(&a.flags).and_then(|args| service_flags(&a.flags, &args)) {
        Ok(f) => f,
        Err(e) => return bad_input(e),
    };
    let (home, program) = match (home(), std::env::current_exe()) {
        (Ok(h), Ok(p)) => (h, p),
        (Err(e), _) => return failed(e),
        (_, Err(e)) => return failed(format!("cannot tell where this binary is: {e}")),
    };
    let (manager, name) = this_manager(&home);
    let spec = ServiceSpec {
        name: name.into(),
        program,
        args: std::iter::once("agent".to_string()).chain(flags).collect(),
        env: service_env(&|k| std::env::var(k).ok()),
        working_dir: home.clone(),
        log_file: home.join("Library/Logs/foreman-agent.log"),
    };
    let text = match &manager {
        Manager::Launchd { .. } => match launchd_plist(&spec) {
            Ok(t) => t,
            Err(e) => return failed(e),
        },
        Manager::Systemd { .. } => systemd_unit(&spec),
    };
    if a.print {
        out!("{text}");
        return Exit::Ok;
    }
    warn_about_upstream(&manager);
    if let Manager::Launchd { .. } = manager {
        let _ = std::fs::create_dir_all(home.join("Library/Logs"));
    }
    match install(&manager, name, &text) {
        Ok(file) => {
            errln!("installed and started {}", file.display());
            match manager {
                Manager::Launchd { .. } => errln!("log: {}", spec.log_file.display()),
                Manager::Systemd { .. } => errln!("log: journalctl --user -u {name} -f"),
            }
            if !crate::workspace::token_file_path().is_some_and(|p| p.exists()) {
                errln!(
                    "note: the service reads the GitHub token from ~/.config/foreman/github-token \
                     (this shell's GITHUB_TOKEN is not copied); write it there (chmod 600)"
                );
            }
            Exit::Ok
        }
        Err(e) => failed(e),
    }
}

/// Upstream's agent installed too would register and heartbeat the same node.
fn warn_about_upstream(m: &Manager) {
    let upstream = match m {
        Manager::Launchd { dir, .. } => dir.join("com.llmkube.foreman-agent.plist"),
        Manager::Systemd { dir } => dir.join("llmkube-foreman-agent.service"),
    };
    if upstream.exists() {
        errln!(
            "warning: upstream's foreman-agent is installed too ({}); two agents on one node \
             fight over its FleetNode: uninstall one",
            upstream.display()
        );
    }
}

/// `foreman agent uninstall-service`.
pub fn uninstall_service() -> Exit {
    let home = match home() {
        Ok(h) => h,
        Err(e) => return failed(e),
    };
    let (manager, name) = this_manager(&home);
    match uninstall(&manager, name) {
        Ok(Some(file)) => {
            errln!("stopped and removed {}", file.display());
            Exit::Ok
        }
        Ok(None) => {
            errln!(
                "no service installed ({} is absent)",
                file_of(&manager, name).display()
            );
            Exit::Ok
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_flags_are_checked_like_the_agents_and_env_values_become_flags() {
        let native = strings(&["--git-remote-url", "https://x/y.git", "--roles=worker"]);
        // Native mode without an author: accepted, as `foreman agent` starts (and warns).
        let mut args = parse_agent_flags(&native).unwrap();
        args.commit_author_email = None;
        assert_eq!(service_flags(&native, &args).unwrap(), native);
        assert!(
            super::super::agent::check_flags(&args).unwrap()[0].contains("--commit-author-email")
        );
        // An author from $FOREMAN_GIT_AUTHOR_EMAIL is written as a flag; given flags stay as given.
        args.commit_author_email = Some("ann@example.com".into());
        assert_eq!(
            service_flags(&native, &args).unwrap(),
            strings(&[
                "--git-remote-url",
                "https://x/y.git",
                "--roles=worker",
                "--commit-author-email",
                "ann@example.com"
            ])
        );
        let stub = strings(&["--agent-mode=stub", "--kubeconfig", "kc"]);
        let args = parse_agent_flags(&stub).unwrap();
        assert!(
            service_flags(&stub, &args)
                .unwrap_err()
                .contains("--kubeconfig must be an absolute")
        );
        let e = parse_agent_flags(&strings(&["--no-such-flag"]))
            .err()
            .unwrap();
        assert!(e.contains("--no-such-flag"), "{e}");
    }

    fn words(steps: Vec<Vec<String>>) -> Vec<String> {
        steps.into_iter().map(|s| s.join(" ")).collect()
    }

    #[test]
    fn launchd_loads_into_the_gui_domain_of_the_user() {
        let m = Manager::Launchd {
            dir: "/Users/ann/Library/LaunchAgents".into(),
            uid: 501,
        };
        assert_eq!(
            file_of(&m, LAUNCHD_LABEL),
            PathBuf::from("/Users/ann/Library/LaunchAgents/dev.llmkube.foreman-agent.plist")
        );
        assert_eq!(
            words(load_steps(&m, LAUNCHD_LABEL, false)),
            [
                "launchctl enable gui/501/dev.llmkube.foreman-agent",
                "launchctl bootstrap gui/501 \
                 /Users/ann/Library/LaunchAgents/dev.llmkube.foreman-agent.plist",
            ]
        );
        assert_eq!(
            words(unload_steps(&m, LAUNCHD_LABEL)),
            ["launchctl bootout gui/501/dev.llmkube.foreman-agent"]
        );
    }

    #[test]
    fn systemd_reloads_enables_and_starts_and_restarts_a_reinstall() {
        let m = Manager::Systemd {
            dir: "/home/ann/.config/systemd/user".into(),
        };
        assert_eq!(
            file_of(&m, SYSTEMD_UNIT),
            PathBuf::from("/home/ann/.config/systemd/user/foreman-agent.service")
        );
        assert_eq!(
            words(load_steps(&m, SYSTEMD_UNIT, false)),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable --now foreman-agent.service",
            ]
        );
        assert_eq!(
            words(load_steps(&m, SYSTEMD_UNIT, true)).last().unwrap(),
            "systemctl --user restart foreman-agent.service"
        );
        assert_eq!(
            words(unload_steps(&m, SYSTEMD_UNIT)),
            ["systemctl --user disable --now foreman-agent.service"]
        );
    }
}
