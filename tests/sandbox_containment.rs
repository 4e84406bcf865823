//! The sandbox tried as a hostile model would (issue 9): every route out is asserted closed,
//! and where it matters the same command run with the sandbox off proves the route exists, so
//! a passing test is not a vacuous one.

mod common;

use foreman::sandbox::{Invocation, Mode, Network, Policy, Sandbox, Settings};
use foreman::tools::{Registry, ToolOptions};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TOKEN: &str = "ghp_CONTAINMENTMARKER0123456789";

/// A workspace with a `.git`, a sibling directory with a secret, and a fake HOME holding a
/// token file, an ssh key and one allowed cache.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ws: PathBuf,
    home: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (ws, home) = (root.join("ws"), root.join("home"));
    for d in [
        ws.join(".git/hooks"),
        root.join("outside"),
        home.join(".ssh"),
        home.join(".config/foreman"),
        home.join(".cargo/bin"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&ws)
        .status()
        .unwrap();
    assert!(init.success());
    std::fs::write(root.join("outside/secret.txt"), "SIBLING-SECRET\n").unwrap();
    std::fs::write(home.join(".ssh/id_ed25519"), "SSH-PRIVATE-KEY\n").unwrap();
    std::fs::write(home.join(".config/foreman/github-token"), TOKEN).unwrap();
    std::fs::write(home.join(".cargo/bin/marker"), "CACHE-OK\n").unwrap();
    Fixture {
        _dir: dir,
        root,
        ws,
        home,
    }
}

fn policy(f: &Fixture, mode: Mode, network: Network) -> Policy {
    let settings = Settings {
        mode,
        network: Some(network),
        allow_paths: vec!["~/.cargo".into()],
    };
    Policy::resolve_with_home(&f.ws, &settings, None, Some(f.home.clone())).unwrap()
}

struct Out {
    stdout: String,
    stderr: String,
}

fn sh(f: &Fixture, p: Policy, script: &str) -> Out {
    let sb = Sandbox::new(p);
    let env = vec![
        (
            "PATH".to_string(),
            "/usr/local/bin:/usr/bin:/bin".to_string(),
        ),
        ("HOME".to_string(), f.home.display().to_string()),
    ];
    let args = [OsStr::new("-c"), OsStr::new(script)];
    let out = sb
        .command(&Invocation {
            program: OsStr::new("sh"),
            args: &args,
            cwd: &f.ws,
            env: &env,
            read_only: &[],
        })
        .expect("sandboxed command")
        .output()
        .expect("runs");
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn confined(f: &Fixture, script: &str) -> Out {
    sh(f, policy(f, Mode::On, Network::None), script)
}

fn unconfined(f: &Fixture, script: &str) -> Out {
    sh(f, policy(f, Mode::Off, Network::None), script)
}

#[test]
fn nothing_outside_the_workspace_can_be_read() {
    let f = fixture();
    let script = "cat ../outside/secret.txt; cat \"$HOME/.ssh/id_ed25519\"; \
                  cat \"$HOME/.config/foreman/github-token\"; cat /etc/shadow; \
                  cat /proc/1/root\"$HOME\"/.config/foreman/github-token";
    let open = unconfined(&f, script);
    assert!(open.stdout.contains("SIBLING-SECRET") && open.stdout.contains(TOKEN));
    let shut = confined(&f, script);
    for secret in ["SIBLING-SECRET", "SSH-PRIVATE-KEY", TOKEN] {
        assert!(
            !shut.stdout.contains(secret),
            "{secret} leaked: {}",
            shut.stdout
        );
    }
    assert!(
        !shut.stdout.contains("root:"),
        "/etc/shadow leaked: {}",
        shut.stdout
    );
    assert!(shut.stderr.contains("No such file"), "{}", shut.stderr);
    // HOME shows only the allowed cache, read-only.
    let out = confined(
        &f,
        "ls -A \"$HOME\"; cat \"$HOME/.cargo/bin/marker\"; touch \"$HOME/.cargo/x\" && echo WROTE",
    );
    assert_eq!(out.stdout, ".cargo\nCACHE-OK\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    // Not even a search of everything visible finds the token.
    let out = confined(&f, "find / -name github-token 2>/dev/null; echo done");
    assert_eq!(out.stdout, "done\n");
}

#[test]
fn only_the_workspace_and_a_private_tmp_are_writable_and_git_is_read_only() {
    let f = fixture();
    let config = std::fs::read_to_string(f.ws.join(".git/config")).unwrap();
    let bare = f.root.join("remote.git");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(f.root.join("host-tmp-marker"), "x").unwrap();
    let out = confined(
        &f,
        &format!(
            "echo ok > work.txt && echo ws-ok; echo x > /tmp/t && echo tmp-ok; \
             echo evil >> .git/config || echo git-config-refused; \
             echo '#!/bin/sh' > .git/hooks/pre-commit || echo hook-refused; \
             rm -rf .git 2>/dev/null; test -f .git/config && echo git-intact; \
             touch /usr/x || echo usr-refused; touch ../outside/x || echo outside-refused; \
             ls {0} 2>/dev/null || echo remote-invisible; ls /tmp",
            bare.display()
        ),
    );
    for want in [
        "ws-ok",
        "tmp-ok",
        "git-config-refused",
        "hook-refused",
        "git-intact",
        "usr-refused",
        "outside-refused",
        "remote-invisible",
    ] {
        assert!(
            out.stdout.contains(want),
            "{want} missing:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(f.ws.join("work.txt")).unwrap(),
        "ok\n"
    );
    assert_eq!(
        std::fs::read_to_string(f.ws.join(".git/config")).unwrap(),
        config
    );
    assert!(!f.ws.join(".git/hooks/pre-commit").exists());
    assert!(!f.root.join("outside/x").exists());
}

#[test]
fn another_process_environment_is_out_of_reach_even_as_root() {
    let f = fixture();
    let mut victim = std::process::Command::new("sleep")
        .arg("30")
        .env("FOREMAN_VICTIM_SECRET", TOKEN)
        .spawn()
        .unwrap();
    let pid = victim.id();
    let script = format!(
        "cat /proc/{pid}/environ; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; echo; \
         ls /proc | grep -c '^[0-9]'"
    );
    let open = unconfined(&f, &script);
    let shut = confined(&f, &script);
    let _ = victim.kill();
    let _ = victim.wait();
    assert!(open.stdout.contains(TOKEN), "the route exists unconfined");
    assert!(!shut.stdout.contains(TOKEN), "{}", shut.stdout);
    assert!(
        shut.stderr.contains(&format!("/proc/{pid}/environ")),
        "{}",
        shut.stderr
    );
    let visible: usize = shut
        .stdout
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap();
    assert!(visible <= 4, "only the sandbox's own processes: {visible}");
}

/// A host listener on 127.0.0.1 answering HTTP; counts the connections it gets.
fn host_listener() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.read(&mut [0u8; 1024]);
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nhost-ok");
        }
    });
    (port, hits)
}

