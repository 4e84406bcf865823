//! `write_file`: create or overwrite one workspace file, creating missing parents.

use super::args::Args;
use super::path::Workspace;
use super::{ToolError, ToolOutput};
use crate::oai::ToolSpec;
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

pub(crate) const NAME: &str = "write_file";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::function(
        NAME,
        "Create a file or overwrite it entirely with `content`, creating missing parent \
         directories. Paths are relative to the repository root. For small edits to an \
         existing file prefer str_replace, which cannot clobber unrelated text.",
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root."},
                "content": {"type": "string", "description": "The complete new file content (UTF-8)."}
            },
            "required": ["path", "content"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn run(ws: &Workspace, args: &Value) -> Result<ToolOutput, ToolError> {
    let a = Args::new(NAME, args, &["path", "content"])?;
    let path = a.non_empty_str("path")?;
    let content = a.str("content")?;
    let abs = ws.resolve_writable(path).map_err(|e| a.err(e))?;
    if abs == ws.root() || abs.is_dir() {
        return Err(a.err(format!("{path:?} is a directory; give a file path")));
    }
    if let Some(parent) = abs.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| a.err(format!("create parent directories of {path:?}: {e}")))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&abs)
        .map_err(|e| a.err(format!("open {path:?} for writing: {e}")))?;
    f.write_all(content.as_bytes())
        .map_err(|e| a.err(format!("write {path:?}: {e}")))?;
    Ok(ToolOutput::data(
        json!({"path": path, "bytes": content.len()}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::path::tests::fixture;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn creates_parents_and_writes() {
        let f = fixture();
        let ws = Workspace::new(&f.ws).expect("ws");
        let out = run(&ws, &json!({"path": "a/b/c.txt", "content": "héllo"}))
            .expect("run")
            .output;
        assert_eq!(out, json!({"path": "a/b/c.txt", "bytes": 6}));
        assert_eq!(
            std::fs::read_to_string(f.ws.join("a/b/c.txt")).expect("read"),
            "héllo"
        );
        let mode = std::fs::metadata(f.ws.join("a/b/c.txt"))
            .expect("meta")
            .permissions()
            .mode();
        // 0644 minus whatever the umask removes; never executable or group/world-writable.
        assert_eq!(mode & 0o133, 0);
        assert_eq!(mode & 0o600, 0o600);
        run(&ws, &json!({"path": "a/b/c.txt", "content": ""})).expect("overwrite");
        assert_eq!(
            std::fs::read_to_string(f.ws.join("a/b/c.txt")).expect("read"),
            ""
        );
    }

    #[test]
    fn symlink_escapes_are_refused_for_new_and_existing_files() {
        let f = fixture();
        symlink(&f.outside, f.ws.join("out")).expect("symlink");
        symlink(f.outside.join("secret.txt"), f.ws.join("s")).expect("symlink");
        symlink(f.outside.join("fresh.txt"), f.ws.join("dangling")).expect("symlink");
        let ws = Workspace::new(&f.ws).expect("ws");
        for p in [
            "out/new.txt",
            "out/x/y.txt",
            "s",
            "dangling",
            "../outside/z",
            "/tmp/z",
        ] {
            let e = run(&ws, &json!({"path": p, "content": "pwned"}))
                .err()
                .map(|e| e.0);
            assert!(
                e.as_deref()
                    .is_some_and(|m| m.starts_with("write_file: path escapes workspace")),
                "{p}: {e:?}"
            );
        }
        assert!(!f.outside.join("new.txt").exists());
        assert!(!f.outside.join("x").exists());
        assert!(!f.outside.join("fresh.txt").exists());
        assert_eq!(
            std::fs::read_to_string(f.outside.join("secret.txt")).expect("read"),
            "secret"
        );
    }

    #[test]
    fn git_dir_is_refused_and_left_untouched() {
        let f = fixture();
        std::fs::create_dir_all(f.ws.join(".git/hooks")).expect("mkdir");
        std::fs::write(f.ws.join(".git/config"), "[core]\n").expect("write");
        let ws = Workspace::new(&f.ws).expect("ws");
        for p in [".git/config", ".git/hooks/pre-commit"] {
            let e = run(&ws, &json!({"path": p, "content": "evil"}))
                .err()
                .map(|e| e.0);
            assert_eq!(
                e.as_deref(),
                Some(format!("write_file: \"{p}\" is inside .git, which only the executor writes (it commits for you); edit the work tree instead").as_str())
            );
        }
        assert_eq!(
            std::fs::read_to_string(f.ws.join(".git/config")).expect("read"),
            "[core]\n"
        );
        assert!(!f.ws.join(".git/hooks/pre-commit").exists());
    }

    #[test]
    fn bad_arguments_are_named() {
        let f = fixture();
        let ws = Workspace::new(&f.ws).expect("ws");
        let e = |v: Value| run(&ws, &v).err().map(|e| e.0).unwrap_or_default();
        assert_eq!(
            e(json!({"path": "a"})),
            "write_file: missing required argument \"content\" (string)"
        );
        assert_eq!(
            e(json!({"path": "a", "content": 3})),
            "write_file: \"content\" must be a string, got a number"
        );
        assert!(e(json!({"path": ".", "content": ""})).contains("is a directory"));
    }
}
