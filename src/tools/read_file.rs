//! `read_file`: a bounded, optionally line-ranged view of one workspace file.
//!
//! The file is streamed once: bytes inside the requested line range are copied until the
//! 16 KiB cap, and the rest is only scanned for newlines so `total_lines` is always truthful.
//! Memory stays bounded whatever the file or line length.

use super::args::Args;
use super::path::Workspace;
use super::{ToolError, ToolOutput};
use crate::oai::ToolSpec;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};

pub(crate) const NAME: &str = "read_file";
/// Byte cap on returned content (P550).
pub(crate) const CAP: usize = 16 * 1024;

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::function(
        NAME,
        "Read a text file from the repository. Paths are relative to the repository root. \
         Returns at most 16 KiB of content plus start_line, end_line and total_lines; if \
         `truncated` is true, call again with `offset` = end_line (or end_line + 1) to continue. \
         Use offset/limit to read a specific line range of a large file.",
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the repository root, e.g. \"src/main.rs\"."},
                "offset": {"type": "integer", "minimum": 1, "description": "1-based line to start reading at (default 1)."},
                "limit": {"type": "integer", "minimum": 0, "description": "Maximum number of lines to return; 0 or absent means to end of file."}
            },
            "required": ["path"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn run(ws: &Workspace, args: &Value) -> Result<ToolOutput, ToolError> {
    let a = Args::new(NAME, args, &["path", "offset", "limit"])?;
    let path = a.non_empty_str("path")?;
    let offset = a.opt_int("offset", 1)?.unwrap_or(1) as u64;
    let limit = a.opt_int("limit", 0)?.unwrap_or(0) as u64;
    let abs = ws.resolve(path).map_err(|e| a.err(e))?;
    if abs.is_dir() {
        return Err(a.err(format!(
            "{path:?} is a directory; use grep or bash (ls) to list it"
        )));
    }
    let file = std::fs::File::open(&abs).map_err(|e| a.err(format!("open {path:?}: {e}")))?;
    let view = read_range(BufReader::new(file), offset, limit, CAP)
        .map_err(|e| a.err(format!("read {path:?}: {e}")))?;

    let mut out = json!({
        "path": path,
        "content": view.content,
        "truncated": view.truncated,
        "bytes": view.bytes,
        "start_line": offset,
        "end_line": view.end_line,
        "total_lines": view.total_lines,
    });
    if view.bytes == 0 && offset > view.total_lines && offset > 1 {
        out["note"] = json!(format!(
            "offset {offset} is past the end of the file ({} lines)",
            view.total_lines
        ));
    }
    Ok(ToolOutput::data(out))
}

#[derive(Debug, PartialEq)]
pub(crate) struct View {
    pub content: String,
    pub truncated: bool,
    /// Raw bytes of the file that `content` represents.
    pub bytes: usize,
    /// Last line any byte was returned from; `offset - 1` when nothing was returned.
    pub end_line: u64,
    pub total_lines: u64,
}

/// Streams `r`, returning lines `offset..offset+limit` (limit 0 = to EOF) capped at `cap`
/// bytes. The line crossing the cap is cut and `truncated` set.
fn read_range(mut r: impl BufRead, offset: u64, limit: u64, cap: usize) -> std::io::Result<View> {
    let last_wanted = if limit == 0 {
        u64::MAX
    } else {
        offset.saturating_add(limit - 1)
    };
    let mut content: Vec<u8> = Vec::new();
    let mut truncated = false;
    let mut end_line = offset - 1;
    let mut line: u64 = 1; // line number of the next byte
    let mut newlines: u64 = 0;
    let mut last_byte: Option<u8> = None;
    let mut copying = true; // false once the range or the cap is exhausted

    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        last_byte = chunk.last().copied();
        if copying {
            for piece in chunk.split_inclusive(|b| *b == b'\n') {
                let ends_line = piece.last() == Some(&b'\n');
                if copying && line >= offset {
                    if line > last_wanted {
                        copying = false;
                    } else {
                        let room = cap - content.len();
                        if piece.len() > room {
                            truncated = true;
                            copying = false;
                        }
                        let take = piece.len().min(room);
                        if take > 0 {
                            content.extend_from_slice(&piece[..take]);
                            end_line = line;
                        }
                    }
                }
                if ends_line {
                    newlines += 1;
                    line += 1;
                }
            }
        } else {
            newlines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        r.consume(n);
    }

    let total_lines = newlines + u64::from(last_byte.is_some_and(|b| b != b'\n'));
    let bytes = content.len();
    Ok(View {
        content: lossy_utf8(content),
        truncated,
        bytes,
        end_line,
        total_lines,
    })
}

/// Binary or cut multi-byte text must still serialize as valid JSON; invalid sequences become
/// U+FFFD instead of failing the call.
fn lossy_utf8(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::path::tests::fixture;

    fn view(data: &[u8], offset: u64, limit: u64, cap: usize) -> View {
        // A tiny BufReader capacity exercises pieces spanning chunk boundaries.
        read_range(BufReader::with_capacity(7, data), offset, limit, cap).expect("read")
    }

    #[test]
    fn whole_small_file() {
        let v = view(b"a\nbb\nccc\n", 1, 0, CAP);
        assert_eq!(v.content, "a\nbb\nccc\n");
        assert!(!v.truncated);
        assert_eq!((v.bytes, v.end_line, v.total_lines), (9, 3, 3));
    }

    #[test]
    fn missing_final_newline_still_counts_the_line() {
        let v = view(b"a\nb", 1, 0, CAP);
        assert_eq!((v.end_line, v.total_lines), (2, 2));
    }

    #[test]
    fn empty_file() {
        let v = view(b"", 1, 0, CAP);
        assert_eq!(v.content, "");
        assert_eq!((v.bytes, v.end_line, v.total_lines), (0, 0, 0));
    }

    #[test]
    fn whole_file_truncation_counts_all_lines() {
        let data: Vec<u8> = (0..10_000)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let v = view(&data, 1, 0, 100);
        assert!(v.truncated);
        assert_eq!(v.bytes, 100);
        assert_eq!(v.content.as_bytes(), &data[..100]);
        assert_eq!(v.total_lines, 10_000);
        // 100 bytes = "0\n".."9\n" (20) + "10\n".."35\n" (78) + "36" cut mid-line.
        assert_eq!(v.end_line, 37);
    }

    #[test]
    fn ranged_mode_skips_and_limits() {
        let v = view(b"l1\nl2\nl3\nl4\nl5\n", 2, 2, CAP);
        assert_eq!(v.content, "l2\nl3\n");
        assert!(!v.truncated);
        assert_eq!((v.end_line, v.total_lines), (3, 5));
        let v = view(b"l1\nl2\nl3\nl4\nl5\n", 4, 0, CAP);
        assert_eq!(v.content, "l4\nl5\n");
        assert_eq!(v.end_line, 5);
    }

    #[test]
    fn ranged_mode_cuts_the_line_crossing_the_cap() {
        let v = view(b"l1\nabcdefghij\nl3\n", 2, 5, 4);
        assert_eq!(v.content, "abcd");
        assert!(v.truncated);
        assert_eq!((v.end_line, v.total_lines), (2, 3));
    }

    #[test]
    fn filling_the_cap_exactly_is_not_truncation() {
        let v = view(b"abc\ndef\n", 1, 1, 4);
        assert_eq!(v.content, "abc\n");
        assert!(!v.truncated);
    }

    #[test]
    fn offset_past_eof_is_empty_with_truthful_counts() {
        let v = view(b"a\nb\n", 10, 0, CAP);
        assert_eq!(v.content, "");
        assert!(!v.truncated);
        assert_eq!((v.bytes, v.end_line, v.total_lines), (0, 9, 2));
    }

    #[test]
    fn long_lines_are_fine() {
        let mut data = vec![b'x'; 8 * 1024 * 1024];
        data.extend_from_slice(b"\nend\n");
        let v = read_range(BufReader::new(&data[..]), 2, 0, CAP).expect("read");
        assert_eq!(v.content, "end\n");
        assert_eq!(v.total_lines, 2);
        let v = read_range(BufReader::new(&data[..]), 1, 1, CAP).expect("read");
        assert!(v.truncated);
        assert_eq!(v.bytes, CAP);
    }

    #[test]
    fn binary_file_gives_valid_json() {
        let f = fixture();
        std::fs::write(f.ws.join("bin"), [0u8, 159, 146, 150, 0xff, b'\n', 0xc3]).expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let out = run(&ws, &json!({"path": "bin"})).expect("run").output;
        let text = serde_json::to_string(&out).expect("serialize");
        let back: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back["bytes"], 7);
        assert!(
            back["content"]
                .as_str()
                .is_some_and(|s| s.contains('\u{FFFD}'))
        );
    }

    #[test]
    fn run_reports_all_fields_and_rejects_escapes() {
        let f = fixture();
        std::fs::write(f.ws.join("a.txt"), "one\ntwo\nthree\n").expect("w");
        let ws = Workspace::new(&f.ws).expect("ws");
        let out = run(&ws, &json!({"path": "a.txt", "offset": 2, "limit": 1}))
            .expect("run")
            .output;
        assert_eq!(
            out,
            json!({"path": "a.txt", "content": "two\n", "truncated": false, "bytes": 4,
                   "start_line": 2, "end_line": 2, "total_lines": 3})
        );
        let past = run(&ws, &json!({"path": "a.txt", "offset": 9}))
            .expect("run")
            .output;
        assert!(
            past["note"]
                .as_str()
                .is_some_and(|n| n.contains("past the end"))
        );
        std::os::unix::fs::symlink(f.outside.join("secret.txt"), f.ws.join("link"))
            .expect("symlink");
        for bad in ["../outside/secret.txt", "/etc/passwd", "link"] {
            let e = run(&ws, &json!({"path": bad})).err().map(|e| e.0);
            assert!(
                e.as_deref()
                    .is_some_and(|m| m.starts_with("read_file: path escapes workspace")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn bad_arguments_are_named() {
        let f = fixture();
        let ws = Workspace::new(&f.ws).expect("ws");
        let e = |v: Value| run(&ws, &v).err().map(|e| e.0).unwrap_or_default();
        assert!(
            e(json!({"path": "a", "offset": 0}))
                .starts_with("read_file: \"offset\" must be an integer ≥ 1")
        );
        assert!(
            e(json!({"path": "a", "limit": -1}))
                .starts_with("read_file: \"limit\" must be an integer ≥ 0")
        );
        assert!(
            e(json!({"path": ""})).starts_with("read_file: \"path\" must be a non-empty string")
        );
        assert!(e(json!({"path": "nope.txt"})).starts_with("read_file: open \"nope.txt\""));
        assert!(e(json!({"path": "."})).contains("is a directory"));
    }
}
