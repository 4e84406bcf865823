//! Probes of the machine this process runs on: its host name (and the FleetNode name made of
//! it), memory and accelerator. Shared by the embedded node, the `foreman agent` worker and the
//! console, so every one of them names and measures this machine the same way, and the way
//! upstream's foreman-agent does (spec §5): `os.Hostname()` through `sanitizeName`, and on
//! macOS the metal-agent's `DarwinMemoryProvider` (`sysctl hw.memsize` + `vm_stat`).
//!
//! The parsers are pure and tested on Linux; only the commands they read run on macOS.

use crate::api::fleetnode::NodeAccelerator;

/// `MemTotal`/`MemAvailable` in whole GB from /proc/meminfo text.
pub fn parse_meminfo(text: &str) -> (Option<i32>, Option<i32>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kb| gib(kb.saturating_mul(1024)))
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// Whole GiB, floored, saturating at the FleetNode field's int32 (upstream's `bytesToGB`).
pub fn gib(bytes: u64) -> i32 {
    i32::try_from(bytes / (1 << 30)).unwrap_or(i32::MAX)
}

/// `hw.memsize` and `hw.pagesize` from `sysctl hw.memsize hw.pagesize` output.
pub fn parse_sysctl(text: &str) -> (Option<u64>, Option<u64>) {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().parse::<u64>().ok())?
        })
    };
    (field("hw.memsize"), field("hw.pagesize"))
}

/// Available bytes from `vm_stat` output, as upstream's `availableBytesFromVMStat` counts them:
/// free + inactive + speculative + purgeable pages (Activity Monitor's "available"; a loaded
/// Metal model sits in "wired down" and is not counted). The page size is the header's
/// ("page size of 16384 bytes"), else `hw_pagesize`, else 16 KiB like upstream. `None` when the
/// text has neither a free nor an inactive line (not vm_stat output).
pub fn parse_vm_stat(text: &str, hw_pagesize: Option<u64>) -> Option<u64> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let page = header
        .split_once("page size of ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse::<u64>().ok())
        .filter(|&p| p > 0)
        .or(hw_pagesize)
        .unwrap_or(16384);
    let counted = [
        "Pages free:",
        "Pages inactive:",
        "Pages speculative:",
        "Pages purgeable:",
    ];
    let mut pages = 0u64;
    let mut seen_core = false;
    for line in lines {
        let line = line.trim();
        let Some(name) = counted.iter().find(|n| line.starts_with(**n)) else {
            continue;
        };
        let value = line[name.len()..].trim().trim_end_matches('.');
        let Ok(n) = value.parse::<u64>() else {
            continue;
        };
        seen_core |= matches!(*name, "Pages free:" | "Pages inactive:");
        pages = pages.saturating_add(n);
    }
    seen_core.then(|| pages.saturating_mul(page))
}

/// Output of a command, `None` when it cannot run or fails.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Total and available RAM in GiB: /proc/meminfo on Linux; `sysctl` and `vm_stat` on macOS.
pub fn probe_memory() -> (Option<i32>, Option<i32>) {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        return parse_meminfo(&text);
    }
    if cfg!(target_os = "macos") {
        let (total, pagesize) = command_output("sysctl", &["hw.memsize", "hw.pagesize"])
            .map_or((None, None), |t| parse_sysctl(&t));
        let available = command_output("vm_stat", &[]).and_then(|t| parse_vm_stat(&t, pagesize));
        return (total.map(gib), available.map(gib));
    }
    (None, None)
}

