//! The one YAML stack: `serde-saphyr` (it replaced the deprecated `serde_yaml`, which had no
//! budgets: a 200 KB file nested 10^5 deep took 26 s of CPU before its error). Every read goes
//! through the options here, so manifests, the embedded store and tests agree on what YAML means;
//! the bounds of a manifest file live here too, with the words a tripped bound is reported in.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind;
use serde_saphyr::{Error, ExternalMessageSource, Location, Options};

pub use serde_saphyr::{Error as ParseError, SerializeError};

/// Input bounds of one manifest file, which is one submit (all its objects or none).
///
/// The defaults are far above any hand-written or generated fleet and far below what hurts:
/// each bound answers in milliseconds (`benches/yaml_bounds.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one file.
    pub max_bytes: usize,
    /// Objects (non-empty documents) in one file.
    pub max_objects: usize,
    /// Nesting of mappings and sequences (a task is 4 deep; few-shot arguments add their own).
    pub max_depth: usize,
    /// Nodes that aliases (`*name`) may add in total: the billion-laughs budget.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_objects: 1_000,
            max_depth: 64,
            max_alias_nodes: 50_000,
        }
    }
}

/// What YAML means here: the YAML 1.2 scalars `serde_yaml` read (`yes`, `on`, `1_000` and `017`
/// stay strings, so files it wrote read back the same), and one-line errors (the caller names file
/// and line, no snippets).
fn base_options() -> Options {
    serde_saphyr::options! {
        strict_booleans: true,
        underscored_numbers_as_strings: true,
        leading_zero_numbers_as_strings: true,
        with_snippet: false,
    }
}

/// The options a manifest file is parsed with: [`base_options`] plus `limits` as budgets.
pub(crate) fn manifest_options(limits: &Limits) -> Options {
    let mut options = base_options();
    options.budget = serde_saphyr::budget! {
        max_depth: limits.max_depth,
        // The parser limits flow collections (`[[[[`) itself, scanning ahead of the budget's
        // depth count: the same number for both, so either way the limit is `max_depth`.
        flow_nesting_limit: limits.max_depth,
        // One more than the objects: room for the empty document after a trailing `---`.
        max_documents: limits.max_objects.saturating_add(1),
        max_recorded_anchor_events: limits.max_alias_nodes,
        // Off: one anchor used many times (a shared stop list, repeated few-shot arguments) is
        // normal reuse; the absolute alias budgets here already stop a bomb.
        enforce_alias_anchor_ratio: false,
    };
    options.alias_limits = serde_saphyr::alias_limits! {
        max_total_replayed_events: limits.max_alias_nodes,
    };
    options
}

/// Reads a value this program wrote (the embedded store): same YAML rules, the library's
/// default budgets.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    serde_saphyr::from_str_with_options(text, base_options())
}

/// Every non-empty document of a multi-document text, by the same rules (for tests and tools
/// that read `foreman crds` or example files without the strict loader).
pub fn documents<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, ParseError> {
    serde_saphyr::from_multiple_with_options(text, base_options())
}

/// Writes a value as YAML (manifests, the embedded store, `foreman crds`).
pub fn to_string<T: Serialize>(value: &T) -> Result<String, SerializeError> {
    serde_saphyr::to_string(value)
}

/// A parse error in the words meant for users, with its line and column (the default wording
/// is for developers: "set DuplicateKeyPolicy in Options if acceptable").
pub fn user_message(err: &ParseError) -> String {
    err.render_with_formatter(&serde_saphyr::UserMessageFormatter)
}

/// A tripped bound in plain words: which limit, where, and what to do. `None` for every other
/// error (a syntax error, say), which the caller reports as invalid YAML.
pub(crate) fn bound_message(err: &Error, limits: &Limits) -> Option<String> {
    match err {
        // Where the alias is used, not where its anchor's nodes were written.
        Error::AliasError {
            error, locations, ..
        } => bound_text(error, Some(locations.reference_location), limits),
        _ => bound_text(err, err.location(), limits),
    }
}

