//! Argument access shared by the tools. Every error names the offending argument, because a
//! small model can only fix what the message points at.

use super::ToolError;
use serde_json::{Map, Value};

/// The arguments of one call, checked to be a JSON object with only known keys.
pub(crate) struct Args<'a> {
    tool: &'static str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    /// `null` counts as `{}` (some servers send no arguments for argument-less calls).
    /// Unknown keys are refused so a misspelt argument is not silently ignored.
    pub(crate) fn new(
        tool: &'static str,
        value: &'a Value,
        allowed: &[&str],
    ) -> Result<Self, ToolError> {
        let map = match value {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => {
                return Err(ToolError::new(
                    tool,
                    format!("arguments must be a JSON object, got {}", json_kind(other)),
                ));
            }
        };
        if let Some(m) = map {
            let mut unknown: Vec<&str> = m
                .keys()
                .map(String::as_str)
                .filter(|k| !allowed.contains(k))
                .collect();
            if !unknown.is_empty() {
                unknown.sort_unstable();
                return Err(ToolError::new(
                    tool,
                    format!(
                        "unknown argument(s) {}; allowed: {}",
                        quote_list(&unknown),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(Args { tool, map })
    }

    /// A present, non-null value.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    pub(crate) fn err(&self, msg: impl std::fmt::Display) -> ToolError {
        ToolError::new(self.tool, msg)
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ToolError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.err(format!(
                "\"{key}\" must be a string, got {}",
                json_kind(other)
            ))),
        }
    }

    /// A required string (may be empty).
    pub(crate) fn str(&self, key: &str) -> Result<&'a str, ToolError> {
        self.opt_str(key)?
            .ok_or_else(|| self.err(format!("missing required argument \"{key}\" (string)")))
    }

    /// A required, non-empty string.
    pub(crate) fn non_empty_str(&self, key: &str) -> Result<&'a str, ToolError> {
        let s = self.str(key)?;
        if s.is_empty() {
            return Err(self.err(format!("\"{key}\" must be a non-empty string")));
        }
        Ok(s)
    }

    /// An optional integer ≥ `min`. Integral floats (`5.0`) and numeric strings (`"5"`) are
    /// accepted because small models emit them; anything else names the argument and bound.
    pub(crate) fn opt_int(&self, key: &str, min: i64) -> Result<Option<i64>, ToolError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= min => Ok(Some(n)),
            _ => Err(self.err(format!("\"{key}\" must be an integer ≥ {min}, got {v}"))),
        }
    }

    pub(crate) fn opt_value(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_object_arguments_are_refused() {
        let v = json!([1]);
        let e = Args::new("t", &v, &["a"]).err().map(|e| e.0);
        assert_eq!(
            e.as_deref(),
            Some("t: arguments must be a JSON object, got an array")
        );
    }

    #[test]
    fn null_arguments_count_as_empty() {
        let v = Value::Null;
        let a = Args::new("t", &v, &["a"]).map_err(|e| e.0);
        assert!(a.is_ok());
        let e = a.ok().map(|a| a.str("a").map_err(|e| e.0));
        assert_eq!(
            e,
            Some(Err("t: missing required argument \"a\" (string)".into()))
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let v = json!({"a": "x", "zz": 1, "b": 2});
        let e = Args::new("t", &v, &["a"]).err().map(|e| e.0);
        assert_eq!(
            e.as_deref(),
            Some("t: unknown argument(s) \"b\", \"zz\"; allowed: a")
        );
    }

    #[test]
    fn integers_accept_integral_floats_and_numeric_strings() -> Result<(), ToolError> {
        let v = json!({"a": 3, "b": 4.0, "c": "5", "d": 1.5, "e": 0, "f": true});
        let a = Args::new("t", &v, &["a", "b", "c", "d", "e", "f"])?;
        assert_eq!(a.opt_int("a", 1)?, Some(3));
        assert_eq!(a.opt_int("b", 1)?, Some(4));
        assert_eq!(a.opt_int("c", 1)?, Some(5));
        assert_eq!(a.opt_int("missing", 1)?, None);
        assert_eq!(
            a.opt_int("d", 1).err().map(|e| e.0).as_deref(),
            Some("t: \"d\" must be an integer ≥ 1, got 1.5")
        );
        assert!(a.opt_int("e", 1).is_err());
        assert_eq!(a.opt_int("e", 0)?, Some(0));
        assert!(a.opt_int("f", 0).is_err());
        Ok(())
    }

    #[test]
    fn strings_are_type_checked() -> Result<(), ToolError> {
        let v = json!({"s": "", "n": 1});
        let a = Args::new("t", &v, &["s", "n"])?;
        assert_eq!(a.str("s")?, "");
        assert_eq!(
            a.non_empty_str("s").err().map(|e| e.0).as_deref(),
            Some("t: \"s\" must be a non-empty string")
        );
        assert_eq!(
            a.str("n").err().map(|e| e.0).as_deref(),
            Some("t: \"n\" must be a string, got a number")
        );
        Ok(())
    }
}
