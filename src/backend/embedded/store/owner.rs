//! Which process runs a task. Every process that opens the store holds an exclusive lock on its
//! own file under `owners/` for as long as it lives; the `runs` table names the owner of each
//! active run. A run whose owner's lock can be taken again was cut short (kill -9, a crash),
//! so recovery may mark it Interrupted; a run of a live second console is left alone.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

pub(super) struct Owner {
    pub(super) id: String,
    path: PathBuf,
    _lock: File,
}

fn dir(root: &Path) -> PathBuf {
    root.join("owners")
}

impl Owner {
    /// A fresh owner id (pid plus randomness, never reused) with its lock held.
    pub(super) fn take(root: &Path) -> std::io::Result<Owner> {
        let d = dir(root);
        std::fs::create_dir_all(&d)?;
        let id = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let path = d.join(format!("{id}.lock"));
        let file = File::create(&path)?;
        file.try_lock().map_err(std::io::Error::other)?;
        Ok(Owner {
            id,
            path,
            _lock: file,
        })
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the process that took `id` still runs (its lock is held). A lock file nobody
/// holds is removed on the way.
pub(super) fn alive(root: &Path, id: &str) -> bool {
    let path = dir(root).join(format!("{id}.lock"));
    let Ok(f) = File::open(&path) else {
        return false;
    };
    match f.try_lock() {
        Ok(()) => {
            let _ = std::fs::remove_file(&path);
            false
        }
        Err(TryLockError::WouldBlock) => true,
        // Cannot tell (a filesystem without locks): assume alive rather than steal a run.
        Err(TryLockError::Error(_)) => true,
    }
}
