//! Benchmark: the `grep` tool against ripgrep on a large tree, same semantics.
//!
//! Tree: `$FOREMAN_GREP_BENCH_DIR`, else `~/.cargo/registry/src` (hundreds of crates).
//! ripgrep runs as `rg --hidden --no-require-git --no-ignore-global -g '!.git' -n`, which is
//! the tool's walk (hidden files in, `.git` out, .gitignore honoured without a repo, no global
//! excludes). `max` is set above the match count so both do the full search, and the match
//! counts are compared as a semantics check. Target: median ratio tool/rg ≤ 1.5.
//!
//! Run: `cargo bench --bench grep`. Exits 2 if `rg` is missing, 1 on a count mismatch.

use foreman::tools::{Registry, ToolOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PATTERNS: [&str; 3] = [
    r"unsafe impl",
    r"fn [a-z_]+_unchecked\(",
    r"\bSend\b.*\bSync\b",
];
const ITERS: usize = 7;
const MAX: i64 = 10_000_000;

fn main() {
    if Command::new("rg").arg("--version").output().is_err() {
        eprintln!(
            "grep bench: ripgrep (`rg`) is not on PATH; install it (e.g. `apt-get install -y \
             ripgrep`) and re-run"
        );
        std::process::exit(2);
    }
    let dir = match tree() {
        Some(d) => d,
        None => {
            eprintln!(
                "grep bench: no tree to search; set FOREMAN_GREP_BENCH_DIR or populate \
                 ~/.cargo/registry/src"
            );
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("grep bench: cannot start tokio: {e}");
            std::process::exit(2);
        }
    };
    let reg = match Registry::new(&dir, &["grep".to_string()], ToolOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("grep bench: {e}");
            std::process::exit(2);
        }
    };

    println!(
        "grep bench: tree {} , {ITERS} iterations per side",
        dir.display()
    );
    println!(
        "{:<28} {:>9} {:>9} {:>10} {:>10} {:>7}",
        "pattern", "matches", "rg lines", "tool ms", "rg ms", "ratio"
    );
    let mut ratios = Vec::new();
    let mut mismatch = false;
    for pat in PATTERNS {
        let ours = || {
            let start = Instant::now();
            let out = rt.block_on(reg.dispatch("grep", &json!({"pattern": pat, "max": MAX})));
            let (n, truncated) = match out {
                Ok(o) => {
                    // The loop serializes the result for the model; count that too.
                    let _wire = serde_json::to_string(&o.output).unwrap_or_default();
                    (
                        o.output["matches"].as_array().map_or(0, Vec::len),
                        o.output["truncated"] == true,
                    )
                }
                Err(e) => {
                    eprintln!("grep bench: tool failed: {e}");
                    std::process::exit(1);
                }
            };
            (start.elapsed(), n, truncated)
        };
        let rg = || {
            let start = Instant::now();
            let out = Command::new("rg")
                .args([
                    "--hidden",
                    "--no-require-git",
                    "--no-ignore-global",
                    "-g",
                    "!.git",
                    "-n",
                    "--no-heading",
                    "--color",
                    "never",
                    pat,
                    ".",
                ])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output();
            let lines = match out {
                Ok(o) => o.stdout.iter().filter(|b| **b == b'\n').count(),
                Err(e) => {
                    eprintln!("grep bench: rg failed: {e}");
                    std::process::exit(2);
                }
            };
            (start.elapsed(), lines)
        };

        // Warm the page cache and both code paths once.
        let (_, n, truncated) = ours();
        let (_, lines) = rg();
        let mut t_ours = Vec::with_capacity(ITERS);
        let mut t_rg = Vec::with_capacity(ITERS);
        for _ in 0..ITERS {
            t_ours.push(ours().0);
            t_rg.push(rg().0);
        }
        let (mo, mr) = (median(&mut t_ours), median(&mut t_rg));
        let ratio = mo.as_secs_f64() / mr.as_secs_f64();
        ratios.push(ratio);
        println!(
            "{:<28} {:>9} {:>9} {:>10.1} {:>10.1} {:>7.2}",
            pat,
            n,
            lines,
            ms(mo),
            ms(mr),
            ratio
        );
        if n != lines || truncated {
            mismatch = true;
            eprintln!(
                "grep bench: count mismatch for {pat:?}: tool {n} (truncated {truncated}), rg {lines}"
            );
        }
    }
    ratios.sort_by(f64::total_cmp);
    let worst = ratios.last().copied().unwrap_or(f64::NAN);
    let verdict = if worst <= 1.5 { "within" } else { "OVER" };
    println!("worst ratio tool/rg = {worst:.2} ({verdict} the 1.5 target)");
    if mismatch {
        std::process::exit(1);
    }
}

fn tree() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("FOREMAN_GREP_BENCH_DIR") {
        return Some(PathBuf::from(d));
    }
    let home = std::env::var_os("HOME")?;
    let d = PathBuf::from(home).join(".cargo/registry/src");
    d.is_dir().then_some(d)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
