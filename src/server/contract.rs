//! The OpenAPI document as this server serves it: the hand-written template
//! (`src/server/openapi.json`) with the constraints that depend on how the
//! service was started filled in, so that the schema states exactly what
//! this server accepts:
//!
//! - `explain` at most `max_explain`; batches and KServe inputs at most
//!   `max_batch_size` documents;
//! - Perspective attribute names, pinned to the versions of the serving
//!   model (`NAME@2`, `NAME@2.0`, `NAME@2.0.0` for version 2.0.0), and the
//!   KServe `{name}` / `{version}` path parameters (any other is 404);
//! - `POST /admin/reload`: with no admin token configured the route answers
//!   404 to everyone, and the document says just that (no security scheme,
//!   only 404 and 405); with a token it requires `Authorization: Bearer`;
//! - with API keys on, the scoring operations need a key (the "no key"
//!   alternative `{}` leaves their `security`).
//!
//! A byte limit (`max_body_bytes`, the Perspective comment limit) has no
//! JSON Schema keyword; those are stated in descriptions and by 413 / 400.

use serde_json::{json, Value};

use super::settings::Settings;

/// The template, embedded at build time.
pub const OPENAPI_TEMPLATE: &str = include_str!("openapi.json");

/// The three Perspective attribute names.
const ATTRIBUTES: [&str; 3] = [
    "STANCE_PRO_SANCTUARY",
    "STANCE_ANTI_SANCTUARY",
    "STANCE_NEUTRAL",
];

/// JSON pointers (into the template) of each limit the settings fill in.
pub const EXPLAIN_MAXIMA: [&str; 2] = [
    "/components/schemas/ScoreRequest/properties/explain/maximum",
    "/components/schemas/BatchRequest/properties/explain/maximum",
];

/// JSON pointers of the batch size limits.
pub const BATCH_MAXIMA: [&str; 2] = [
    "/components/schemas/BatchRequest/properties/documents/maxItems",
    "/components/schemas/KServeRequestInput/properties/shape/prefixItems/0/maximum",
];

/// JSON pointer of the Perspective attribute names.
pub const ATTRIBUTE_NAMES: &str = "/components/schemas/PerspectiveAttributeName/enum";

/// JSON pointer of the admin operation.
pub const ADMIN_RELOAD: &str = "/paths/~1admin~1reload/post";

/// JSON pointers of the KServe model name and version path parameters' schemas.
pub const KSERVE_NAME: &str = "/components/parameters/KServeModelName/schema";
/// See [`KSERVE_NAME`].
pub const KSERVE_VERSION: &str = "/components/parameters/KServeModelVersion/schema";

/// What the served document depends on besides the template.
#[derive(Debug, Clone, Copy)]
pub struct ServerFacts<'a> {
    /// The settings the service started with.
    pub settings: &'a Settings,
    /// The name of the model serving now.
    pub model_name: &'a str,
    /// The version of the model serving now.
    pub model_version: &'a str,
    /// Whether API keys are required.
    pub api_keys: bool,
}

