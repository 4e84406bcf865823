//! The API key of a cloud proxy (upstream HEAD `providerConfig.apiKeySecretRef`).

/// A bearer token that never prints: its `Debug` is a placeholder, the header carrying it is
/// marked sensitive, and error bodies echoing it are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for an empty (or all-blank) key.
    pub fn new(key: impl Into<String>) -> Option<ApiKey> {
        let key = key.into().trim().to_string();
        (!key.is_empty()).then_some(ApiKey(key))
    }
    /// The key itself, for the one header that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// `text` with every occurrence of the key replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, "***")
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_prints_and_is_redacted_from_text() {
        let k = ApiKey::new("  sk-123  ").unwrap();
        assert_eq!(k.expose(), "sk-123");
        assert_eq!(format!("{k:?}"), "ApiKey(***)");
        assert_eq!(k.redact("bad key sk-123!"), "bad key ***!");
        assert!(ApiKey::new("   ").is_none());
    }
}
