//! What the push is pinned to: the operator's remote URL and the workspace's `.git/config` as
//! cloned (issue 9 §2). The model could rewrite `.git/config` (`url`, `pushurl`,
//! `url.*.insteadOf`, credential helpers) whenever `.git` is writable to it (sandbox off):
//! the push never reads that file, and a change is reported so the operator sees it before
//! approving. The record lives in `.git`, which the sandbox keeps read-only to the model.

use std::path::{Path, PathBuf};

/// The file in the workspace's `.git` holding the clone record.
const FILE: &str = "foreman-clone.json";

/// The remote the workspace was cloned from (the operator's URL as configured, as `origin`
/// in `.git/config` holds it too) and the digest of its `.git/config` right after the clone.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloneRecord {
    pub remote: String,
    pub config_digest: String,
}

/// Git's blob id of `.git/config` (empty file when missing): any edit changes it.
pub fn config_digest(git_dir: &Path) -> String {
    let bytes = std::fs::read(git_dir.join("config")).unwrap_or_default();
    git2::Oid::hash_object(git2::ObjectType::Blob, &bytes)
        .map(|o| o.to_string())
        .unwrap_or_default()
}

fn record_path(git_dir: &Path) -> PathBuf {
    git_dir.join(FILE)
}

/// Writes the clone record of a fresh clone of `remote` (call right after the clone).
pub fn record(git_dir: &Path, remote: &str) -> std::io::Result<CloneRecord> {
    let rec = CloneRecord {
        remote: remote.to_string(),
        config_digest: config_digest(git_dir),
    };
    let text = serde_json::to_string(&rec).map_err(std::io::Error::other)?;
    std::fs::write(record_path(git_dir), text)?;
    Ok(rec)
}

/// The clone record, if foreman cloned this workspace.
pub fn load(git_dir: &Path) -> Option<CloneRecord> {
    let text = std::fs::read_to_string(record_path(git_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What to tell the operator when `.git/config` is not what was cloned: which remote,
/// rewrite and credential settings it now holds, and where the push goes instead. `None`
/// when unchanged.
pub fn config_note(git_dir: &Path) -> Option<String> {
    let (digest, remote) = match load(git_dir) {
        Some(r) => (r.config_digest, super::auth::redact_url(&r.remote)),
        None => {
            return Some(
                "the workspace has no clone record, so changes to its .git/config cannot be \
                 detected; the push still ignores that file"
                    .into(),
            );
        }
    };
    if config_digest(git_dir) == digest {
        return None;
    }
    let keys = redirecting_keys(git_dir);
    let what = if keys.is_empty() {
        String::new()
    } else {
        format!(" (now sets {})", keys.join(", "))
    };
    Some(format!(
        "the workspace's .git/config changed after the clone{what}; foreman ignores it and \
         pushes to {remote}"
    ))
}

/// `remote.*.url`/`pushurl`, `url.*.insteadOf`/`pushInsteadOf` and `credential*` entries of
/// the workspace's own config file.
fn redirecting_keys(git_dir: &Path) -> Vec<String> {
    let Ok(cfg) = git2::Config::open(&git_dir.join("config")) else {
        return vec!["unreadable settings".into()];
    };
    let mut keys = Vec::new();
    if let Ok(mut entries) = cfg.entries(None) {
        while let Some(Ok(e)) = entries.next() {
            let Ok(name) = e.name() else { continue };
            let n = name.to_ascii_lowercase();
            let redirects = (n.starts_with("remote.")
                && (n.ends_with(".url") || n.ends_with(".pushurl")))
                || (n.starts_with("url.")
                    && (n.ends_with(".insteadof") || n.ends_with(".pushinsteadof")))
                || n.starts_with("credential");
            if redirects && !keys.contains(&n) {
                keys.push(n);
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_config_has_no_note_and_a_rewrite_names_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path();
        std::fs::write(
            git.join("config"),
            "[remote \"origin\"]\n\turl = http://op.example/r.git\n",
        )
        .unwrap();
        let rec = record(git, "http://u:pw@op.example/r.git").unwrap();
        assert_eq!(rec.remote, "http://u:pw@op.example/r.git");
        assert_eq!(load(git), Some(rec));
        assert_eq!(config_note(git), None);
        std::fs::write(
            git.join("config"),
            "[remote \"origin\"]\n\turl = http://evil.test/r.git\n\tpushurl = http://evil.test/p\n\
             [url \"http://evil.test/\"]\n\tinsteadOf = http://op.example/\n\
             [credential]\n\thelper = !leak\n",
        )
        .unwrap();
        let note = config_note(git).unwrap();
        assert_eq!(
            note,
            "the workspace's .git/config changed after the clone (now sets remote.origin.url, \
             remote.origin.pushurl, url.http://evil.test/.insteadof, credential.helper); \
             foreman ignores it and pushes to http://***@op.example/r.git"
        );
        std::fs::remove_file(git.join(FILE)).unwrap();
        assert!(config_note(git).unwrap().contains("no clone record"));
    }
}
