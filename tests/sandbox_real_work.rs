//! Real work still runs in the default sandbox (network none, the operator's toolchain caches
//! read-only): the model's bash builds and tests a Rust crate offline with the host's cargo,
//! and runs a Python unittest.

mod common;

use foreman::tools::{Registry, ToolOptions};
use serde_json::{Value, json};
use std::time::Duration;

async fn bash(r: &Registry, command: &str) -> Value {
    r.dispatch("bash", &json!({ "command": command }))
        .await
        .expect("bash runs")
        .output
}

fn registry(dir: &std::path::Path) -> Registry {
    common::supervised();
    let opts = ToolOptions {
        bash_timeout: Duration::from_secs(600),
        ..ToolOptions::default()
    };
    Registry::new(dir, &[], opts).expect("registry")
}

#[tokio::test]
async fn a_rust_crate_builds_and_tests_offline_with_the_hosts_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("src/lib.rs"),
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(2, 3), 5); }\n}\n",
    )
    .unwrap();
    let r = registry(ws);
    let out = bash(
        &r,
        "export CARGO_TARGET_DIR=$PWD/target; cargo test --offline --lib 2>&1 | tail -n 5",
    )
    .await;
    let text = out["stdout"].as_str().unwrap_or("");
    assert_eq!(out["exit_code"], 0, "{out}");
    assert!(
        text.contains("test result: ok. 1 passed; 0 failed"),
        "{text}"
    );
    assert!(
        ws.join("target/debug").is_dir(),
        "artifacts in the workspace"
    );
}

#[tokio::test]
async fn a_python_unittest_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("test_calc.py"),
        "import unittest, tempfile\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        with tempfile.TemporaryFile() as f:\n            f.write(b'x')\n        self.assertEqual(1 + 1, 2)\n\nif __name__ == '__main__':\n    unittest.main()\n",
    )
    .unwrap();
    let r = registry(dir.path());
    let out = bash(&r, "python3 -m unittest -v test_calc 2>&1").await;
    let text = out["stdout"].as_str().unwrap_or("");
    assert_eq!(out["exit_code"], 0, "{out}");
    assert!(text.contains("test_add") && text.contains("OK"), "{text}");
}