/// Why the document could not be built (a bug in the template: the unit
/// tests build it for every combination of facts).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The template is not JSON.
    #[error("openapi.json is not JSON: {0}")]
    Template(#[from] serde_json::Error),
    /// A pointer the server fills in is missing from the template.
    #[error("openapi.json has nothing at {0}")]
    Missing(&'static str),
}

/// The names a request may use for the attributes: bare, or pinned to the
/// serving `version` or a prefix of it ending at a dot.
pub fn attribute_names(version: &str) -> Vec<String> {
    let mut pins: Vec<&str> = version
        .match_indices('.')
        .map(|(i, _)| &version[..i])
        .filter(|p| !p.is_empty())
        .collect();
    pins.push(version);
    let mut out = Vec::new();
    for a in ATTRIBUTES {
        out.push(a.to_string());
        out.extend(pins.iter().map(|p| format!("{a}@{p}")));
    }
    out
}

fn set(doc: &mut Value, pointer: &'static str, value: Value) -> Result<(), ContractError> {
    let slot = doc
        .pointer_mut(pointer)
        .ok_or(ContractError::Missing(pointer))?;
    *slot = value;
    Ok(())
}

/// The document served at `/openapi.json`.
pub fn served_document(facts: ServerFacts<'_>) -> Result<Value, ContractError> {
    let mut doc: Value = serde_json::from_str(OPENAPI_TEMPLATE)?;
    let s = facts.settings;
    for p in EXPLAIN_MAXIMA {
        set(&mut doc, p, json!(s.max_explain))?;
    }
    for p in BATCH_MAXIMA {
        set(&mut doc, p, json!(s.max_batch_size))?;
    }
    set(
        &mut doc,
        ATTRIBUTE_NAMES,
        json!(attribute_names(facts.model_version)),
    )?;
    set(
        &mut doc,
        KSERVE_NAME,
        json!({"type": "string", "enum": [facts.model_name]}),
    )?;
    set(
        &mut doc,
        KSERVE_VERSION,
        json!({"type": "string", "enum": [facts.model_version]}),
    )?;
    if s.admin_token.is_some() {
        // With a token the route exists: it never answers 404.
        if let Some(responses) = doc
            .pointer_mut(ADMIN_RELOAD)
            .and_then(|op| op.get_mut("responses"))
            .and_then(Value::as_object_mut)
        {
            responses.remove("404");
        }
    } else {
        let op = doc
            .pointer(ADMIN_RELOAD)
            .ok_or(ContractError::Missing(ADMIN_RELOAD))?;
        let disabled = json!({
            "operationId": op["operationId"],
            "summary": "Disabled on this server: no admin token is configured (STANCE_ADMIN_TOKEN), so every request is answered 404 `admin_disabled`.",
            "description": "The route exists only once an operator sets STANCE_ADMIN_TOKEN; it then requires `Authorization: Bearer <token>`. See docs/API.md.",
            "responses": {
                "404": op["responses"]["404"],
                "405": op["responses"]["405"],
            }
        });
        set(&mut doc, ADMIN_RELOAD, disabled)?;
    }
    if facts.api_keys {
        for path in doc["paths"].as_object_mut().into_iter().flatten() {
            for op in path.1.as_object_mut().into_iter().flatten() {
                if let Some(alternatives) = op.1.get_mut("security").and_then(Value::as_array_mut) {
                    let keyed = alternatives.iter().any(|a| a.get("apiKeyQuery").is_some());
                    if keyed {
                        alternatives.retain(|a| a.as_object().is_some_and(|o| !o.is_empty()));
                    }
                }
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::AdminToken;

    fn doc(settings: &Settings, keys: bool) -> Value {
        served_document(ServerFacts {
            settings,
            model_name: "sanctuary",
            model_version: "2.0.0",
            api_keys: keys,
        })
        .unwrap()
    }

    #[test]
    fn attribute_names_are_bare_or_pinned_to_a_dot_prefix_of_the_version() {
        let names = attribute_names("2.0.1");
        assert_eq!(names.len(), 12);
        for n in [
            "STANCE_NEUTRAL",
            "STANCE_NEUTRAL@2",
            "STANCE_NEUTRAL@2.0",
            "STANCE_NEUTRAL@2.0.1",
        ] {
            assert!(names.iter().any(|x| x == n), "{n}");
        }
        assert!(!names.iter().any(|x| x == "STANCE_NEUTRAL@2.0.") && !names.contains(&"X".into()));
        for (n, v) in names.iter().filter_map(|n| n.split_once('@')) {
            assert!(
                crate::server::perspective::version_matches(v, "2.0.1"),
                "{n}@{v}"
            );
        }
    }

    #[test]
    fn the_served_document_carries_the_settings_limits() {
        let settings = Settings {
            max_explain: 7,
            max_batch_size: 3,
            admin_token: Some(AdminToken::new("t")),
            ..Settings::default()
        };
        let d = doc(&settings, false);
        for p in EXPLAIN_MAXIMA {
            assert_eq!(d.pointer(p), Some(&json!(7)), "{p}");
        }
        for p in BATCH_MAXIMA {
            assert_eq!(d.pointer(p), Some(&json!(3)), "{p}");
        }
        let admin = d.pointer(ADMIN_RELOAD).unwrap();
        assert_eq!(admin["security"], json!([{"adminToken": []}]));
        assert!(admin["responses"]["401"].is_object() && admin["responses"]["404"].is_null());
        assert_eq!(
            d.pointer(KSERVE_NAME).unwrap()["enum"],
            json!(["sanctuary"])
        );
        assert_eq!(d.pointer(KSERVE_VERSION).unwrap()["enum"], json!(["2.0.0"]));
        let score_security = &d["paths"]["/v1/score"]["post"]["security"];
        assert!(score_security.as_array().unwrap().contains(&json!({})));
    }

    #[test]
    fn without_an_admin_token_reload_is_documented_as_404_only() {
        let d = doc(&Settings::default(), false);
        let op = d.pointer(ADMIN_RELOAD).unwrap();
        assert!(op.get("security").is_none(), "{op}");
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["404", "405"]);
        assert!(op["responses"]["404"].is_object() && op["responses"]["405"].is_object());
    }

    #[test]
    fn with_api_keys_on_scoring_operations_need_a_key() {
        let d = doc(&Settings::default(), true);
        for (path, method) in [
            ("/v1/score", "post"),
            ("/v1alpha1/comments:analyze", "post"),
            ("/v2/models/{name}/infer", "post"),
        ] {
            let sec = d["paths"][path][method]["security"].as_array().unwrap();
            assert_eq!(sec.len(), 3, "{path}");
            assert!(!sec.contains(&json!({})), "{path}");
        }
    }
}
