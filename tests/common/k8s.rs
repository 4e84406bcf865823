//! Real kube-apiserver fixtures for the cluster suites. Most tests share the apiserver that
//! `scripts/test` starts (FOREMAN_E2E_KUBECONFIG), each in its own namespace with its own
//! node names (FleetNodes are cluster-scoped). Tests that restart the apiserver start a
//! private one with `scripts/k8s.sh` on free ports.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;

pub fn shared_kubeconfig() -> PathBuf {
    PathBuf::from(std::env::var("FOREMAN_E2E_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "FOREMAN_E2E_KUBECONFIG is not set: start an apiserver with `scripts/k8s.sh start DIR` \
             and set FOREMAN_E2E_KUBECONFIG=DIR/kubeconfig (scripts/test does this)"
        )
    }))
}

/// Runs kubectl against `kubeconfig`; panics with its stderr on failure.
pub fn kubectl_at(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl must be installed");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Applies `foreman crds` and waits until the four CRDs are Established.
pub fn install_crds(kubeconfig: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_foreman"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(out.status.success());
    kubectl_at(
        kubeconfig,
        &["apply", "-f", "-"],
        Some(&String::from_utf8(out.stdout).unwrap()),
    );
    kubectl_at(
        kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/agents.foreman.llmkube.dev",
            "crd/agentictasks.foreman.llmkube.dev",
            "crd/fleetnodes.foreman.llmkube.dev",
            "crd/workloads.foreman.llmkube.dev",
        ],
        None,
    );
}

static CRDS: Once = Once::new();

/// The shared apiserver with the CRDs installed and a fresh namespace `<prefix>-<random>`.
pub fn shared_namespace(prefix: &str) -> (PathBuf, String) {
    let kc = shared_kubeconfig();
    CRDS.call_once(|| install_crds(&kc));
    let ns = format!("{prefix}-{:08x}", fastrand::u32(..));
    kubectl_at(&kc, &["create", "namespace", &ns], None);
    (kc, ns)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private apiserver + etcd (for restart tests); stopped on drop.
pub struct PrivateApiserver {
    pub dir: tempfile::TempDir,
    kube_port: u16,
    etcd_port: u16,
}

impl PrivateApiserver {
    pub fn start() -> PrivateApiserver {
        let dir = tempfile::tempdir().unwrap();
        let s = PrivateApiserver {
            dir,
            kube_port: free_port(),
            etcd_port: free_port(),
        };
        s.script("start");
        install_crds(&s.kubeconfig());
        s
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Stops only the apiserver (etcd keeps the data).
    pub fn stop_apiserver(&self) {
        let pid = std::fs::read_to_string(self.dir.path().join("apiserver.pid")).unwrap();
        let pid: i32 = pid.trim().parse().unwrap();
        super::signal(pid, libc::SIGTERM);
        for _ in 0..200 {
            if !super::signal(pid, 0) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        super::signal(pid, libc::SIGKILL);
        let _ = std::fs::remove_file(self.dir.path().join("apiserver.pid"));
    }

    /// Starts everything again on the same ports and data (etcd restarts too, harmlessly).
    pub fn restart(&self) {
        self.stop_all();
        self.script("start");
    }

    fn stop_all(&self) {
        let _ = Command::new(script())
            .args(["stop", self.dir.path().to_str().unwrap()])
            .status();
    }

    fn script(&self, verb: &str) {
        let out = Command::new(script())
            .args([verb, self.dir.path().to_str().unwrap()])
            .env("KUBE_PORT", self.kube_port.to_string())
            .env("ETCD_PORT", self.etcd_port.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "k8s.sh {verb}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateApiserver {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s.sh")
}

/// Runs a fixture step up to three times: starting an apiserver on a loaded 2-core machine
/// sometimes misses its 60 s readiness window.
pub fn retried<T>(what: &str, f: impl Fn() -> T) -> T {
    for attempt in 1.. {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&f)) {
            Ok(v) => return v,
            Err(e) if attempt >= 3 => std::panic::resume_unwind(e),
            Err(_) => eprintln!("{what}: attempt {attempt} failed, retrying"),
        }
    }
    unreachable!()
}
