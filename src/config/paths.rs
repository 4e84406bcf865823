//! Where the user's config lives: one home on every platform, `$XDG_CONFIG_HOME/foreman`, else
//! `~/.config/foreman`, the directory whose `github-token` upstream's agent reads. Before
//! issue 17 the config was looked up in `directories`' config dir, which on macOS is
//! `~/Library/Application Support/foreman`, so a Mac user following the README had a file
//! that was never read. A file found only in that old place is still read, with a notice.

use std::path::{Path, PathBuf};

/// The config home and the old location to fall back on (injectable, so the fallback is
/// tested on Linux where both are the same directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locations {
    /// `$XDG_CONFIG_HOME/foreman` or `~/.config/foreman`; `None` without a home directory.
    pub home: Option<PathBuf>,
    /// `directories`' config dir (`~/Library/Application Support/foreman` on macOS).
    pub old: Option<PathBuf>,
}

/// Where a config entry (`config.toml`, `themes`) was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// In the config home (or not there yet: nothing anywhere).
    Home(PathBuf),
    /// Only in the old location; `home` is where it belongs.
    Old { old: PathBuf, home: PathBuf },
}

impl Found {
    /// The path to read.
    pub fn path(&self) -> &Path {
        match self {
            Found::Home(p) | Found::Old { old: p, .. } => p,
        }
    }
}

/// `$XDG_CONFIG_HOME/foreman` when that is an absolute path (the XDG spec ignores relative
/// ones), else `HOME/.config/foreman`.
pub fn config_home(xdg_config_home: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    match xdg_config_home.map(Path::new).filter(|p| p.is_absolute()) {
        Some(x) => Some(x.join("foreman")),
        None => home.map(|h| h.join(".config").join("foreman")),
    }
}

impl Locations {
    /// The real locations, `XDG_CONFIG_HOME` read through `env`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Locations {
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        Locations {
            home: config_home(env("XDG_CONFIG_HOME").as_deref(), home.as_deref()),
            old: super::project_dirs().map(|d| d.config_dir().to_path_buf()),
        }
    }

    /// `name` in the config home when it exists there or nowhere else, else in the old
    /// location; `None` only when there is neither a home nor an old file.
    pub fn find(&self, name: &str) -> Option<Found> {
        let home = self.home.as_ref().map(|h| h.join(name));
        let old = self
            .old
            .as_ref()
            .map(|o| o.join(name))
            .filter(|o| Some(o) != home.as_ref() && o.exists());
        match (home, old) {
            (Some(h), Some(o)) if !h.exists() => Some(Found::Old { old: o, home: h }),
            (Some(h), _) => Some(Found::Home(h)),
            (None, Some(o)) => Some(Found::Home(o)),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_config_home_wins_when_absolute() {
        let home = Path::new("/home/ann");
        assert_eq!(
            config_home(Some("/xdg"), Some(home)),
            Some(PathBuf::from("/xdg/foreman"))
        );
        for unset in [None, Some(""), Some("relative/dir")] {
            assert_eq!(
                config_home(unset, Some(home)),
                Some(PathBuf::from("/home/ann/.config/foreman")),
                "{unset:?}"
            );
        }
        assert_eq!(config_home(None, None), None);
    }

    fn dirs() -> (tempfile::TempDir, Locations) {
        let d = tempfile::tempdir().unwrap();
        let loc = Locations {
            home: Some(d.path().join("home")),
            old: Some(d.path().join("old")),
        };
        std::fs::create_dir_all(d.path().join("home")).unwrap();
        std::fs::create_dir_all(d.path().join("old")).unwrap();
        (d, loc)
    }

    #[test]
    fn the_home_wins_and_the_old_location_is_a_fallback() {
        let (_d, loc) = dirs();
        let home = loc.home.clone().unwrap().join("config.toml");
        let old = loc.old.clone().unwrap().join("config.toml");
        // Nowhere: the home, where a new file belongs.
        assert_eq!(loc.find("config.toml"), Some(Found::Home(home.clone())));
        // Only in the old location: read from there, with where it belongs.
        std::fs::write(&old, "").unwrap();
        let found = loc.find("config.toml").unwrap();
        assert_eq!(
            found,
            Found::Old {
                old: old.clone(),
                home: home.clone()
            }
        );
        assert_eq!(found.path(), old);
        // In both: the home.
        std::fs::write(&home, "").unwrap();
        assert_eq!(loc.find("config.toml"), Some(Found::Home(home)));
    }

    #[test]
    fn one_directory_for_both_is_never_the_old_location() {
        // Linux: `directories`' config dir is the home itself.
        let (d, _) = dirs();
        let same = d.path().join("home");
        std::fs::write(same.join("config.toml"), "").unwrap();
        let loc = Locations {
            home: Some(same.clone()),
            old: Some(same.clone()),
        };
        assert_eq!(
            loc.find("config.toml"),
            Some(Found::Home(same.join("config.toml")))
        );
        let homeless = Locations {
            home: None,
            old: Some(same.clone()),
        };
        assert_eq!(
            homeless.find("config.toml"),
            Some(Found::Home(same.join("config.toml")))
        );
        assert_eq!(homeless.find("absent.toml"), None);
    }
}
