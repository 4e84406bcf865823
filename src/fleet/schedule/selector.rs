//! Equality-based label selectors (`k=v,k!=v,k,!k`), the subset of kubectl's syntax that
//! `--node-selector` and `--task-selector` need to partition work with LLMKube's operator.
//! Parsed once, matched locally, and printed back in Kubernetes syntax for server-side
//! filtering of watches.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A conjunction of label requirements; empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid label selector {input:?}: {why} (use k=v, k!=v, k or !k, comma-separated)")]
pub struct SelectorError {
    input: String,
    why: String,
}

impl LabelSelector {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `labels` (an object's `metadata.labels`) satisfy every requirement.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        self.terms.iter().all(|t| match t {
            Term::Eq(k, v) => get(k) == Some(v),
            Term::NotEq(k, v) => get(k) != Some(v),
            Term::Exists(k) => get(k).is_some(),
            Term::NotExists(k) => get(k).is_none(),
        })
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| SelectorError {
            input: input.to_string(),
            why: why.to_string(),
        };
        if input.contains('(') || input.contains(')') {
            return Err(err("set-based requirements (in, notin) are not supported"));
        }
        let mut terms = Vec::new();
        for raw in input.split(',').map(str::trim) {
            if raw.is_empty() {
                if input.trim().is_empty() {
                    continue;
                }
                return Err(err("empty requirement"));
            }
            let term = if let Some((k, v)) = raw.split_once("!=") {
                Term::NotEq(key(k).map_err(|w| err(&w))?, value(v).map_err(|w| err(&w))?)
            } else if let Some((k, v)) = raw.split_once("==").or_else(|| raw.split_once('=')) {
                Term::Eq(key(k).map_err(|w| err(&w))?, value(v).map_err(|w| err(&w))?)
            } else if let Some(k) = raw.strip_prefix('!') {
                Term::NotExists(key(k).map_err(|w| err(&w))?)
            } else {
                Term::Exists(key(raw).map_err(|w| err(&w))?)
            };
            terms.push(term);
        }
        Ok(LabelSelector { terms })
    }
}

/// A label key: optional DNS prefix + `/` + name of `[A-Za-z0-9._-]`.
fn key(k: &str) -> Result<String, String> {
    let k = k.trim();
    let name = k.rsplit_once('/').map_or(k, |(_, n)| n);
    let ok_chars = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
    };
    if name.is_empty() || !ok_chars(k) || k.matches('/').count() > 1 {
        return Err(format!("bad label key {k:?}"));
    }
    Ok(k.to_string())
}

fn value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Ok(v.to_string())
    } else {
        Err(format!("bad label value {v:?}"))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match t {
                Term::Eq(k, v) => write!(f, "{k}={v}")?,
                Term::NotEq(k, v) => write!(f, "{k}!={v}")?,
                Term::Exists(k) => write!(f, "{k}")?,
                Term::NotExists(k) => write!(f, "!{k}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_matches_and_round_trips() {
        let s: LabelSelector = "pool=a, foreman.dev/owner==us,tier!=gpu,zone,!legacy"
            .parse()
            .unwrap();
        assert_eq!(
            s.to_string(),
            "pool=a,foreman.dev/owner=us,tier!=gpu,zone,!legacy"
        );
        let good = labels(&[("pool", "a"), ("foreman.dev/owner", "us"), ("zone", "z")]);
        assert!(s.matches(Some(&good)));
        let mut bad = good.clone();
        bad.insert("legacy".into(), "".into());
        assert!(!s.matches(Some(&bad)));
        assert!(!s.matches(None));
        let empty: LabelSelector = "".parse().unwrap();
        assert!(empty.is_empty() && empty.matches(None));
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        for bad in ["a in (x,y)", "a=b,,c", "=v", "a=b c", "a/b/c=d"] {
            let e = bad.parse::<LabelSelector>().unwrap_err().to_string();
            assert!(e.contains("invalid label selector"), "{bad}: {e}");
        }
    }
}
