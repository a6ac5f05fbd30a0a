//! A small JSON Schema validator for the service's OpenAPI document: the
//! keywords `openapi.json` uses (`$ref`, `type`, `enum`, `properties`,
//! `required`, `additionalProperties`, `items`, bounds, `minLength`, the
//! checksum `pattern`, `oneOf`, ...), and a panic on any other, so a schema
//! the validator cannot check fails loudly instead of passing. Used by the
//! `/v1` and the compatibility API tests.

use serde_json::Value;

/// The schema a local `$ref` (`#/...`) points at.
pub fn resolve<'a>(doc: &'a Value, r: &str) -> &'a Value {
    let ptr = r
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("external $ref {r}"));
    doc.pointer(ptr)
        .unwrap_or_else(|| panic!("dangling $ref {r}"))
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}

fn bound(s: &Value, at: &str) -> f64 {
    s.as_f64()
        .unwrap_or_else(|| panic!("bound at {at} is not a number: {s}"))
}

/// Appends every violation of `schema` by `v` (at JSON path `at`) to `errs`.
pub fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        panic!("schema at {at} is not an object: {schema}");
    };
    for (k, s) in obj {
        match k.as_str() {
            "$ref" => validate(
                doc,
                resolve(doc, s.as_str().unwrap_or_default()),
                v,
                at,
                errs,
            ),
            "description" => {}
            "type" => {
                let ok = match s {
                    Value::String(t) => type_matches(t, v),
                    Value::Array(ts) => ts
                        .iter()
                        .any(|t| type_matches(t.as_str().unwrap_or_default(), v)),
                    _ => panic!("bad type keyword {s}"),
                };
                if !ok {
                    errs.push(format!("{at}: {v} is not of type {s}"));
                }
            }
            "enum" => {
                if !s.as_array().is_some_and(|a| a.contains(v)) {
                    errs.push(format!("{at}: {v} not in {s}"));
                }
            }
            "properties" => {
                if let (Some(props), Some(o)) = (s.as_object(), v.as_object()) {
                    for (name, ps) in props {
                        if let Some(pv) = o.get(name) {
                            validate(doc, ps, pv, &format!("{at}.{name}"), errs);
                        }
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in s.as_array().into_iter().flatten() {
                        let r = r.as_str().unwrap_or_default();
                        if !o.contains_key(r) {
                            errs.push(format!("{at}: missing required {r}"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                let Some(o) = v.as_object() else { continue };
                let known = obj.get("properties").and_then(Value::as_object);
                let extra = o
                    .iter()
                    .filter(|(name, _)| !known.is_some_and(|p| p.contains_key(*name)));
                match s {
                    Value::Bool(true) => {}
                    Value::Bool(false) => {
                        for (name, _) in extra {
                            errs.push(format!("{at}: unexpected property {name}"));
                        }
                    }
                    Value::Object(_) => {
                        for (name, pv) in extra {
                            validate(doc, s, pv, &format!("{at}.{name}"), errs);
                        }
                    }
                    _ => panic!("bad additionalProperties at {at}: {s}"),
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, item) in a.iter().enumerate() {
                        validate(doc, s, item, &format!("{at}[{i}]"), errs);
                    }
                }
            }
            "minItems" => {
                if v.as_array()
                    .is_some_and(|a| (a.len() as f64) < bound(s, at))
                {
                    errs.push(format!("{at}: fewer than {s} items"));
                }
            }
            "minimum" => {
                if v.as_f64().is_some_and(|x| x < bound(s, at)) {
                    errs.push(format!("{at}: {v} < minimum {s}"));
                }
            }
            "maximum" => {
                if v.as_f64().is_some_and(|x| x > bound(s, at)) {
                    errs.push(format!("{at}: {v} > maximum {s}"));
                }
            }
            "oneOf" => {
                let matching = s
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|sub| {
                        let mut e = Vec::new();
                        validate(doc, sub, v, at, &mut e);
                        e.is_empty()
                    })
                    .count();
                if matching != 1 {
                    errs.push(format!(
                        "{at}: matches {matching} of oneOf, expected exactly 1"
                    ));
                }
            }
            "minLength" => {
                if v.as_str()
                    .is_some_and(|t| (t.chars().count() as u64) < s.as_u64().unwrap_or(0))
                {
                    errs.push(format!("{at}: shorter than {s}"));
                }
            }
            "pattern" => {
                assert_eq!(
                    s, "^sha256:[0-9a-f]{64}$",
                    "only the checksum pattern is supported"
                );
                if let Some(t) = v.as_str() {
                    let ok = t.strip_prefix("sha256:").is_some_and(|h| {
                        h.len() == 64
                            && h.bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    });
                    if !ok {
                        errs.push(format!("{at}: {t:?} does not match {s}"));
                    }
                }
            }
            other => panic!("validator does not support keyword {other:?} (at {at})"),
        }
    }
}

/// Every violation of `schema` by `v` (empty when it validates).
pub fn errors(doc: &Value, schema: &Value, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    validate(doc, schema, v, "$", &mut errs);
    errs
}

/// The response object (refs resolved) documenting `status` of `method path`.
pub fn response<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let r = &doc["paths"][path][method]["responses"][status.to_string()];
    assert!(
        !r.is_null(),
        "{method} {path} does not document status {status}"
    );
    match r.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(doc, reference),
        None => r,
    }
}

/// The schema of the JSON body of `method path` answering `status`.
pub fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let s = &response(doc, path, method, status)["content"]["application/json"]["schema"];
    assert!(!s.is_null(), "{method} {path} {status} has no JSON schema");
    s
}
