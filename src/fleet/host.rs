//! Probes of the machine this process runs on: its host name (and the object name made of it),
//! memory and accelerator. Shared by the embedded node, the `foreman agent` worker and the
//! console, so every one of them names and measures this machine the same way.

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
            .map(|kb| (kb / (1024 * 1024)) as i32)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// Total and available RAM in GB (macOS reports only the total).
pub fn probe_memory() -> (Option<i32>, Option<i32>) {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        return parse_meminfo(&text);
    }
    if cfg!(target_os = "macos")
        && let Ok(out) = std::process::Command::new("sysctl")
            .args(["-n", "hw.memsize"])
            .output()
        && let Ok(bytes) = String::from_utf8_lossy(&out.stdout).trim().parse::<u64>()
    {
        let gb = (bytes / (1 << 30)) as i32;
        return (Some(gb), Some(gb));
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

/// This machine's host name as the OS gives it (empty when unknown).
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The host name made into a valid object name (lowercase, `[a-z0-9-.]`).
pub fn default_node_name() -> String {
    sanitize(&hostname())
}

pub fn sanitize(raw: &str) -> String {
    let s: String = raw
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '.').to_string();
    if s.is_empty() { "localhost".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_parses_to_gb() {
        let t = "MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   12288000 kB\n";
        assert_eq!(parse_meminfo(t), (Some(23), Some(11)));
        assert_eq!(parse_meminfo("junk"), (None, None));
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("My_Host.local\n"), "my-host.local");
        assert_eq!(sanitize("  "), "localhost");
    }
}
