//! Puts a work tree back to its HEAD commit after a coder gate: a gate verifies the commit,
//! and what its commands leave behind (`__pycache__/`, a reformatted file, a test's output)
//! is not part of the change, so it must not reach the next commit or the model's next view.
//! Ignored files (a `target/` the gate reuses) stay.

use git2::{Repository, Status, StatusOptions, build::CheckoutBuilder};

/// Reverts tracked changes and removes untracked, not ignored files in `repo`'s work tree;
/// returns the paths it put back or removed.
pub fn restore_to_head(repo: &Repository) -> Result<Vec<String>, git2::Error> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let dirty = Status::WT_NEW | Status::WT_MODIFIED | Status::WT_DELETED | Status::WT_TYPECHANGE;
    let paths: Vec<String> = repo
        .statuses(Some(&mut opts))?
        .iter()
        .filter(|e| e.status().intersects(dirty))
        .filter_map(|e| e.path().ok().map(str::to_string))
        .collect();
    if !paths.is_empty() {
        repo.checkout_head(Some(CheckoutBuilder::new().force().remove_untracked(true)))?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn repo_with_commit() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        fs::write(dir.path().join(".gitignore"), "target/\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path("a.py".as_ref()).unwrap();
        index.add_path(".gitignore".as_ref()).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &[])
            .unwrap();
        drop(tree);
        (dir, repo)
    }

    #[test]
    fn what_a_gate_leaves_is_removed_or_reverted_and_ignored_files_stay() {
        let (dir, repo) = repo_with_commit();
        let root = dir.path();
        fs::create_dir_all(root.join("__pycache__")).unwrap();
        fs::write(root.join("__pycache__/a.cpython-311.pyc"), b"\0pyc").unwrap();
        fs::write(root.join("a.py"), "x = 1  # reformatted\n").unwrap();
        fs::create_dir_all(root.join("target")).unwrap();
        fs::write(root.join("target/cache"), "kept").unwrap();
        let mut put_back = restore_to_head(&repo).unwrap();
        put_back.sort();
        assert_eq!(put_back, ["__pycache__/a.cpython-311.pyc", "a.py"]);
        assert!(!root.join("__pycache__/a.cpython-311.pyc").exists());
        assert_eq!(fs::read_to_string(root.join("a.py")).unwrap(), "x = 1\n");
        assert_eq!(
            fs::read_to_string(root.join("target/cache")).unwrap(),
            "kept"
        );
        assert!(restore_to_head(&repo).unwrap().is_empty(), "clean now");
    }
}
