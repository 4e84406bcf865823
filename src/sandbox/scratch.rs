//! The per-sandbox private directory on the host, created on first use and removed with the
//! sandbox: `tmp` (the command's `/tmp`), `home` (an empty HOME over the operator's), and
//! the empty file and directory that cover secrets.

use std::path::PathBuf;

#[derive(Debug)]
pub(crate) struct Scratch {
    _dir: tempfile::TempDir,
    pub(crate) tmp: PathBuf,
    pub(crate) home: PathBuf,
    pub(crate) empty_file: PathBuf,
    pub(crate) empty_dir: PathBuf,
}

impl Scratch {
    pub(crate) fn create() -> std::io::Result<Scratch> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("foreman-sandbox-")
            .tempdir()?;
        // Symlink-resolved: Seatbelt matches real paths (/var → /private/var on macOS).
        let p = super::policy::canonical(dir.path());
        let (tmp, home, empty_dir, empty_file) = (
            p.join("tmp"),
            p.join("home"),
            p.join("empty-dir"),
            p.join("empty-file"),
        );
        for d in [&tmp, &home, &empty_dir] {
            std::fs::create_dir(d)?;
        }
        std::fs::write(&empty_file, b"")?;
        std::fs::set_permissions(&empty_file, std::fs::Permissions::from_mode(0o444))?;
        std::fs::set_permissions(&empty_dir, std::fs::Permissions::from_mode(0o555))?;
        Ok(Scratch {
            _dir: dir,
            tmp,
            home,
            empty_file,
            empty_dir,
        })
    }
}
