//! `foreman validate`: checks manifests strictly (unknown fields, ranges, enums) without
//! running anything; every file is checked, and any bad one makes the exit code 2.

use super::common::Exit;
use crate::api;
use std::path::PathBuf;

pub fn validate(files: &[PathBuf]) -> Exit {
    let mut bad = false;
    for f in files {
        match api::load_file(f) {
            Ok(objs) => {
                for o in objs {
                    println!("{}: {} {} ok", f.display(), o.kind(), o.name());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
            }
        }
    }
    if bad { Exit::BadInput } else { Exit::Ok }
}
