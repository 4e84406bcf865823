//! Path containment for the file tools: a model-supplied relative path must resolve, after
//! following every symlink that exists, to a location inside the (symlink-resolved) workspace.
//!
//! Stronger than upstream `resolveInside`: a path that does not exist yet is checked through
//! its deepest existing ancestor, and a dangling symlink is refused, so `write_file` cannot be
//! steered outside through `link/newfile` or `dangling-link`.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a path was refused. Every variant's text contains `path escapes workspace` or explains
/// the I/O failure, so the model knows whether to change the path or the approach.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PathError {
    #[error(
        "path escapes workspace: {0:?} is absolute; use a path relative to the repository root"
    )]
    Absolute(String),
    #[error("path escapes workspace: {0:?} climbs above the repository root with \"..\"")]
    DotDot(String),
    #[error("path escapes workspace: {0:?} resolves through a symlink to outside the repository")]
    Symlink(String),
    #[error("path escapes workspace: {0:?} goes through a dangling symlink, which is not followed")]
    Dangling(String),
    #[error(
        "{0:?} is inside .git, which only the executor writes (it commits for you); edit the \
         work tree instead"
    )]
    GitDir(String),
    #[error("cannot resolve {path:?}: {source}")]
    Io { path: String, source: io::Error },
}

/// The symlink-resolved workspace root that all tool paths are resolved against.
#[derive(Clone, Debug)]
pub(crate) struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Canonicalizes `dir` once, so later checks compare resolved paths with resolved paths.
    pub(crate) fn new(dir: &Path) -> io::Result<Workspace> {
        let root = std::fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "workspace is not a directory",
            ));
        }
        Ok(Workspace { root })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `p` to a canonical path inside the workspace. Components that do not exist yet
    /// are appended to the canonicalized deepest existing ancestor.
    pub(crate) fn resolve(&self, p: &str) -> Result<PathBuf, PathError> {
        let cleaned = clean_relative(p)?;
        let joined = self.root.join(&cleaned);

        // Walk up to the deepest ancestor that exists (a dangling symlink counts as existing,
        // because `symlink_metadata` does not follow it).
        let mut existing = joined.as_path();
        let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
        loop {
            match std::fs::symlink_metadata(existing) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match (existing.file_name(), existing.parent()) {
                        (Some(name), Some(parent)) if parent.starts_with(&self.root) => {
                            missing.push(name);
                            existing = parent;
                        }
                        // The workspace root itself vanished.
                        _ => return Err(io_err(p, e)),
                    }
                }
                Err(e) => return Err(io_err(p, e)),
            }
        }

        let canon = match std::fs::canonicalize(existing) {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(PathError::Dangling(p.to_string()));
            }
            Err(e) => return Err(io_err(p, e)),
        };
        if !canon.starts_with(&self.root) {
            return Err(PathError::Symlink(p.to_string()));
        }
        Ok(missing.iter().rev().fold(canon, |acc, name| acc.join(name)))
    }
}

impl Workspace {
    /// [`Workspace::resolve`] for the writers: also refuses `.git` and anything under it,
    /// including through a symlink (compared case-insensitively, as macOS file systems are).
    pub(crate) fn resolve_writable(&self, p: &str) -> Result<PathBuf, PathError> {
        let abs = self.resolve(p)?;
        let first = abs
            .strip_prefix(&self.root)
            .ok()
            .and_then(|rel| rel.components().next());
        match first {
            Some(Component::Normal(n)) if n.eq_ignore_ascii_case(".git") => {
                Err(PathError::GitDir(p.to_string()))
            }
            _ => Ok(abs),
        }
    }
}

