//! `grep`: regex search over the workspace on ripgrep's own crates (`grep-regex`,
//! `grep-searcher`, `ignore`), with ripgrep's walk rules: `.gitignore`/`.ignore` respected,
//! hidden files included, `.git` skipped, symlinks not followed, binary files skipped.
//!
//! The walk is parallel. Each file's matches are buffered until the file is done so a file
//! found to contain NUL bytes can be dropped whole (no garbage reaches the model). The walk
//! stops once more than `max` matches exist, which makes `truncated` exact (spec §11.13).

use super::args::Args;
use super::path::Workspace;
use super::{ToolError, ToolOutput};
use crate::oai::ToolSpec;
use grep::regex::{RegexMatcher, RegexMatcherBuilder};
use grep::searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use ignore::{WalkBuilder, WalkState};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) const NAME: &str = "grep";
pub(crate) const DEFAULT_MAX: usize = 200;
/// Characters of one matching line shown to the model; minified files have megabyte lines.
pub(crate) const TEXT_CAP: usize = 500;
/// A line longer than this aborts that file's search instead of growing the buffer further.
const HEAP_LIMIT: usize = 16 * 1024 * 1024;

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::function(
        NAME,
        "Search file contents with a regular expression (Rust `regex` syntax, like ripgrep: \
         e.g. `fn\\s+main`, `(?i)todo`; escape literal `.(){}[]*+?|^$\\`). Searches \
         recursively under `path`, honours .gitignore, skips .git and binary files. Returns \
         matching lines as {file, line, text} sorted by file then line; `truncated` is true \
         when more than `max` matches exist (narrow the pattern or path then).",
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Regular expression (Rust regex syntax), matched per line."},
                "path": {"type": "string", "description": "File or directory to search, relative to the repository root (default \".\")."},
                "max": {"type": "integer", "minimum": 1, "description": "Maximum number of matches to return (default 200)."}
            },
            "required": ["pattern"],
            "additionalProperties": false
        }),
    )
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Match {
    pub file: String,
    pub line: u64,
    pub text: String,
}

pub(crate) fn run(ws: &Workspace, args: &Value) -> Result<ToolOutput, ToolError> {
    let a = Args::new(NAME, args, &["pattern", "path", "max"])?;
    let pattern = a.non_empty_str("pattern")?;
    let path = a.opt_str("path")?.filter(|p| !p.is_empty()).unwrap_or(".");
    let max = a.opt_int("max", 1)?.map_or(DEFAULT_MAX, |m| m as usize);
    let root = ws.resolve(path).map_err(|e| a.err(e))?;
    if !root.exists() {
        return Err(a.err(format!("{path:?} does not exist")));
    }
    let matcher = RegexMatcherBuilder::new()
        .line_terminator(Some(b'\n'))
        .build(pattern)
        .map_err(|e| {
            a.err(format!(
                "invalid regex {pattern:?} (Rust regex syntax, one line at a time): {e}"
            ))
        })?;
    let (matches, truncated) = search(ws.root(), &root, &matcher, max);
    Ok(ToolOutput::data(json!({
        "pattern": pattern,
        "matches": matches,
        "truncated": truncated,
    })))
}

