//! Hostile and malformed manifests, each refused with its exact error (which bound, where, what
//! to do) and never a panic. How fast each is refused is `benches/yaml_bounds.rs`.

use foreman::api::{Limits, Object, load_file, load_file_with, load_str, load_str_with};

const TASK: &str = "apiVersion: foreman.llmkube.dev/v1alpha1
kind: AgenticTask
metadata: {name: fix-1}
spec:
  kind: issue-fix
  agentRef: {name: coder}
  payload: {repo: acme/fleet, issue: 1, prompt: fix it}
";

fn err(text: &str) -> String {
    load_str("t.yaml", text).unwrap_err().to_string()
}

/// `n` tasks named t0..t{n-1}, one document each.
fn tasks(n: usize) -> String {
    (0..n)
        .map(|i| TASK.replace("fix-1", &format!("t{i}")))
        .collect::<Vec<_>>()
        .join("---\n")
}

const DEPTH_HINT: &str = "nested deeper than 64 levels (the manifest depth limit); no manifest \
                          needs that many, so look for unbalanced brackets or generated input";

#[test]
fn flow_sequences_nested_100k_deep_stop_at_the_depth_limit() {
    // 200 KB: the measured case that took 26 s of CPU with serde_yaml.
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        err(&text),
        format!("t.yaml: line 1, column 65: {DEPTH_HINT}")
    );
}

#[test]
fn flow_mappings_nested_100k_deep_stop_at_the_depth_limit() {
    // 400 KB: 115 s of CPU with serde_yaml.
    let text = format!("{}{}", "{a: ".repeat(100_000), "}".repeat(100_000));
    assert_eq!(
        err(&text),
        format!("t.yaml: line 1, column 257: {DEPTH_HINT}")
    );
}

#[test]
fn block_nesting_stops_at_the_depth_limit() {
    let text: String = (0..100)
        .map(|i| format!("{}a:\n", "  ".repeat(i)))
        .collect();
    assert_eq!(
        err(&text),
        format!("t.yaml: line 65, column 129: {DEPTH_HINT}")
    );
}

#[test]
fn depth_within_the_limit_still_loads() {
    // Few-shot arguments are free-form JSON, so a deep (but bounded) value is legal.
    let deep = format!("{}1{}", "[".repeat(58), "]".repeat(58));
    let agent = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: a}}\nspec:\n  \
         role: coder\n  tools: [bash]\n  fewShot:\n  - tool: bash\n    arguments: {{x: {deep}}}\n"
    );
    let objs = load_str("a.yaml", &agent).unwrap();
    assert_eq!(objs[0].kind(), "Agent");
}

#[test]
fn billion_laughs_stops_at_the_alias_limit() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (name, prev) in [("b", "a"), ("c", "b"), ("d", "c"), ("e", "d"), ("f", "e")] {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    text.push_str(&format!("g: [{}]\n", ["*f"; 9].join(", ")));
    assert_eq!(
        err(&text),
        "t.yaml: line 5, column 24: YAML aliases expand to more than 50000 nodes (the manifest \
         alias limit, against alias bombs); write the repeated parts out or use fewer aliases"
    );
}

#[test]
fn many_aliases_of_one_anchor_are_normal_reuse() {
    // 300 uses of one anchor: the library's alias/anchor ratio heuristic would refuse this; the
    // absolute alias budget is what guards against bombs.
    let stops = ["*s"; 300].join(", ");
    let agent = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: a}}\nspec:\n  \
         role: coder\n  tools: [bash]\n  stop: [&s END, {stops}]\n"
    );
    let Object::Agent(a) = load_str("a.yaml", &agent).unwrap().remove(0) else {
        panic!("not an agent");
    };
    assert_eq!(a.spec.stop.unwrap().len(), 301);
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let text = format!("{TASK}# {}\n", "x".repeat(1 << 20));
    assert_eq!(
        err(&text),
        format!(
            "t.yaml: {} bytes, over the limit of 1048576 bytes for one manifest file; split it \
             into smaller files",
            text.len()
        )
    );
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(50 << 20).unwrap(); // a 50 MB manifest (sparse: nothing is written or read)
    assert_eq!(
        load_file(&path).unwrap_err().to_string(),
        format!(
            "{}: 52428800 bytes, over the limit of 1048576 bytes for one manifest file; split it \
             into smaller files",
            path.display()
        )
    );
}

#[test]
fn the_limits_are_the_callers_to_choose() {
    let small = Limits {
        max_bytes: 100,
        max_objects: 2,
        ..Limits::default()
    };
    assert_eq!(
        load_str_with("t.yaml", TASK, &small)
            .unwrap_err()
            .to_string(),
        format!(
            "t.yaml: {} bytes, over the limit of 100 bytes for one manifest file; split it into \
             smaller files",
            TASK.len()
        )
    );
    let roomy = Limits {
        max_objects: 2,
        ..Limits::default()
    };
    assert_eq!(load_str_with("t.yaml", &tasks(2), &roomy).unwrap().len(), 2);
    assert_eq!(
        load_str_with("t.yaml", &tasks(3), &roomy)
            .unwrap_err()
            .to_string(),
        "t.yaml: 3 objects; at most 2 can be submitted at once, so split the file"
    );
    // A reader that never ends (a FIFO, /dev/zero) is cut off one byte past the limit.
    assert_eq!(
        load_file_with(std::path::Path::new("/dev/zero"), &small)
            .unwrap_err()
            .to_string(),
        "/dev/zero: more than bytes, over the limit of 100 bytes for one manifest file; split it \
         into smaller files"
    );
}