fn bound_text(err: &Error, at: Option<Location>, limits: &Limits) -> Option<String> {
    let at = at.map(where_).unwrap_or_default();
    let depth = || {
        format!(
            "{at}nested deeper than {} levels (the manifest depth limit); no manifest needs that \
             many, so look for unbalanced brackets or generated input",
            limits.max_depth
        )
    };
    let aliases = || {
        format!(
            "{at}YAML aliases expand to more than {} nodes (the manifest alias limit, against \
             alias bombs); write the repeated parts out or use fewer aliases",
            limits.max_alias_nodes
        )
    };
    Some(match err {
        Error::ExternalMessage { source, .. } => match source.as_ref() {
            ExternalMessageSource::Parser(e) if *e.kind() == ErrorKind::RecursionLimitExceeded => {
                depth()
            }
            _ => return None,
        },
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. } => aliases(),
        Error::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => depth(),
            BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::Aliases { .. } => aliases(),
            BudgetBreach::Documents { .. } => format!(
                "{at}more than {} YAML documents (at most {} objects can be submitted at once); \
                 split the file",
                limits.max_objects.saturating_add(1),
                limits.max_objects
            ),
            BudgetBreach::Nodes { nodes } | BudgetBreach::Events { events: nodes } => format!(
                "{at}more than {} YAML nodes; split the file",
                nodes.saturating_sub(1)
            ),
            other => format!("{at}over a YAML budget ({other:?}); split or simplify the file"),
        },
        _ => return None,
    })
}

/// "line L, column C: " of a parser location (empty when it has none).
fn where_(l: Location) -> String {
    if l.line() == 0 {
        return String::new();
    }
    format!("line {}, column {}: ", l.line(), l.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the store and `to_yaml` write must read back unchanged, whatever the text: the
    /// serializer picks quoting and block styles (`|`, `>`), and a wrong pick would alter a
    /// prompt or transcript silently.
    /// Plain scalars as `serde_yaml` wrote and read them (YAML 1.2 core): state files it
    /// wrote must mean the same now.
    #[test]
    fn yaml_1_2_scalars_keep_their_meaning() {
        let text = "a: yes\nb: on\nc: 1_000\nd: 017\ne: true\nf: ~\ng: 0x1F\nh: 1.5\n";
        let v: serde_json::Value = from_str(text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "yes", "b": "on", "c": "1_000", "d": "017", "e": true,
                "f": null, "g": 31, "h": 1.5})
        );
    }

    #[test]
    fn awkward_strings_round_trip() {
        let long = "word ".repeat(40);
        let cases = [
            "",
            " ",
            "yes",
            "no",
            "on",
            "true",
            "null",
            "~",
            "1.0",
            "0x1F",
            "017",
            "1_000",
            ".inf",
            "a: b",
            "# not a comment",
            "- item",
            "*alias",
            "&anchor",
            "!tag",
            "'quoted'",
            "\"double\"",
            "back\\slash",
            "tab\there",
            "trailing space ",
            " leading space",
            "line\nbreak",
            "ends with newline\n",
            "two trailing\n\n",
            "\nstarts with newline",
            "crlf\r\nline",
            "  indented\n    more\nless",
            "unicode: é ✓ 日本",
            "\u{feff}bom",
            "---",
            "...",
            &long,
            &format!("{long} two  spaces  {long}"),
            &format!("{long}\n{long}\n"),
            &format!("x{}", "y".repeat(300)),
        ];
        for s in cases {
            let doc = serde_json::json!({ "s": s, "list": [s, s] });
            let text = to_string(&doc).unwrap();
            let back: serde_json::Value =
                from_str(&text).unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
            assert_eq!(back, doc, "{s:?} does not round-trip:\n{text}");
        }
    }
}