/// Lexically normalizes `p` (drops `.`, applies `..`), refusing absolute paths and any `..`
/// that would climb above the root. An empty result means the root itself.
fn clean_relative(p: &str) -> Result<PathBuf, PathError> {
    let mut out: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                return Err(PathError::Absolute(p.to_string()));
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if out.pop().is_none() {
                    return Err(PathError::DotDot(p.to_string()));
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Ok(out.iter().collect())
}

fn io_err(p: &str, source: io::Error) -> PathError {
    PathError::Io {
        path: p.to_string(),
        source,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A temp workspace plus a sibling "outside" directory for escape attempts.
    pub(crate) struct Fixture {
        pub _tmp: tempfile::TempDir,
        pub ws: PathBuf,
        pub outside: PathBuf,
    }

    pub(crate) fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = tmp.path().join("ws");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&ws).expect("mkdir ws");
        std::fs::create_dir_all(&outside).expect("mkdir outside");
        std::fs::write(outside.join("secret.txt"), "secret").expect("write secret");
        Fixture {
            _tmp: tmp,
            ws,
            outside,
        }
    }

    fn escapes(r: Result<PathBuf, PathError>) -> bool {
        matches!(r, Err(e) if e.to_string().contains("path escapes workspace"))
    }

    #[test]
    fn absolute_and_dotdot_are_refused() {
        let f = fixture();
        let w = Workspace::new(&f.ws).expect("ws");
        assert!(escapes(w.resolve("/etc/passwd")));
        assert!(escapes(w.resolve("..")));
        assert!(escapes(w.resolve("../outside/secret.txt")));
        assert!(escapes(w.resolve("a/../../x")));
        assert!(escapes(w.resolve("./a/b/../../../x")));
    }

    #[test]
    fn inner_dotdot_and_dot_are_fine() {
        let f = fixture();
        let w = Workspace::new(&f.ws).expect("ws");
        let root = w.root().to_path_buf();
        assert_eq!(w.resolve("a/../b.txt").ok(), Some(root.join("b.txt")));
        assert_eq!(w.resolve("./x/./y").ok(), Some(root.join("x/y")));
        assert_eq!(w.resolve(".").ok(), Some(root.clone()));
    }

    #[test]
    fn existing_symlink_escape_is_refused() {
        let f = fixture();
        symlink(f.outside.join("secret.txt"), f.ws.join("link")).expect("symlink");
        symlink(&f.outside, f.ws.join("dirlink")).expect("symlink");
        let w = Workspace::new(&f.ws).expect("ws");
        assert!(escapes(w.resolve("link")));
        assert!(escapes(w.resolve("dirlink/secret.txt")));
    }

    #[test]
    fn new_file_under_escaping_symlink_dir_is_refused() {
        let f = fixture();
        symlink(&f.outside, f.ws.join("dirlink")).expect("symlink");
        let w = Workspace::new(&f.ws).expect("ws");
        assert!(escapes(w.resolve("dirlink/new.txt")));
        assert!(escapes(w.resolve("dirlink/deep/er/new.txt")));
    }

    #[test]
    fn dangling_symlink_is_refused() {
        let f = fixture();
        symlink(f.outside.join("not-yet.txt"), f.ws.join("dangling")).expect("symlink");
        let w = Workspace::new(&f.ws).expect("ws");
        assert!(escapes(w.resolve("dangling")));
    }

    #[test]
    fn symlink_inside_the_workspace_is_followed() {
        let f = fixture();
        std::fs::create_dir(f.ws.join("real")).expect("mkdir");
        symlink("real", f.ws.join("alias")).expect("symlink");
        let w = Workspace::new(&f.ws).expect("ws");
        assert_eq!(
            w.resolve("alias/new.txt").ok(),
            Some(w.root().join("real/new.txt"))
        );
    }

    #[test]
    fn writers_may_not_touch_git_even_through_a_symlink() {
        let f = fixture();
        std::fs::create_dir_all(f.ws.join(".git/hooks")).expect("mkdir");
        symlink(".git/hooks", f.ws.join("hooks-link")).expect("symlink");
        let w = Workspace::new(&f.ws).expect("ws");
        for p in [
            ".git",
            ".git/config",
            "./.git/hooks/pre-commit",
            "a/../.git/HEAD",
            "hooks-link/pre-commit",
            ".GIT/config",
        ] {
            let e = w.resolve_writable(p).expect_err(p);
            assert!(
                e.to_string()
                    .contains("inside .git, which only the executor writes"),
                "{p}: {e}"
            );
        }
        assert!(w.resolve_writable(".github/workflows/ci.yml").is_ok());
        assert!(w.resolve_writable("src/.git-keep").is_ok());
        assert!(w.resolve(".git/config").is_ok(), "readers may still look");
    }

    #[test]
    fn symlinked_workspace_root_is_resolved() {
        let f = fixture();
        let via = f._tmp.path().join("via");
        symlink(&f.ws, &via).expect("symlink");
        let w = Workspace::new(&via).expect("ws");
        assert_eq!(
            w.root(),
            std::fs::canonicalize(&f.ws).expect("canon").as_path()
        );
        assert!(w.resolve("x.txt").is_ok());
    }
}
