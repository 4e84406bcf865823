//! Linux backend: Debian's bubblewrap (`bwrap`) builds the sandbox from user, PID, mount,
//! IPC, UTS, cgroup and (unless `full`) network namespaces, then installs our seccomp filter.
//!
//! The mount table, in order (later mounts cover earlier ones):
//! system dirs read-only (their symlinks recreated) → entries of `/etc` that other users may
//! not read, covered by empty ones (so `/etc/shadow` stays secret even from uid 0) → fresh
//! `/proc` (this PID namespace only) and minimal `/dev` → the private temp dir on `/tmp` →
//! an empty private HOME over the operator's → the allowed caches read-only → the workspace
//! read-write → its `.git` read-only → the root remounted read-only.

use super::Network;
use super::policy::Policy;
use super::scratch::Scratch;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Host directories every command may read. Missing ones are skipped; symlinks (merged /usr)
/// are recreated as symlinks.
const SYSTEM_DIRS: [&str; 10] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix",
];
/// Depth of the `/etc` scan for entries other users may not read.
const ETC_SCAN_DEPTH: usize = 6;

/// `bwrap` on PATH.
pub(crate) fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("bwrap"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What the probe found out about this machine's bwrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    /// `bubblewrap 0.8.0`.
    pub(crate) version: String,
    /// `--disable-userns` exists (bubblewrap 0.8.0 and later).
    pub(crate) disable_userns: bool,
}

/// Checks that bwrap can create every namespace we use here (user namespaces may be disabled
/// by the kernel, AppArmor or a container runtime).
pub(crate) fn probe(bwrap: &Path) -> Result<Probe, String> {
    let version = std::process::Command::new(bwrap)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bwrap.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let disable_userns = at_least(&version, (0, 8));
    let out = std::process::Command::new(bwrap)
        .args(NAMESPACES)
        .args(disable_userns.then_some("--disable-userns"))
        .args(["--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc"])
        .args(["--", "/bin/sh", "-c", "exit 0"])
        .env_clear()
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bwrap.display()))?;
    if out.status.success() {
        return Ok(Probe {
            version,
            disable_userns,
        });
    }
    Err(format!(
        "bubblewrap cannot create its namespaces here ({}); unprivileged user namespaces may be \
         disabled (sysctl user.max_user_namespaces, or on Ubuntu 24.04+ \
         kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), or \
         the container forbids them",
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Whether `bubblewrap X.Y[.Z]` is at least `min`.
fn at_least(version: &str, min: (u32, u32)) -> bool {
    let mut nums = version
        .split_whitespace()
        .last()
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    (major, minor) >= min
}

/// Namespaces and hardening common to every call.
const NAMESPACES: [&str; 9] = [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
];

/// One system mount: a read-only bind, or a symlink recreated.
#[derive(Debug, Clone)]
enum SysEntry {
    Bind(PathBuf),
    Symlink { target: PathBuf, at: PathBuf },
}

#[derive(Debug)]
struct System {
    entries: Vec<SysEntry>,
    /// (path, is_dir) of `/etc` entries other users may not read.
    masks: Vec<(PathBuf, bool)>,
}

/// The host's system layout, read once per process.
fn system() -> &'static System {
    static SYSTEM: OnceLock<System> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let mut entries = Vec::new();
        for d in SYSTEM_DIRS {
            let p = Path::new(d);
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(p) {
                        entries.push(SysEntry::Symlink {
                            target,
                            at: p.to_path_buf(),
                        });
                    }
                }
                Ok(m) if m.is_dir() => entries.push(SysEntry::Bind(p.to_path_buf())),
                _ => {}
            }
        }
        let mut masks = Vec::new();
        unreadable(Path::new("/etc"), ETC_SCAN_DEPTH, &mut masks);
        System { entries, masks }
    })
}

/// Entries under `dir` that "other" users cannot read (files without o+r, directories
/// without o+rx). A masked directory is not descended into.
fn unreadable(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, bool)>) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if m.file_type().is_symlink() {
            continue;
        }
        let mode = m.permissions().mode();
        let p = e.path();
        if m.is_dir() {
            if mode & 0o005 != 0o005 {
                out.push((p, true));
            } else if depth > 0 {
                unreadable(&p, depth - 1, out);
            }
        } else if m.is_file() && mode & 0o004 == 0 {
            out.push((p, false));
        }
    }
}

/// Where the supervisor's executable is mounted inside the sandbox.
pub(crate) const SUPERVISOR_INSIDE: &str = "/run/foreman/supervisor";

