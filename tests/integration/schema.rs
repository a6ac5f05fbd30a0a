//! A small JSON Schema (2020-12) validator for the service's OpenAPI
//! document: the keywords `openapi.json` uses (`$ref`, `type`, `enum`,
//! `properties`, `required`, `additionalProperties`, `propertyNames`,
//! `minProperties`, `items`, `prefixItems`, `contains`, item counts, bounds,
//! `minLength`, `pattern`, `oneOf`, `anyOf`, `allOf`, `not`), and a panic on
//! any other, so a schema the validator cannot check fails loudly instead of
//! passing. Used by the `/v1`, compatibility and contract tests, on
//! responses and on requests.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// `pattern` compiled once per pattern (JSON Schema patterns are ECMA-262;
/// the ones `openapi.json` uses are also valid for the `regex` crate).
fn pattern_matches(pattern: &str, text: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("pattern cache lock");
    let re = cache.entry(pattern.to_string()).or_insert_with(|| {
        regex::Regex::new(pattern).unwrap_or_else(|e| panic!("bad pattern {pattern:?}: {e}"))
    });
    re.is_match(text)
}

/// Whether `v` validates against `schema`.
pub fn is_valid(doc: &Value, schema: &Value, v: &Value) -> bool {
    let mut e = Vec::new();
    validate(doc, schema, v, "$", &mut e);
    e.is_empty()
}

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
        // JSON Schema: any number with no fractional part is an integer.
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
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
    let obj = match schema {
        Value::Object(o) => o,
        // Boolean schemas: `true` admits everything, `false` nothing.
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errs.push(format!("{at}: {v} is not allowed here (false schema)"));
            return;
        }
        _ => panic!("schema at {at} is not an object: {schema}"),
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
            "description" | "example" => {}
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
                // JSON Schema compares numbers by value: 1 equals 1.0.
                let same = |e: &Value| match (e.as_f64(), v.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => e == v,
                };
                if !s.as_array().is_some_and(|a| a.iter().any(same)) {
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
                // After `prefixItems`, `items` covers the remaining elements.
                let skip = obj
                    .get("prefixItems")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if let Some(a) = v.as_array() {
                    for (i, item) in a.iter().enumerate().skip(skip) {
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
                let p = s.as_str().unwrap_or_else(|| panic!("bad pattern at {at}"));
                if let Some(t) = v.as_str() {
                    if !pattern_matches(p, t) {
                        errs.push(format!("{at}: {t:?} does not match {p}"));
                    }
                }
            }
            "maxItems" => {
                if v.as_array()
                    .is_some_and(|a| (a.len() as f64) > bound(s, at))
                {
                    errs.push(format!("{at}: more than {s} items"));
                }
            }
            "minProperties" => {
                if v.as_object()
                    .is_some_and(|o| (o.len() as f64) < bound(s, at))
                {
                    errs.push(format!("{at}: fewer than {s} properties"));
                }
            }
            "propertyNames" => {
                for name in v.as_object().into_iter().flat_map(|o| o.keys()) {
                    validate(
                        doc,
                        s,
                        &Value::from(name.as_str()),
                        &format!("{at}.{name} (name)"),
                        errs,
                    );
                }
            }
            "prefixItems" => {
                if let Some(a) = v.as_array() {
                    let subs = s
                        .as_array()
                        .unwrap_or_else(|| panic!("bad prefixItems at {at}"));
                    for (i, (item, sub)) in a.iter().zip(subs).enumerate() {
                        validate(doc, sub, item, &format!("{at}[{i}]"), errs);
                    }
                }
            }
            "contains" => {
                if let Some(a) = v.as_array() {
                    if !a.iter().any(|item| is_valid(doc, s, item)) {
                        errs.push(format!("{at}: no item matches contains {s}"));
                    }
                }
            }
            "anyOf" => {
                let any = s
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|sub| is_valid(doc, sub, v));
                if !any {
                    errs.push(format!("{at}: matches none of anyOf"));
                }
            }
            "allOf" => {
                for sub in s.as_array().into_iter().flatten() {
                    validate(doc, sub, v, at, errs);
                }
            }
            "not" => {
                if is_valid(doc, s, v) {
                    errs.push(format!("{at}: matches not {s}"));
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

/// The JSON schema of the request body of `method path` (e.g. "post").
pub fn request_schema<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let s = &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    assert!(!s.is_null(), "{method} {path} has no JSON request schema");
    s
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