/// Searches `root` (inside `ws_root`), returning at most `max` matches sorted by file and
/// line, and whether more than `max` exist. When truncated, which `max` matches are kept
/// depends on thread scheduling; the untruncated result is deterministic.
pub(crate) fn search(
    ws_root: &Path,
    root: &Path,
    matcher: &RegexMatcher,
    max: usize,
) -> (Vec<Match>, bool) {
    let found = Mutex::new(Vec::<Match>::new());
    let total = AtomicUsize::new(0);
    let searcher_builder = {
        let mut b = SearcherBuilder::new();
        b.line_number(true)
            .binary_detection(BinaryDetection::quit(b'\x00'))
            .heap_limit(Some(HEAP_LIMIT));
        b
    };

    WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .git_global(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build_parallel()
        .run(|| {
            let mut searcher = searcher_builder.build();
            let found = &found;
            let total = &total;
            Box::new(move |entry| {
                if total.load(Ordering::Relaxed) > max {
                    return WalkState::Quit;
                }
                // Walk errors (permissions, races) are skipped like ripgrep's silent mode.
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let mut sink = FileSink {
                    file: None,
                    path: entry.path(),
                    ws_root,
                    matches: Vec::new(),
                    binary: false,
                    limit: max + 1,
                };
                // A file that fails mid-search (I/O error, over-long line) keeps what it found.
                let _ = searcher.search_path(matcher, entry.path(), &mut sink);
                if sink.binary || sink.matches.is_empty() {
                    return WalkState::Continue;
                }
                let n = sink.matches.len();
                if let Ok(mut f) = found.lock() {
                    f.extend(sink.matches);
                }
                if total.fetch_add(n, Ordering::Relaxed) + n > max {
                    WalkState::Quit
                } else {
                    WalkState::Continue
                }
            })
        });

    let mut matches = found.into_inner().unwrap_or_else(|p| p.into_inner());
    let truncated = matches.len() > max;
    matches.sort_unstable();
    matches.truncate(max);
    (matches, truncated)
}

/// Collects one file's matches; never more than `limit` (no single file needs more).
/// Binary detection runs as each buffer is read and truncates it at the first NUL, so no
/// reported line ever holds binary bytes; a file is dropped whole if its NUL is seen before
/// `limit` matches were collected (the only leak is text lines preceding a late NUL).
struct FileSink<'a> {
    file: Option<String>,
    path: &'a Path,
    ws_root: &'a Path,
    matches: Vec<Match>,
    binary: bool,
    limit: usize,
}

impl Sink for FileSink<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        let file = self
            .file
            .get_or_insert_with(|| relative(self.ws_root, self.path))
            .clone();
        self.matches.push(Match {
            file,
            line: m.line_number().unwrap_or(0),
            text: line_text(m.bytes()),
        });
        Ok(self.matches.len() < self.limit)
    }

    fn binary_data(&mut self, _: &Searcher, _offset: u64) -> Result<bool, Self::Error> {
        self.binary = true;
        Ok(false)
    }
}

