//! Real `--format json` output of every command validates against
//! `docs/daxcheck.schema.json`. The validator is a small hand check of the
//! schema keywords the file uses (type, enum, properties, required,
//! additionalProperties, items, $ref, oneOf); it refuses a keyword it does
//! not know, so the schema cannot silently outgrow it.

use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/daxcheck.schema.json"
    ))
    .expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        other => panic!("schema uses unknown type {other}"),
    }
}

/// Every way `v` breaks `s`, with its JSON path.
fn validate(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let Some(obj) = s.as_object() else {
        panic!("schema at {path} is not an object")
    };
    for (k, rule) in obj {
        match k.as_str() {
            "description" | "title" | "$schema" | "$id" | "$defs" => {}
            "$ref" => {
                let name = rule
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .expect("local $ref");
                let target = &root["$defs"][name];
                assert!(!target.is_null(), "unknown $ref {name}");
                validate(root, target, v, path, errs);
            }
            "type" => {
                let ok = match rule {
                    Value::String(t) => type_ok(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().expect("type"), v)),
                    _ => panic!("bad type rule"),
                };
                if !ok {
                    errs.push(format!("{path}: {v} is not {rule}"));
                }
            }
            "enum" => {
                if !rule.as_array().expect("enum").contains(v) {
                    errs.push(format!("{path}: {v} not in {rule}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in rule.as_array().expect("required") {
                        let r = r.as_str().expect("key");
                        if !o.contains_key(r) {
                            errs.push(format!("{path}: missing `{r}`"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (pk, ps) in rule.as_object().expect("properties") {
                        if let Some(pv) = o.get(pk) {
                            validate(root, ps, pv, &format!("{path}.{pk}"), errs);
                        }
                    }
                }
            }
            "additionalProperties" => {
                assert_eq!(rule, &Value::Bool(false), "only `false` is supported");
                if let (Some(o), Some(props)) = (v.as_object(), obj.get("properties")) {
                    for key in o.keys() {
                        if props.get(key).is_none() {
                            errs.push(format!("{path}: unexpected `{key}`"));
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, item) in a.iter().enumerate() {
                        validate(root, rule, item, &format!("{path}[{i}]"), errs);
                    }
                }
            }
            "oneOf" => {
                let matching = rule
                    .as_array()
                    .expect("oneOf")
                    .iter()
                    .filter(|alt| {
                        let mut e = Vec::new();
                        validate(root, alt, v, path, &mut e);
                        e.is_empty()
                    })
                    .count();
                if matching != 1 {
                    errs.push(format!("{path}: matches {matching} of oneOf"));
                }
            }
            other => panic!("the validator does not know schema keyword `{other}`"),
        }
    }
}

fn check_against(def: &str, v: &Value) {
    let root = schema();
    let mut errs = Vec::new();
    validate(&root, &root["$defs"][def], v, def, &mut errs);
    assert!(errs.is_empty(), "{def}: {errs:#?}");
}

fn daxcheck(args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("daxcheck-json-{}", std::process::id()));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_daxcheck"))
        .args(args)
        .env("DAXCHECK_FAILURE_DIR", &dir)
        .output()
        .expect("runs");
    String::from_utf8(o.stdout).expect("utf8")
}

#[test]
fn check_output_is_json_lines_of_check_runs() {
    let mut seen_violation = false;
    let mut seen_blocked = false;
    let mut seen_cause = false;
    for args in [
        &["check", "S3/pmd", "--mutant", "M6", "--format", "json"][..],
        &["check", "S9", "S13/refault", "--format", "json"][..],
        &[
            "check",
            "S1/pte",
            "--explorer",
            "random",
            "--iterations",
            "50",
            "--format",
            "json",
        ][..],
    ] {
        let out = daxcheck(args);
        assert!(!out.is_empty(), "{args:?}");
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).expect("each line is one JSON document");
            check_against("checkRun", &v);
            seen_violation |= !v["violation"].is_null();
            seen_cause |= !v["violation"]["cause"].is_null();
            seen_blocked |= v["violation"]["threads"]
                .as_array()
                .is_some_and(|ts| ts.iter().any(|t| t["state"] == "blocked"));
        }
    }
    assert!(seen_violation && seen_blocked && seen_cause);
}

#[test]
fn list_and_mutants_output_single_documents() {
    for (args, def) in [
        (&["list", "--format", "json"][..], "scenarioList"),
        (&["list", "--checks", "--format", "json"][..], "checkList"),
        (&["list", "--mutants", "--format", "json"][..], "mutantList"),
        (
            &[
                "mutants",
                "--scenario",
                "S3",
                "--mutant",
                "M6",
                "--format",
                "json",
            ][..],
            "matrix",
        ),
    ] {
        let out = daxcheck(args);
        let v: Value = serde_json::from_str(&out).expect("one JSON document");
        check_against(def, &v);
    }
}

#[test]
fn a_sharded_output_starts_with_its_header() {
    for (args, def) in [
        (
            &["check", "S1/pte", "--format", "json", "--shard", "1/2"][..],
            "checkRun",
        ),
        (
            &[
                "mutants",
                "--scenario",
                "S1",
                "--mutant",
                "M6",
                "--format",
                "json",
                "--shard",
                "2/2",
            ][..],
            "matrix",
        ),
    ] {
        let out = daxcheck(args);
        let mut lines = out.lines();
        let head: Value = serde_json::from_str(lines.next().expect("a header")).expect("JSON");
        check_against("shardHeader", &head);
        for line in lines {
            check_against(def, &serde_json::from_str(line).expect("JSON"));
        }
    }
}

#[test]
fn the_validator_refuses_what_the_schema_does_not_allow() {
    let root = schema();
    let bad = serde_json::json!({"scenario": "S1", "extra": 1});
    let mut errs = Vec::new();
    validate(
        &root,
        &root["$defs"]["checkRun"],
        &bad,
        "checkRun",
        &mut errs,
    );
    assert!(
        errs.iter().any(|e| e.contains("missing `variant`")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("unexpected `extra`")),
        "{errs:?}"
    );
    let wrong = serde_json::json!({"kind": "loom", "bound": "two"});
    let mut errs = Vec::new();
    validate(
        &root,
        &root["$defs"]["explorer"],
        &wrong,
        "explorer",
        &mut errs,
    );
    assert!(!errs.is_empty());
}
