//! `str_replace`: exact-text replacement with an occurrence count the model must state, so an
//! ambiguous `old_string` fails loudly instead of editing the wrong place.

use super::args::Args;
use super::path::Workspace;
use super::{ToolError, ToolOutput};
use crate::oai::ToolSpec;
use serde_json::{Value, json};

pub(crate) const NAME: &str = "str_replace";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::function(
        NAME,
        "Replace exact text in a file. `old_string` must match the file byte for byte \
         (including indentation and newlines) and occur exactly `expected_replacements` times \
         (default 1); otherwise nothing is changed and the error says how many matches were \
         found. Include enough surrounding lines to make `old_string` unique. All occurrences \
         are replaced. `new_string` may be empty to delete text.",
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root."},
                "old_string": {"type": "string", "description": "Exact text to find (non-empty)."},
                "new_string": {"type": "string", "description": "Replacement text."},
                "expected_replacements": {"type": "integer", "minimum": 1, "description": "How many occurrences must exist (default 1)."}
            },
            "required": ["path", "old_string", "new_string"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn run(ws: &Workspace, args: &Value) -> Result<ToolOutput, ToolError> {
    let a = Args::new(
        NAME,
        args,
        &["path", "old_string", "new_string", "expected_replacements"],
    )?;
    let path = a.non_empty_str("path")?;
    let old = a.non_empty_str("old_string")?;
    let new = a.str("new_string")?;
    let want = a.opt_int("expected_replacements", 1)?.unwrap_or(1) as usize;
    let abs = ws.resolve_writable(path).map_err(|e| a.err(e))?;
    let data = std::fs::read(&abs).map_err(|e| a.err(format!("read {path:?}: {e}")))?;

    let hits = find_all(&data, old.as_bytes());
    if hits.len() != want {
        return Err(a.err(format!(
            "old_string found {} times in {path:?}, want {want}",
            hits.len()
        )));
    }
    let mut out = Vec::with_capacity(data.len() + hits.len() * new.len());
    let mut prev = 0;
    for &h in &hits {
        out.extend_from_slice(&data[prev..h]);
        out.extend_from_slice(new.as_bytes());
        prev = h + old.len();
    }
    out.extend_from_slice(&data[prev..]);
    // Writing through the existing inode keeps the file's mode (e.g. executable scripts).
    std::fs::write(&abs, out).map_err(|e| a.err(format!("write {path:?}: {e}")))?;
    Ok(ToolOutput::data(
        json!({"path": path, "replacements": hits.len()}),
    ))
}

/// Start offsets of the non-overlapping occurrences of `needle`, left to right (like Go's
/// `strings.Count`/`ReplaceAll`). Byte-level, so non-UTF-8 files still work.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut hits = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..].windows(needle.len()).position(|w| w == needle) {
            Some(p) => {
                hits.push(i + p);
                i += p + needle.len();
            }
            None => break,
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::path::tests::fixture;
    use std::os::unix::fs::symlink;

    #[test]
    fn find_all_is_non_overlapping() {
        assert_eq!(find_all(b"aaaa", b"aa"), vec![0, 2]);
        assert_eq!(find_all(b"abcabc", b"bc"), vec![1, 4]);
        assert_eq!(find_all(b"ab", b"abc"), Vec::<usize>::new());
    }

    #[test]
    fn git_config_is_refused_and_left_untouched() {
        let f = fixture();
        std::fs::create_dir_all(f.ws.join(".git")).expect("mkdir");
        let cfg = "[remote \"origin\"]\n\turl = https://example.com/r.git\n";
        std::fs::write(f.ws.join(".git/config"), cfg).expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let e = run(
            &ws,
            &json!({"path": ".git/config", "old_string": "example.com", "new_string": "evil.test"}),
        )
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
        assert!(
            e.starts_with("str_replace: \".git/config\" is inside .git"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(f.ws.join(".git/config")).expect("r"),
            cfg
        );
    }

    #[test]
    fn replaces_when_count_matches() {
        let f = fixture();
        std::fs::write(f.ws.join("f.rs"), "let x = 1;\nlet y = 1;\n").expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let out = run(
            &ws,
            &json!({"path": "f.rs", "old_string": "x = 1", "new_string": "x = 2"}),
        )
        .expect("run")
        .output;
        assert_eq!(out, json!({"path": "f.rs", "replacements": 1}));
        let out = run(
            &ws,
            &json!({"path": "f.rs", "old_string": " = ", "new_string": "=", "expected_replacements": 2}),
        )
        .expect("run")
        .output;
        assert_eq!(out["replacements"], 2);
        assert_eq!(
            std::fs::read_to_string(f.ws.join("f.rs")).expect("r"),
            "let x=2;\nlet y=1;\n"
        );
        run(
            &ws,
            &json!({"path": "f.rs", "old_string": "let y=1;\n", "new_string": ""}),
        )
        .expect("delete");
        assert_eq!(
            std::fs::read_to_string(f.ws.join("f.rs")).expect("r"),
            "let x=2;\n"
        );
    }

    #[test]
    fn count_mismatch_leaves_the_file_alone() {
        let f = fixture();
        std::fs::write(f.ws.join("f.txt"), "a a a").expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let e = |v: Value| run(&ws, &v).err().map(|e| e.0).unwrap_or_default();
        assert_eq!(
            e(json!({"path": "f.txt", "old_string": "a", "new_string": "b"})),
            "str_replace: old_string found 3 times in \"f.txt\", want 1"
        );
        assert_eq!(
            e(
                json!({"path": "f.txt", "old_string": "z", "new_string": "b", "expected_replacements": 2})
            ),
            "str_replace: old_string found 0 times in \"f.txt\", want 2"
        );
        assert_eq!(
            e(json!({"path": "f.txt", "old_string": "", "new_string": "b"})),
            "str_replace: \"old_string\" must be a non-empty string"
        );
        assert!(
            e(json!({"path": "f.txt", "old_string": "a", "new_string": "b", "expected_replacements": 0}))
                .starts_with("str_replace: \"expected_replacements\" must be an integer ≥ 1")
        );
        assert_eq!(
            std::fs::read_to_string(f.ws.join("f.txt")).expect("r"),
            "a a a"
        );
    }

    #[test]
    fn escapes_are_refused() {
        let f = fixture();
        symlink(f.outside.join("secret.txt"), f.ws.join("s")).expect("symlink");
        let ws = Workspace::new(&f.ws).expect("ws");
        for p in ["s", "../outside/secret.txt", "/etc/hostname"] {
            let e = run(
                &ws,
                &json!({"path": p, "old_string": "secret", "new_string": "x"}),
            )
            .err()
            .map(|e| e.0);
            assert!(
                e.as_deref()
                    .is_some_and(|m| m.starts_with("str_replace: path escapes workspace")),
                "{p}: {e:?}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(f.outside.join("secret.txt")).expect("r"),
            "secret"
        );
    }
}