#[test]
fn ten_thousand_documents_stop_at_the_object_limit() {
    // 10,000 small documents (90 KB): the budget stops the parse at document 1,002 (1,000
    // objects plus room for an empty document after a trailing `---`), before the rest is read.
    let text = "a: 1\n---\n".repeat(10_000);
    assert_eq!(
        err(&text),
        "t.yaml: line 2002, column 1: more than 1001 YAML documents (at most 1000 objects can be \
         submitted at once); split the file"
    );
}

#[test]
fn a_thousand_objects_load_and_one_more_is_refused() {
    let objs = load_str("t.yaml", &format!("{}---\n", tasks(1_000))).unwrap();
    assert_eq!(objs.len(), 1_000);
    assert_eq!(objs[999].name(), "t999");
    assert_eq!(
        err(&tasks(1_001)),
        "t.yaml: 1001 objects; at most 1000 can be submitted at once, so split the file"
    );
}

#[test]
fn invalid_utf8_names_its_line_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    let mut bytes = TASK.replace("fix it", "fix caf").into_bytes();
    let at = bytes.len() - 2; // just before "}\n" on the last line
    bytes.insert(at, 0xe9); // 'é' in Latin-1
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        load_file(&path).unwrap_err().to_string(),
        format!(
            "{}: not valid UTF-8 at line 7 (byte {at}); save the file as UTF-8",
            path.display()
        )
    );
}

#[test]
fn a_document_that_is_not_a_mapping_is_named() {
    let hint = "a manifest must be a mapping (apiVersion, kind, metadata, spec)";
    assert_eq!(
        err("just a string\n"),
        format!("t.yaml: document 1: {hint}, found a string")
    );
    assert_eq!(
        err("- apiVersion: foreman.llmkube.dev/v1alpha1\n- kind: Agent\n"),
        format!("t.yaml: document 1: {hint}, found a list")
    );
    assert_eq!(
        err(&format!("{TASK}---\n42\n")),
        format!("t.yaml: document 2: {hint}, found a number")
    );
}

#[test]
fn empty_input_says_no_manifests() {
    let msg = "no manifests found (expected Agent, AgenticTask, FleetNode or Workload)";
    for text in ["", "\n\n", "# only a comment\n", "---\n", "---\n...\n---\n"] {
        assert_eq!(err(text), format!("t.yaml: {msg}"), "{text:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.yaml");
    std::fs::write(&path, "").unwrap();
    assert_eq!(
        load_file(&path).unwrap_err().to_string(),
        format!("{}: {msg}", path.display())
    );
}

#[test]
fn document_numbers_count_empty_documents_as_an_editor_shows_them() {
    let bad = TASK.replace("issue: 1", "isue: 1");
    assert_eq!(
        err(&format!("---\n# disabled for now\n---\n{bad}")),
        "t.yaml: document 2: unknown field `spec.payload.isue` (misspelt, or not part of \
         AgenticTask; `foreman crds` prints the schema)"
    );
    assert_eq!(
        err(&format!(
            "{TASK}---\n---\n{}",
            bad.replace("fix-1", "fix-2")
        )),
        "t.yaml: document 3: unknown field `spec.payload.isue` (misspelt, or not part of \
         AgenticTask; `foreman crds` prints the schema)"
    );
}

#[test]
fn duplicate_keys_are_refused_in_words_for_users() {
    let text = TASK.replace(
        "metadata: {name: fix-1}",
        "metadata: {name: fix-1, name: fix-2}",
    );
    assert_eq!(
        err(&text),
        "t.yaml: not valid YAML: duplicate mapping key `name` is not allowed here at line 3, \
         column 25"
    );
}

#[test]
fn merge_keys_expand_as_kubectl_does() {
    // Decided: `<<: *anchor` merges (YAML 1.1, as kubectl reads it); serde_yaml refused it as
    // an unknown field `<<`. Explicit keys win over merged ones.
    let text = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: m}\n\
                spec:\n  kind: issue-fix\n  payload:\n    <<: &p {repo: acme/fleet, issue: 1}\n    \
                issue: 2\n";
    let Object::Task(t) = load_str("t.yaml", text).unwrap().remove(0) else {
        panic!("not a task");
    };
    assert_eq!(t.spec.payload.repo.as_deref(), Some("acme/fleet"));
    assert_eq!(t.spec.payload.issue, Some(2));
}

#[test]
fn yes_and_no_stay_strings_as_in_yaml_1_2() {
    let text = TASK.replace("prompt: fix it", "prompt: yes");
    let Object::Task(t) = load_str("t.yaml", &text).unwrap().remove(0) else {
        panic!("not a task");
    };
    assert_eq!(t.spec.payload.prompt.as_deref(), Some("yes"));
}