const PY_CONNECT: &str = "import socket,sys\ntry:\n    socket.create_connection(('127.0.0.1', int(sys.argv[1])), 3).close(); print('py-connected')\nexcept OSError as e:\n    print('py-failed', type(e).__name__)\n";
const PY_INSIDE: &str = "import socket\ntry:\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n    socket.create_connection(s.getsockname(), 3).close(); print('inside-ok')\nexcept OSError as e:\n    print('inside-failed', type(e).__name__)\n";

fn net(f: &Fixture, network: Network, port: u16) -> Out {
    std::fs::write(f.ws.join("connect.py"), PY_CONNECT).unwrap();
    std::fs::write(f.ws.join("inside.py"), PY_INSIDE).unwrap();
    let script = format!(
        "curl -sS --max-time 5 http://127.0.0.1:{port}/ && echo; python3 connect.py {port}; \
         python3 inside.py; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
    );
    sh(f, policy(f, Mode::On, network), &script)
}

#[test]
fn network_none_has_no_sockets_loopback_is_private_full_is_the_hosts() {
    let f = fixture();
    let (port, hits) = host_listener();

    let none = net(&f, Network::None, port);
    assert!(!none.stdout.contains("host-ok"), "{}", none.stdout);
    assert!(
        none.stdout.contains("py-failed PermissionError"),
        "{}",
        none.stdout
    );
    assert!(
        none.stdout.contains("inside-failed PermissionError"),
        "{}",
        none.stdout
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "none reached the host");

    let lo = net(&f, Network::Loopback, port);
    assert!(!lo.stdout.contains("host-ok"), "{}", lo.stdout);
    assert!(
        lo.stdout.contains("py-failed ConnectionRefusedError"),
        "{}",
        lo.stdout
    );
    assert!(
        lo.stdout.contains("inside-ok"),
        "a server inside works: {}",
        lo.stdout
    );
    assert!(lo.stdout.ends_with("lo\n"), "only lo: {}", lo.stdout);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "loopback reached the host");

    let full = net(&f, Network::Full, port);
    assert!(
        full.stdout.contains("host-ok"),
        "{}\n{}",
        full.stdout,
        full.stderr
    );
    assert!(full.stdout.contains("py-connected"), "{}", full.stdout);
    assert!(full.stdout.contains("inside-ok"), "{}", full.stdout);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "curl and python reached the host"
    );
}

#[test]
fn a_missing_workspace_is_a_setup_error_not_an_unconfined_run() {
    let f = fixture();
    let sb = Sandbox::new(policy(&f, Mode::On, Network::None));
    let gone = f.root.join("gone");
    let e = sb
        .command(&Invocation {
            program: OsStr::new("true"),
            args: &[],
            cwd: &gone,
            env: &[],
            read_only: &[],
        })
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}

#[tokio::test]
async fn the_models_tools_cannot_touch_git_and_bash_has_no_network() {
    let f = fixture();
    let config = std::fs::read_to_string(f.ws.join(".git/config")).unwrap();
    common::supervised();
    let r = Registry::new(&f.ws, &[], ToolOptions::default()).unwrap();
    for (tool, args) in [
        (
            "write_file",
            serde_json::json!({"path": ".git/config", "content": "x"}),
        ),
        (
            "str_replace",
            serde_json::json!({"path": ".git/config", "old_string": "core", "new_string": "x"}),
        ),
    ] {
        let e = r.dispatch(tool, &args).await.unwrap_err();
        assert!(e.0.contains("inside .git"), "{tool}: {}", e.0);
    }
    let out = r
        .dispatch(
            "bash",
            &serde_json::json!({"command": "git config core.hooksPath evil; curl -sS --max-time 3 http://127.0.0.1:9/"}),
        )
        .await
        .unwrap()
        .output;
    let err = out["stderr"].as_str().unwrap_or("");
    assert!(err.contains("could not lock config file"), "{err}");
    assert!(
        err.contains("Permission denied") || err.contains("Couldn't connect"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(f.ws.join(".git/config")).unwrap(),
        config
    );
}
