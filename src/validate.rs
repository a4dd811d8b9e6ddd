//! Validation of values from the outside world, in one place: names and
//! texts by length, labels and ids from a set of characters, page limits,
//! and the closed vocabularies (statuses, roles, states, hook names) that
//! [`text_enum!`] turns into enums stored as text.
//!
//! An enum field of a request body is checked while the body is parsed: an
//! unknown value is refused with the same 422 `validation_failed` message the
//! domain gave before (see [`reject`] and [`parse_json`]), a value of the
//! wrong JSON type stays a 400 like any other shape error.

use crate::error::{AppError, AppResult};
use std::cell::RefCell;

/// Longest project name or session title, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Default page of the `?limit=` reads.
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page of the `?limit=` reads.
pub const MAX_LIMIT: i64 = 1000;

/// A `?limit=` as asked, or [`DEFAULT_LIMIT`], clamped to 1–[`MAX_LIMIT`].
pub fn page_limit(asked: Option<i64>) -> i64 {
    asked.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// Checks a name or title: at most [`MAX_NAME_CHARS`] characters, and not
/// blank unless `allow_empty`.
pub fn name(field: &str, value: &str, allow_empty: bool) -> AppResult<()> {
    if !allow_empty && value.trim().is_empty() {
        return Err(AppError::Validation(format!("{field} must not be empty")));
    }
    at_most(field, value, MAX_NAME_CHARS)
}

/// Checks a text that may be empty: at most `max` characters.
pub fn at_most(field: &str, value: &str, max: usize) -> AppResult<()> {
    if value.chars().count() > max {
        return Err(AppError::Validation(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(())
}

/// Checks a text: 1–`max` characters.
pub fn text(field: &str, value: &str, max: usize) -> AppResult<()> {
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::Validation(format!(
            "{field} must be 1-{max} characters"
        )));
    }
    Ok(())
}

/// Whether `value` is 1–`max` bytes, each of them `allowed`.
pub fn from_set(value: &str, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    !value.is_empty() && value.len() <= max && value.bytes().all(allowed)
}

/// Checks a value from the `what` set: 1–`max` characters of it, or 422
/// "`field` must be 1-`max` `what`".
pub fn chars_from(
    field: &str,
    value: &str,
    max: usize,
    what: &str,
    allowed: impl Fn(u8) -> bool,
) -> AppResult<()> {
    if from_set(value, max, allowed) {
        Ok(())
    } else {
        Err(AppError::Validation(format!(
            "{field} must be 1-{max} {what}"
        )))
    }
}

/// The 422 of a value outside a closed vocabulary.
pub fn not_one_of(field: &str, allowed: &[&str]) -> AppError {
    AppError::Validation(format!("{field} must be one of {}", allowed.join(", ")))
}

thread_local! {
    /// The message of the last enum value refused while parsing a body on
    /// this thread: serde's errors carry only text, and this tells
    /// [`parse_json`] the refusal is a 422, not a shape error.
    static REFUSED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The serde error of an enum value outside its vocabulary; [`parse_json`]
/// answers it as 422 with `message`.
pub fn reject<E: serde::de::Error>(message: String) -> E {
    let error = E::custom(&message);
    REFUSED.with(|r| *r.borrow_mut() = Some(message));
    error
}

/// Parses JSON text into `T`: 422 with the message of an enum value outside
/// its vocabulary ([`reject`]), else 400 `bad_request` for any other error.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &[u8]) -> AppResult<T> {
    REFUSED.with(|r| r.borrow_mut().take());
    serde_json::from_slice(text).map_err(|e| match REFUSED.with(|r| r.borrow_mut().take()) {
        Some(message) => AppError::Validation(message),
        None => AppError::BadRequest(format!("invalid JSON body: {e}")),
    })
}

/// Declares an enum whose values are a closed set of strings: the field name
/// it is checked under, `as_str`/`parse`, serde as those strings (an unknown
/// one refused with "`field` must be one of …", 422), diesel as `Text` on
/// both backends (the stored strings are the wire strings), and its OpenAPI
/// schema (named `in "…"`, described by its first doc line).
macro_rules! text_enum {
    (
        #[doc = $doc:literal]
        $(#[$meta:meta])*
        pub enum $name:ident as $field:literal in $schema:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        #[doc = $doc]
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order, as on the wire.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// The field a refused value is named by.
            pub const FIELD: &'static str = $field;

            /// The wire (and stored) string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value named `text`, if it is one.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The value named `text`, or 422 "`field` must be one of …".
            pub fn check(text: &str) -> $crate::error::AppResult<$name> {
                $name::parse(text)
                    .ok_or_else(|| $crate::validate::not_one_of($field, $name::NAMES))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    let refused = $crate::validate::not_one_of($field, $name::NAMES);
                    $crate::validate::reject(refused.message().to_string())
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .enum_values(Some($name::NAMES.iter().copied()))
                    .description(Some($doc.trim()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($schema)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                $name::parse(&text).ok_or_else(|| {
                    format!("{} {text:?} is not one of {:?}", $field, $name::NAMES).into()
                })
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SessionStatus;

    #[test]
    fn an_unknown_enum_value_in_a_body_is_422_with_the_vocabulary() {
        #[derive(serde::Deserialize, Debug)]
        struct Body {
            #[expect(dead_code, reason = "only parsed")]
            status: SessionStatus,
        }
        let refused = parse_json::<Body>(br#"{"status": "bogus"}"#).unwrap_err();
        assert_eq!(refused.code(), "validation_failed");
        assert_eq!(
            refused.message(),
            "status must be one of active, idle, ended"
        );
        // The wrong type is a shape error, as for any other field.
        let wrong = parse_json::<Body>(br#"{"status": 5}"#).unwrap_err();
        assert_eq!(wrong.code(), "bad_request");
        // An earlier refusal does not leak into the next parse.
        let missing = parse_json::<Body>(b"{}").unwrap_err();
        assert_eq!(missing.code(), "bad_request");
    }

    #[test]
    fn page_limits_default_and_clamp() {
        assert_eq!(page_limit(None), DEFAULT_LIMIT);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(5000)), MAX_LIMIT);
    }
}

/// Deepest nesting of arrays and objects an event payload may have. A
/// payload is kept as the client's text and never parsed on its way in, so
/// serde_json's own limit (128, counted with the envelope around it) does
/// not apply there; deeper payloads would reach subscribers whose parsers
/// refuse them (herald's flat rendering, serde_json, Python's `json` past
/// its recursion limit). 64 leaves room for any envelope.
pub const MAX_JSON_DEPTH: usize = 64;

/// How deeply the arrays and objects of `json` nest (0 for a scalar). The
/// text must be valid JSON (a `RawValue`): this only counts brackets
/// outside strings.
pub fn json_depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod depth_tests {
    use super::json_depth;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The depth of a parsed value, to compare the byte scan with.
    fn depth_of(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth_of).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        // Strings full of brackets, quotes and escapes: the scan must skip them.
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[\\[\\]{}\"\\\\a-z:,]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(24, 200, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[\\[{\"\\\\a-z]{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_scan_counts_what_a_parser_sees(value in json_value()) {
            let text = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(json_depth(&text), depth_of(&value));
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            prop_assert_eq!(json_depth(&pretty), depth_of(&value));
        }
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        assert_eq!(json_depth(r#"{"a":"[[[{{{\"]]]"}"#), 1);
        assert_eq!(json_depth(r#"{"a":[[{"b":[]}]]}"#), 5);
        assert_eq!(json_depth("17"), 0);
    }
}
