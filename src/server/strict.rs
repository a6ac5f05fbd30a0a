//! Serde helpers that make a request body mean what `openapi.json` says it
//! means, where serde's defaults differ from JSON Schema:
//!
//! - a value the schema calls an object must be a JSON object: serde's derive
//!   also reads a struct from an array of its fields (`["hi"]` as
//!   `{"text": "hi"}`), which the schema refuses;
//! - a value the schema calls an integer may be written `3.0`: JSON Schema
//!   counts any number with no fractional part as an integer, while serde
//!   refuses a float for an integer type.
//!
//! Used with `#[serde(deserialize_with = "...")]` on request types.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Unexpected, Visitor};

/// A `T` read only from a JSON object.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// An optional object (`null` or absent is `None`).
pub fn object_opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
}

/// An array of objects.
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Vec::<Object<T>>::deserialize(d)?
        .into_iter()
        .map(|o| o.0)
        .collect())
}

/// An optional array of objects.
pub fn objects_opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Ok(Option::<Vec<Object<T>>>::deserialize(d)?.map(|v| v.into_iter().map(|o| o.0).collect()))
}

/// An optional map whose values are objects or `null`.
pub fn object_map_opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, Option<T>>>, D::Error> {
    Ok(
        Option::<BTreeMap<String, Option<Object<T>>>>::deserialize(d)?
            .map(|m| m.into_iter().map(|(k, v)| (k, v.map(|o| o.0))).collect()),
    )
}

/// A whole number of at least 0: `7` or `7.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of at least 0")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                usize::try_from(v)
                    .map(Count)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                usize::try_from(v)
                    .map(Count)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                // 2^53: beyond it a float no longer holds every whole number.
                if v.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&v) {
                    Ok(Count(v as usize))
                } else {
                    Err(E::invalid_value(Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// An optional whole number of at least 0 (`null` or absent is `None`).
pub fn count_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    Ok(Option::<Count>::deserialize(d)?.map(|c| c.0))
}

/// A whole number that may be negative: `-1`, `3` or `3.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                i64::try_from(v)
                    .map(Whole)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                Ok(Whole(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Whole, E> {
                const LIMIT: f64 = 9_007_199_254_740_992.0;
                if v.fract() == 0.0 && (-LIMIT..=LIMIT).contains(&v) {
                    Ok(Whole(v as i64))
                } else {
                    Err(E::invalid_value(Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// An array of whole numbers.
pub fn wholes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    Ok(Vec::<Whole>::deserialize(d)?
        .into_iter()
        .map(|w| w.0)
        .collect())
}

/// A JSON value as a whole number of at least 0 (`7` or `7.0`), if it is one.
pub fn value_as_count(v: &serde_json::Value) -> Option<usize> {
    serde_json::from_value::<Count>(v.clone()).ok().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        text: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default, deserialize_with = "object_opt")]
        inner: Option<Inner>,
        #[serde(default, deserialize_with = "objects_opt")]
        list: Option<Vec<Inner>>,
        #[serde(default, deserialize_with = "count_opt")]
        n: Option<usize>,
        #[serde(default, deserialize_with = "wholes")]
        shape: Vec<i64>,
    }

    fn parse(s: &str) -> Result<Outer, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn a_struct_is_read_from_an_object_and_never_from_an_array() {
        let ok = parse(r#"{"inner": {"text": "hi"}, "list": [{"text": "a"}]}"#).unwrap();
        assert_eq!(ok.inner, Some(Inner { text: "hi".into() }));
        assert_eq!(ok.list.map(|l| l.len()), Some(1));
        assert_eq!(parse(r#"{"inner": null}"#).unwrap().inner, None);
        // serde's derive alone would read both of these as `{"text": "hi"}`.
        let e = parse(r#"{"inner": ["hi"]}"#).unwrap_err();
        assert!(e.contains("expected a JSON object"), "{e}");
        let e = parse(r#"{"list": [["hi"]]}"#).unwrap_err();
        assert!(e.contains("expected a JSON object"), "{e}");
        // The inner type's own rules still apply.
        let e = parse(r#"{"inner": {"text": "hi", "x": 1}}"#).unwrap_err();
        assert!(e.contains("unknown field `x`"), "{e}");
    }

    #[test]
    fn an_integer_may_be_written_as_a_float_with_no_fraction() {
        assert_eq!(parse(r#"{"n": 7}"#).unwrap().n, Some(7));
        assert_eq!(parse(r#"{"n": 575.0}"#).unwrap().n, Some(575));
        assert_eq!(parse(r#"{"n": null}"#).unwrap().n, None);
        for bad in [
            r#"{"n": 7.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": -1.0}"#,
            r#"{"n": "7"}"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("a whole number of at least 0"), "{bad}: {e}");
        }
        assert_eq!(
            parse(r#"{"shape": [2, 1.0, -1]}"#).unwrap().shape,
            [2, 1, -1]
        );
        assert!(parse(r#"{"shape": [0.5]}"#).is_err());
        assert_eq!(value_as_count(&serde_json::json!(4.0)), Some(4));
        assert_eq!(value_as_count(&serde_json::json!(-4)), None);
    }
}