/// Everything after `bwrap`: namespaces, mounts, `--chdir`, the optional seccomp fd, `--`.
/// The command itself follows. With `supervisor` (its executable on the host), the command
/// is PID 1 (no bwrap reaper) and that executable is mounted read-only at
/// [`SUPERVISOR_INSIDE`].
pub(crate) fn args(
    probe: &Probe,
    policy: &Policy,
    scratch: &Scratch,
    extra_read_only: &[PathBuf],
    cwd: &Path,
    seccomp_fd: Option<i32>,
    supervisor: Option<&Path>,
) -> Vec<OsString> {
    let mut a = Args(Vec::with_capacity(96));
    a.flags(&NAMESPACES);
    if supervisor.is_some() {
        a.flags(&["--as-pid-1"]);
    }
    if probe.disable_userns {
        // No nested user namespace: nothing inside can regain capabilities, even its own.
        a.flags(&["--disable-userns"]);
    }
    if policy.network != Network::Full {
        a.flags(&["--unshare-net"]);
    }
    let sys = system();
    for e in &sys.entries {
        match e {
            SysEntry::Bind(p) => a.two("--ro-bind", p, p),
            SysEntry::Symlink { target, at } => a.two("--symlink", target, at),
        }
    }
    for (p, is_dir) in &sys.masks {
        let cover = if *is_dir {
            &scratch.empty_dir
        } else {
            &scratch.empty_file
        };
        a.two("--ro-bind", cover, p);
    }
    a.one("--proc", "/proc");
    a.one("--dev", "/dev");
    a.two("--bind", &scratch.tmp, "/tmp");
    if let Some(exe) = supervisor {
        a.two("--ro-bind", exe, SUPERVISOR_INSIDE);
    }
    if policy.network == Network::Full {
        // systemd-resolved's stub: /etc/resolv.conf points into /run.
        a.two(
            "--ro-bind-try",
            "/run/systemd/resolve",
            "/run/systemd/resolve",
        );
    }
    if let Some(home) = policy.home.as_deref().filter(|h| *h != Path::new("/")) {
        a.two("--bind", &scratch.home, home);
    }
    for p in policy.read_only.iter().chain(extra_read_only) {
        a.two("--ro-bind-try", p, p);
    }
    let ws = &policy.workspace;
    a.two("--bind", ws, ws);
    let git = ws.join(".git");
    if std::fs::symlink_metadata(&git).is_ok() {
        a.two("--ro-bind", &git, &git);
    }
    a.one("--remount-ro", "/");
    a.one("--chdir", cwd);
    if let Some(fd) = seccomp_fd {
        a.one("--seccomp", fd.to_string());
    }
    a.flags(&["--"]);
    a.0
}

struct Args(Vec<OsString>);

impl Args {
    fn flags(&mut self, f: &[&str]) {
        self.0.extend(f.iter().map(OsString::from));
    }
    fn one(&mut self, flag: &str, v: impl AsRef<OsStr>) {
        self.0.push(flag.into());
        self.0.push(v.as_ref().to_os_string());
    }
    fn two(&mut self, flag: &str, a: impl AsRef<OsStr>, b: impl AsRef<OsStr>) {
        self.0.push(flag.into());
        self.0.push(a.as_ref().to_os_string());
        self.0.push(b.as_ref().to_os_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[OsString]) -> Vec<String> {
        v.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    /// Index of `flag a b` in the argument list.
    fn pos(a: &[String], triple: &[&str]) -> usize {
        a.windows(triple.len())
            .position(|w| w.iter().zip(triple).all(|(x, y)| x == y))
            .unwrap_or_else(|| panic!("{triple:?} not in {a:?}"))
    }

    #[test]
    fn mount_order_puts_the_workspace_over_home_and_git_over_the_workspace() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("home/op/ws");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        let scratch = Scratch::create().unwrap();
        let policy = Policy {
            mode: super::super::Mode::On,
            workspace: ws.clone(),
            network: Network::None,
            read_only: vec![PathBuf::from("/home/op/.cargo")],
            home: Some(tmp.path().join("home/op")),
        };
        let probe = Probe {
            version: "bubblewrap 0.8.0".into(),
            disable_userns: true,
        };
        let a = strs(&args(&probe, &policy, &scratch, &[], &ws, Some(7), None));
        let (w, h) = (ws.display().to_string(), tmp.path().join("home/op"));
        let home = pos(
            &a,
            &[
                "--bind",
                &scratch.home.display().to_string(),
                &h.display().to_string(),
            ],
        );
        let cargo = pos(&a, &["--ro-bind-try", "/home/op/.cargo", "/home/op/.cargo"]);
        let wsb = pos(&a, &["--bind", &w, &w]);
        let g = format!("{w}/.git");
        let git = pos(&a, &["--ro-bind", &g, &g]);
        let ro = pos(&a, &["--remount-ro", "/"]);
        assert!(
            home < cargo && cargo < wsb && wsb < git && git < ro,
            "{a:?}"
        );
        assert!(a.contains(&"--unshare-net".to_string()));
        assert_eq!(&a[a.len() - 3..], ["--seccomp", "7", "--"]);
        let full = Policy {
            network: Network::Full,
            ..policy
        };
        let old = Probe {
            version: "bubblewrap 0.6.1".into(),
            disable_userns: false,
        };
        let a = strs(&args(&old, &full, &scratch, &[], &ws, None, None));
        assert!(!a.contains(&"--unshare-net".to_string()));
        assert!(!a.contains(&"--seccomp".to_string()));
        assert!(!a.contains(&"--disable-userns".to_string()));
    }

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(at_least("bubblewrap 0.8.0", (0, 8)));
        assert!(at_least("bubblewrap 0.11.0", (0, 8)));
        assert!(at_least("bubblewrap 1.0", (0, 8)));
        assert!(!at_least("bubblewrap 0.6.1", (0, 8)));
        assert!(!at_least("garbage", (0, 8)));
    }

    #[test]
    fn etc_scan_finds_what_others_cannot_read() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("public"), "x").unwrap();
        std::fs::write(d.join("shadow"), "x").unwrap();
        std::fs::set_permissions(d.join("shadow"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::create_dir_all(d.join("ssl/private")).unwrap();
        std::fs::write(d.join("ssl/private/key"), "k").unwrap();
        std::fs::set_permissions(
            d.join("ssl/private"),
            std::fs::Permissions::from_mode(0o710),
        )
        .unwrap();
        std::fs::create_dir_all(d.join("ssl/certs")).unwrap();
        std::fs::write(d.join("ssl/certs/ca"), "c").unwrap();
        let mut out = Vec::new();
        unreadable(d, 4, &mut out);
        out.sort();
        assert_eq!(
            out,
            vec![(d.join("shadow"), false), (d.join("ssl/private"), true)]
        );
    }
}