fn relative(ws_root: &Path, p: &Path) -> String {
    match p.strip_prefix(ws_root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The matched line without its terminator, lossily decoded and capped at [`TEXT_CAP`] chars.
fn line_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    // Decode only a bounded prefix: 4 bytes per char is the UTF-8 maximum.
    let head = &bytes[..bytes.len().min(TEXT_CAP * 4)];
    let text = String::from_utf8_lossy(head);
    match text.char_indices().nth(TEXT_CAP) {
        Some((cut, _)) => format!(
            "{}... [line truncated, {} bytes total]",
            &text[..cut],
            bytes.len()
        ),
        None if head.len() < bytes.len() => {
            format!("{text}... [line truncated, {} bytes total]", bytes.len())
        }
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::path::tests::fixture;

    fn grep(ws: &Workspace, args: Value) -> Result<Value, String> {
        run(ws, &args).map(|o| o.output).map_err(|e| e.0)
    }

    fn files(out: &Value) -> Vec<String> {
        out["matches"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| format!("{}:{}", m["file"].as_str().unwrap_or(""), m["line"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn setup() -> (crate::tools::path::tests::Fixture, Workspace) {
        let f = fixture();
        let w = |p: &str, c: &[u8]| {
            let p = f.ws.join(p);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, c).expect("write");
        };
        w(".gitignore", b"ignored/\n*.log\n");
        w("src/main.rs", b"fn main() {\n    needle();\n}\n");
        w("src/lib.rs", b"// needle here\nfn needle() {}\n");
        w("ignored/x.rs", b"needle\n");
        w("debug.log", b"needle\n");
        w(".git/config", b"needle\n");
        w(".hidden/h.txt", b"needle\n");
        w("bin.dat", b"needle\x00\x01\x02needle\n");
        let ws = Workspace::new(&f.ws).expect("ws");
        (f, ws)
    }

    #[test]
    fn respects_gitignore_skips_git_and_binary_includes_hidden() {
        let (_f, ws) = setup();
        let out = grep(&ws, json!({"pattern": "needle"})).expect("grep");
        assert_eq!(
            files(&out),
            vec![
                ".hidden/h.txt:1",
                "src/lib.rs:1",
                "src/lib.rs:2",
                "src/main.rs:2"
            ]
        );
        assert_eq!(out["truncated"], false);
        assert_eq!(out["pattern"], "needle");
        assert_eq!(out["matches"][3]["text"], "    needle();");
    }

    #[test]
    fn subpath_and_single_file() {
        let (_f, ws) = setup();
        let out = grep(&ws, json!({"pattern": "fn \\w+", "path": "src"})).expect("grep");
        assert_eq!(files(&out), vec!["src/lib.rs:2", "src/main.rs:1"]);
        let out = grep(&ws, json!({"pattern": "needle", "path": "src/lib.rs"})).expect("grep");
        assert_eq!(files(&out), vec!["src/lib.rs:1", "src/lib.rs:2"]);
    }

    #[test]
    fn truncated_is_exact() {
        let (_f, ws) = setup();
        // Exactly 4 matches exist.
        let out = grep(&ws, json!({"pattern": "needle", "max": 4})).expect("grep");
        assert_eq!(out["truncated"], false);
        assert_eq!(out["matches"].as_array().map(Vec::len), Some(4));
        let out = grep(&ws, json!({"pattern": "needle", "max": 3})).expect("grep");
        assert_eq!(out["truncated"], true);
        assert_eq!(out["matches"].as_array().map(Vec::len), Some(3));
        let out = grep(&ws, json!({"pattern": "needle", "max": 1})).expect("grep");
        assert_eq!(out["truncated"], true);
        assert_eq!(out["matches"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn default_cap_is_200() {
        let f = fixture();
        let body: String = (0..450).map(|i| format!("hit {i}\n")).collect();
        std::fs::write(f.ws.join("many.txt"), &body).expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let out = grep(&ws, json!({"pattern": "hit"})).expect("grep");
        assert_eq!(out["matches"].as_array().map(Vec::len), Some(200));
        assert_eq!(out["truncated"], true);
        assert_eq!(out["matches"][199]["line"], 200);
    }

    #[test]
    fn long_lines_are_capped_with_a_marker() {
        let f = fixture();
        let mut line = "x".repeat(10_000);
        line.push_str("needle\n");
        std::fs::write(f.ws.join("min.js"), &line).expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let out = grep(&ws, json!({"pattern": "needle"})).expect("grep");
        let text = out["matches"][0]["text"].as_str().unwrap_or("");
        assert!(text.starts_with(&"x".repeat(TEXT_CAP)));
        assert!(
            text.ends_with("... [line truncated, 10006 bytes total]"),
            "{text}"
        );
        assert!(text.len() < TEXT_CAP + 50);
    }

    #[test]
    fn errors_are_named() {
        let (f, ws) = setup();
        std::os::unix::fs::symlink(&f.outside, f.ws.join("out")).expect("symlink");
        let e = grep(&ws, json!({"pattern": "(unclosed"}))
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("grep: invalid regex \"(unclosed\""), "{e}");
        let e = grep(&ws, json!({"pattern": ""})).err().unwrap_or_default();
        assert_eq!(e, "grep: \"pattern\" must be a non-empty string");
        let e = grep(&ws, json!({"pattern": "x", "path": "../outside"}))
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("grep: path escapes workspace"), "{e}");
        let e = grep(&ws, json!({"pattern": "x", "path": "out"}))
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("grep: path escapes workspace"), "{e}");
        let e = grep(&ws, json!({"pattern": "x", "max": 0}))
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("grep: \"max\" must be an integer ≥ 1"), "{e}");
        let e = grep(&ws, json!({"pattern": "x", "path": "nope"}))
            .err()
            .unwrap_or_default();
        assert_eq!(e, "grep: \"nope\" does not exist");
    }

    #[test]
    fn symlinks_inside_the_tree_are_not_followed() {
        let (f, ws) = setup();
        std::os::unix::fs::symlink(&f.outside, f.ws.join("out")).expect("symlink");
        let out = grep(&ws, json!({"pattern": "secret"})).expect("grep");
        assert_eq!(files(&out), Vec::<String>::new());
    }
}
