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

/// Upstream LLMKube's own Foreman CRDs at `commit` (tests/fixtures/upstream/<commit>/crds),
/// applied (replacing whatever version is installed) and Established.
///
/// The one change made on the way in: every `default: ""` is dropped. The 1.20 testbed
/// apiserver refuses such a CRD ("default: Invalid value: \"null\"": it reads `""` as
/// null); newer apiservers accept it, and an absent default means the same for these fields
/// (`LocalObjectReference.name`, Secret refs).
pub fn install_upstream_crds(kubeconfig: &Path, commit: &str) {
    fn strip_empty_defaults(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if m.get("default") == Some(&serde_json::Value::String(String::new())) {
                    m.remove("default");
                }
                m.values_mut().for_each(strip_empty_defaults);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip_empty_defaults),
            _ => {}
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream")
        .join(commit)
        .join("crds");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut crd: serde_json::Value = foreman::api::yaml::from_str(&text).unwrap();
        strip_empty_defaults(&mut crd);
        names.push(format!("crd/{}", crd["metadata"]["name"].as_str().unwrap()));
        kubectl_at(kubeconfig, &["apply", "-f", "-"], Some(&crd.to_string()));
    }
    let mut args = vec!["wait", "--for=condition=Established", "--timeout=60s"];
    args.extend(names.iter().map(String::as_str));
    kubectl_at(kubeconfig, &args, None);
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
        let s = PrivateApiserver::start_bare();
        install_crds(&s.kubeconfig());
        s
    }

    /// An apiserver with no CRDs installed (for upstream's CRDs, [`install_upstream_crds`]).
    pub fn start_bare() -> PrivateApiserver {
        let dir = tempfile::tempdir().unwrap();
        let s = PrivateApiserver {
            dir,
            kube_port: free_port(),
            etcd_port: free_port(),
        };
        s.script("start");
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
