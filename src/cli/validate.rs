//! `foreman validate`: checks manifests strictly (unknown fields, ranges, enums) without
//! running anything; every file is checked, and any bad one makes the exit code 2.

use super::common::Exit;
use crate::api;
use std::path::PathBuf;

/// Checks within the config's `[limits]`, as `submit` loads.
pub fn validate(args: &super::ConsoleArgs, files: &[PathBuf]) -> Exit {
    let limits = super::common::settings(args).0.limits.manifest();
    let mut bad = false;
    for f in files {
        match api::load_file_with(f, &limits) {
            Ok(objs) => {
                for o in objs {
                    outln!("{}: {} {} ok", f.display(), o.kind(), o.name());
                }
            }
            Err(e) => {
                errln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad { Exit::BadInput } else { Exit::Ok }
}
