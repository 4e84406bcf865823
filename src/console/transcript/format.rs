//! Turning raw message payloads into readable display lines.
//!
//! Tool results arrive as JSON strings such as `{"exit_code":0,"stdout":"a\nb","stderr":""}`.
//! Shown verbatim they are one escaped line; here they become a summary line of scalar fields
//! followed by one indented section per multi-line field (`stdout`, then `stderr`, …). Tool
//! call arguments get the same treatment (`command: cargo test`). Anything that is not a JSON
//! object is shown as text. ANSI escape sequences are stripped so colourised command output
//! does not show up as `�[31m` noise.

use serde_json::Value;

/// One display line produced by the formatters, with its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FLine {
    pub text: String,
    pub kind: FKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FKind {
    /// `key: value` summary or section header (`stdout:`).
    Key,
    /// Content of a section or plain text, indented one level under its key.
    Value,
    /// Plain text at the top level.
    Plain,
    /// An `error` field or other failure text.
    Error,
}

/// Strings longer than this (or containing a newline) get a section instead of a summary slot.
const INLINE_MAX: usize = 80;

/// Removes escape sequences (colours, cursor moves, titles, OSC 52/8) and other control
/// characters from tool output; the one rule is `oai::terminal_safe` (issue 9 §5).
pub(crate) fn strip_ansi(s: &str) -> std::borrow::Cow<'_, str> {
    crate::oai::terminal_safe(s)
}

fn push_text(out: &mut Vec<FLine>, text: &str, kind: FKind) {
    let text = strip_ansi(text);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    for line in text.split('\n') {
        out.push(FLine {
            text: line.to_string(),
            kind,
        });
    }
}

/// Output streams always get a section of their own, however short.
fn is_stream(key: &str) -> bool {
    matches!(key, "stdout" | "stderr" | "content" | "output")
}

fn scalar(key: &str, v: &Value) -> Option<String> {
    match v {
        Value::String(s) if is_stream(key) && !s.is_empty() => None,
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.len() <= INLINE_MAX && !s.contains('\n') => Some(s.clone()),
        Value::String(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Section order: `error` first, scalars next (as the summary line), then `stdout` before
/// `stderr` before anything else multi-line; `BTreeMap` order within a rank.
fn rank(key: &str) -> u8 {
    match key {
        "error" => 0,
        "stdout" | "content" | "output" => 1,
        "stderr" => 2,
        _ => 3,
    }
}

/// A command that failed or timed out: its summary line is drawn as an error.
fn failed(map: &serde_json::Map<String, Value>) -> bool {
    let bad_exit = map
        .get("exit_code")
        .and_then(Value::as_i64)
        .is_some_and(|c| c != 0);
    let timed_out = map.get("timed_out").and_then(Value::as_bool) == Some(true);
    bad_exit || timed_out
}

/// Lines of a JSON object: a summary of scalar fields, then sections. `None` if `raw` is not a
/// JSON object. Keys in `skip` are left out (a result need not repeat its call's `command`).
fn object_lines(raw: &str, skip: &[&str]) -> Option<(Vec<FLine>, bool)> {
    let trimmed = raw.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return None;
    };
    let mut out = Vec::new();
    let mut is_error = false;
    if let Some(Value::String(e)) = map.get("error") {
        is_error = true;
        push_text(&mut out, e, FKind::Error);
    }
    let summary: Vec<String> = map
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter(|(k, _)| k.as_str() != "error" || !is_error)
        .filter_map(|(k, v)| scalar(k, v).map(|s| format!("{k}: {s}")))
        .filter(|s| !s.ends_with(": "))
        .collect();
    if !summary.is_empty() {
        out.push(FLine {
            text: summary.join("  "),
            kind: if failed(&map) {
                FKind::Error
            } else {
                FKind::Key
            },
        });
    }
    let mut sections: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, v)| {
            scalar(k, v).is_none()
                && !(is_error && k.as_str() == "error")
                && !skip.contains(&k.as_str())
        })
        .collect();
    sections.sort_by_key(|(k, _)| rank(k));
    for (k, v) in sections {
        out.push(FLine {
            text: format!("{k}:"),
            kind: FKind::Key,
        });
        match v {
            Value::String(s) => push_text(&mut out, s, FKind::Value),
            other => {
                let pretty =
                    serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string());
                push_text(&mut out, &pretty, FKind::Value);
            }
        }
    }
    if out.is_empty() {
        out.push(FLine {
            text: "{}".into(),
            kind: FKind::Plain,
        });
    }
    Some((out, is_error))
}