/// metal on macOS, cuda when `nvidia-smi` is on PATH, else none.
pub fn probe_accelerator() -> NodeAccelerator {
    if cfg!(target_os = "macos") {
        return NodeAccelerator::Metal;
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nvidia-smi").is_file()));
    if on_path {
        NodeAccelerator::Cuda
    } else {
        NodeAccelerator::None
    }
}

/// This machine's host name from gethostname(2) (empty when not UTF-8). macOS has no
/// /etc/hostname and exports no `$HOSTNAME` to programs, so only the system call names a Mac.
pub fn hostname() -> String {
    gethostname::gethostname()
        .into_string()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// This machine's FleetNode name: `given` (`--fleet-node-name`, `$FLEET_NODE_NAME`) else the
/// host name, made a DNS-1123 label either way, as upstream does with both.
pub fn local_node_name(given: Option<&str>) -> String {
    match given.filter(|g| !g.trim().is_empty()) {
        Some(g) => node_name(g),
        None => node_name(&hostname()),
    }
}

/// Upstream's `sanitizeName`: lowercase, each run outside `[a-z0-9-]` becomes one `-` (so a
/// Mac's `Studio.local` is `studio-local`, kept, as upstream keeps it), `-` trimmed, at most 63
/// characters, `fleetnode` when nothing is left.
pub fn node_name(raw: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in raw.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let mut s = out.trim_matches('-').to_string();
    if s.is_empty() {
        return "fleetnode".into();
    }
    s.truncate(63);
    s.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPLE_VM_STAT: &str =
        include_str!("../../tests/fixtures/macos/vm_stat-apple-silicon.txt");
    const APPLE_SYSCTL: &str = include_str!("../../tests/fixtures/macos/sysctl-apple-silicon.txt");
    const INTEL_VM_STAT: &str = include_str!("../../tests/fixtures/macos/vm_stat-intel.txt");
    const INTEL_SYSCTL: &str = include_str!("../../tests/fixtures/macos/sysctl-intel.txt");

    #[test]
    fn meminfo_parses_to_gb() {
        let t = "MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   12288000 kB\n";
        assert_eq!(parse_meminfo(t), (Some(23), Some(11)));
        assert_eq!(parse_meminfo("junk"), (None, None));
    }

    #[test]
    fn apple_silicon_counts_16k_pages_and_floors() {
        assert_eq!(
            parse_sysctl(APPLE_SYSCTL),
            (Some(137_438_953_472), Some(16384))
        );
        // free + inactive + speculative + purgeable = 4,050,000 pages of 16 KiB = 61.8 GiB:
        // the runbook's 128 GB Mac with a model loaded advertises ~62, floored to 61.
        let avail = parse_vm_stat(APPLE_VM_STAT, None).unwrap();
        assert_eq!(avail, (1_020_000 + 2_600_000 + 180_000 + 250_000) * 16384);
        assert_eq!((gib(137_438_953_472), gib(avail)), (128, 61));
    }

    #[test]
    fn intel_counts_4k_pages() {
        assert_eq!(
            parse_sysctl(INTEL_SYSCTL),
            (Some(17_179_869_184), Some(4096))
        );
        // The header's page size wins over a wrong hint.
        let avail = parse_vm_stat(INTEL_VM_STAT, Some(16384)).unwrap();
        assert_eq!(avail, (29_567 + 1_380_282 + 12_164 + 78_131) * 4096);
        assert_eq!((gib(17_179_869_184), gib(avail)), (16, 5));
    }

    #[test]
    fn vm_stat_without_a_page_size_uses_hw_pagesize_then_16k() {
        let body = "Pages free:     10.\nPages inactive:     6.\nPages wired down: 99.\n";
        let headless = format!("Mach Virtual Memory Statistics:\n{body}");
        assert_eq!(parse_vm_stat(&headless, Some(4096)), Some(16 * 4096));
        assert_eq!(parse_vm_stat(&headless, None), Some(16 * 16384));
        // Speculative and purgeable are optional (older macOS).
        let old = "Mach Virtual Memory Statistics: (page size of 4096 bytes)\n".to_string() + body;
        assert_eq!(parse_vm_stat(&old, None), Some(16 * 4096));
        assert_eq!(parse_vm_stat("command not found\n", None), None);
        assert_eq!(parse_sysctl("sysctl: unknown oid"), (None, None));
    }

    #[test]
    fn gib_floors_and_saturates() {
        assert_eq!(gib((1 << 30) - 1), 0);
        assert_eq!(gib(u64::MAX), i32::MAX);
    }

    #[test]
    fn node_names_follow_upstream_sanitizing() {
        assert_eq!(node_name("Mac Studio.local"), "mac-studio-local");
        assert_eq!(
            node_name("Jane's-MacBook-Pro.local\n"),
            "jane-s-macbook-pro-local"
        );
        assert_eq!(node_name("a-_b"), "a--b");
        assert_eq!(node_name("__"), "fleetnode");
        assert_eq!(node_name(""), "fleetnode");
        assert_eq!(node_name(&"a".repeat(80)).len(), 63);
        // A cut that ends on a dash drops it, as upstream's TrimRight after s[:63].
        assert_eq!(node_name(&format!("{}.x", "a".repeat(62))), "a".repeat(62));
    }

    #[test]
    fn the_given_name_wins_over_the_host_name() {
        assert_eq!(local_node_name(Some("Worker_1")), "worker-1");
        assert_eq!(local_node_name(Some("  ")), node_name(&hostname()));
        assert_eq!(local_node_name(None), node_name(&hostname()));
    }

    #[test]
    fn the_host_name_is_the_system_calls() {
        // gethostname(2), not /etc/hostname or $HOSTNAME: `uname -n` prints the same name.
        let uname = std::process::Command::new("uname")
            .arg("-n")
            .output()
            .unwrap();
        let expected = String::from_utf8_lossy(&uname.stdout).trim().to_string();
        assert!(!expected.is_empty());
        assert_eq!(hostname(), expected);
    }
}
