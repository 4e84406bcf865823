//! Every manifest in examples/ loads strictly and round-trips through YAML unchanged.

use foreman::api::{load_file, load_str};

#[test]
fn examples_load_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let objs = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        for obj in objs {
            let yaml = obj.to_yaml().unwrap();
            let again =
                load_str("round-trip", &yaml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(again, vec![obj], "{} does not round-trip", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 6, "expected the shipped examples, saw {seen}");
}

#[test]
fn kinds_cover_all_four_crds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut kinds: Vec<&str> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "yaml").then_some(p)
        })
        .flat_map(|p| load_file(&p).unwrap())
        .map(|o| o.kind())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["Agent", "AgenticTask", "FleetNode", "Workload"]);
}