/// Display lines of a tool result and whether it reports an error.
pub(crate) fn tool_result_lines(raw: &str) -> (Vec<FLine>, bool) {
    if let Some(r) = object_lines(raw, &["command"]) {
        return r;
    }
    let mut out = Vec::new();
    push_text(&mut out, raw, FKind::Plain);
    (out, false)
}

/// Display lines of (complete) tool-call arguments; raw text if they are not a JSON object,
/// which is also how partial arguments look while they stream.
pub(crate) fn tool_args_lines(raw: &str) -> Vec<FLine> {
    if raw.trim().is_empty() {
        return Vec::new();
    }
    if let Some((lines, _)) = object_lines(raw, &[]) {
        return lines
            .into_iter()
            .map(|l| FLine {
                kind: if l.kind == FKind::Error {
                    FKind::Plain
                } else {
                    l.kind
                },
                ..l
            })
            .collect();
    }
    let mut out = Vec::new();
    push_text(&mut out, raw, FKind::Plain);
    out
}

/// `12345` → `12,345`: token counts are read at a glance.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[FLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn bash_result_is_readable() {
        let raw = r#"{"command":"ls","exit_code":0,"stderr":"warn\n","stdout":"a\nb\n","timed_out":false}"#;
        let (lines, err) = tool_result_lines(raw);
        assert!(!err);
        assert_eq!(
            texts(&lines),
            vec![
                "exit_code: 0  timed_out: false",
                "stdout:",
                "a",
                "b",
                "stderr:",
                "warn"
            ]
        );
        assert_eq!(lines[2].kind, FKind::Value);
    }

    #[test]
    fn empty_fields_are_dropped() {
        let (lines, _) = tool_result_lines(r#"{"exit_code":1,"stdout":"","stderr":"boom"}"#);
        assert_eq!(texts(&lines), vec!["exit_code: 1", "stderr:", "boom"]);
        assert_eq!(
            lines[0].kind,
            FKind::Error,
            "non-zero exit reads as a failure"
        );
    }

    #[test]
    fn error_results_are_flagged() {
        let (lines, err) = tool_result_lines(r#"{"error":"no such file"}"#);
        assert!(err);
        assert_eq!(texts(&lines), vec!["no such file"]);
        assert_eq!(lines[0].kind, FKind::Error);
    }

    #[test]
    fn non_json_is_plain_text() {
        let (lines, err) = tool_result_lines("hello\nworld");
        assert!(!err);
        assert_eq!(texts(&lines), vec!["hello", "world"]);
        let (lines, _) = tool_result_lines("{not json");
        assert_eq!(texts(&lines), vec!["{not json"]);
    }

    #[test]
    fn args_show_key_values() {
        let lines = tool_args_lines(r#"{"command":"cargo test","path":"src/a.rs"}"#);
        assert_eq!(texts(&lines), vec!["command: cargo test  path: src/a.rs"]);
        let lines = tool_args_lines(r#"{"path":"a","content":"x\ny"}"#);
        assert_eq!(texts(&lines), vec!["path: a", "content:", "x", "y"]);
        let lines = tool_args_lines(r#"{"command": "ls -l"#);
        assert_eq!(texts(&lines), vec![r#"{"command": "ls -l"#]);
    }

    #[test]
    fn ansi_sequences_are_stripped() {
        assert_eq!(strip_ansi("\u{1b}[1;31mred\u{1b}[0m ok"), "red ok");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}x"), "x");
        assert_eq!(strip_ansi("trailing \u{1b}"), "trailing ");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
