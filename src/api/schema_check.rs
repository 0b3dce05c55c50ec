//! Checks a JSON value against the OpenAPI schema poem-openapi derives for
//! a request type, collecting every bad field.
//!
//! poem-openapi's own parser stops at the first error and reports it
//! without the field's name ("Expected input type "string", found null").
//! Walking the same schema the OpenAPI document publishes keeps the two in
//! step: what the document promises is what is checked. The business
//! limits (lengths, ranges) stay in the domain's validation, which runs
//! once the body has parsed.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde_json::{Map, Value};

use crate::domain::validation::FieldError;

/// A request type's schema and the named schemas it refers to.
struct Schema {
    root: MetaSchemaRef,
    registry: Registry,
}

/// Each request type's schema, derived once.
static SCHEMAS: LazyLock<RwLock<HashMap<TypeId, Arc<Schema>>>> = LazyLock::new(Default::default);

fn schema_of<T: Type + 'static>() -> Arc<Schema> {
    let id = TypeId::of::<T>();
    if let Some(schema) = SCHEMAS.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return schema.clone();
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema = Arc::new(Schema {
        root: T::schema_ref(),
        registry,
    });
    SCHEMAS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, schema.clone());
    schema
}

/// Every way `value` breaks `T`'s schema: a required field missing or
/// null, a value of the wrong type, an integer out of its format's range,
/// a value outside an enumeration, and the schema's own bounds. Empty when
/// the value fits.
pub fn violations<T: Type + 'static>(value: &Value) -> Vec<FieldError> {
    let schema = schema_of::<T>();
    let mut walk = Walk {
        registry: &schema.registry,
        errors: Vec::new(),
    };
    let mut at = Vec::new();
    if value.is_null() {
        if T::IS_REQUIRED && !walk.accepts_null(&schema.root) {
            walk.fail(&at, "a JSON body is required");
        }
    } else {
        walk.check(&schema.root, value, &mut at);
    }
    walk.errors
}

struct Walk<'a> {
    registry: &'a Registry,
    errors: Vec<FieldError>,
}

impl<'a> Walk<'a> {
    fn resolve(&self, schema: &'a MetaSchemaRef) -> Option<&'a MetaSchema> {
        match schema {
            MetaSchemaRef::Inline(inline) => Some(inline),
            MetaSchemaRef::Reference(name) => self.registry.schemas.get(name),
        }
    }

    /// A top-level field by its name, a nested one by its JSON pointer, the
    /// body itself as `body`.
    fn fail(&mut self, at: &[String], message: impl Into<String>) {
        let field = match at {
            [] => "body".to_owned(),
            [name] => name.clone(),
            path => format!("/{}", path.join("/")),
        };
        self.errors.push(FieldError::new(&field, message));
    }

    fn accepts_null(&self, schema: &'a MetaSchemaRef) -> bool {
        self.resolve(schema)
            .is_some_and(|s| s.nullable || (s.ty.is_empty() && s.all_of.is_empty()))
    }

    fn check(&mut self, schema: &'a MetaSchemaRef, value: &Value, at: &mut Vec<String>) {
        let Some(s) = self.resolve(schema) else {
            return;
        };
        for part in &s.all_of {
            self.check(part, value, at);
        }
        let fits = match s.ty {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            _ => true,
        };
        if !fits {
            return self.fail(
                at,
                format!("must be {}, not {}", expected(s.ty), kind(value)),
            );
        }
        if !s.enum_items.is_empty() && !s.enum_items.contains(value) {
            let names: Vec<String> = s.enum_items.iter().map(display).collect();
            return self.fail(at, format!("must be one of: {}", names.join(", ")));
        }
        match value {
            Value::Number(_) => self.number(s, value, at),
            Value::String(text) => self.string(s, text, at),
            Value::Object(map) => self.object(s, map, at),
            Value::Array(items) => {
                if let Some(item) = &s.items {
                    for (i, v) in items.iter().enumerate() {
                        at.push(i.to_string());
                        self.check(item, v, at);
                        at.pop();
                    }
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, s: &'a MetaSchema, map: &Map<String, Value>, at: &mut Vec<String>) {
        for (name, property) in &s.properties {
            at.push((*name).to_owned());
            match map.get(*name) {
                Some(Value::Null) | None if !s.required.contains(name) => {}
                Some(Value::Null) if self.accepts_null(property) => {}
                Some(Value::Null) => self.fail(at, "must not be null"),
                None => self.fail(at, "is required"),
                Some(v) => self.check(property, v, at),
            }
            at.pop();
        }
    }

    fn number(&mut self, s: &MetaSchema, value: &Value, at: &[String]) {
        if s.ty == "integer" {
            let (low, high) = integer_range(s.format);
            let inside = match (value.as_i64(), value.as_u64()) {
                (Some(n), _) => i128::from(n) >= low && i128::from(n) <= high,
                (None, Some(n)) => i128::from(n) <= high,
                _ => false,
            };
            if !inside {
                return self.fail(at, format!("must be a whole number from {low} to {high}"));
            }
        }
        let n = value.as_f64().unwrap_or_default();
        if let Some(min) = s.minimum
            && (n < min || (n == min && s.exclusive_minimum == Some(true)))
        {
            return self.fail(at, format!("must be at least {min}"));
        }
        if let Some(max) = s.maximum
            && (n > max || (n == max && s.exclusive_maximum == Some(true)))
        {
            self.fail(at, format!("must be at most {max}"));
        }
    }

    fn string(&mut self, s: &MetaSchema, text: &str, at: &[String]) {
        let chars = text.chars().count();
        if let Some(max) = s.max_length
            && chars > max
        {
            return self.fail(at, format!("must be at most {max} characters"));
        }
        if let Some(min) = s.min_length
            && chars < min
        {
            self.fail(at, format!("must be at least {min} characters"));
        }
    }
}

/// The range of an integer schema's format (a JSON integer otherwise
/// parses as `i64`).
fn integer_range(format: Option<&str>) -> (i128, i128) {
    match format {
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint64") => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

fn expected(ty: &str) -> &'static str {
    match ty {
        "string" => "a string",
        "number" => "a number",
        "integer" => "a whole number",
        "boolean" => "true or false",
        "object" => "an object",
        _ => "an array",
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn display(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use poem_openapi::{Enum, Object};
    use serde_json::json;

    use super::violations;

    #[derive(Enum)]
    #[oai(rename_all = "lowercase")]
    enum Colour {
        Red,
        Blue,
    }

    #[derive(Object)]
    struct Inner {
        count: i32,
    }

    #[derive(Object)]
    struct Sample {
        name: String,
        price: f64,
        #[oai(nullable)]
        note: Option<String>,
        #[oai(default)]
        flag: bool,
        #[oai(nullable)]
        colour: Option<Colour>,
        inner: Option<Inner>,
        #[oai(validator(max_length = 3))]
        short: Option<String>,
    }

    fn fields(value: serde_json::Value) -> Vec<(String, String)> {
        violations::<Sample>(&value)
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            fields(json!({"price": "abc", "flag": 1, "colour": "green"})),
            vec![
                ("name".into(), "is required".into()),
                ("price".into(), "must be a number, not a string".into()),
                ("flag".into(), "must be true or false, not a number".into()),
                ("colour".into(), "must be one of: red, blue".into()),
            ]
        );
        assert_eq!(
            fields(json!({"name": null, "price": 1, "inner": {"count": 1.5}, "short": "long"})),
            vec![
                ("name".into(), "must not be null".into()),
                (
                    "/inner/count".into(),
                    "must be a whole number, not a fractional number".into()
                ),
                ("short".into(), "must be at most 3 characters".into()),
            ]
        );
        assert_eq!(
            fields(json!({"name": "x", "price": 1, "inner": {"count": 3_000_000_000u64}})),
            vec![(
                "/inner/count".into(),
                "must be a whole number from -2147483648 to 2147483647".into()
            )]
        );
    }

    #[test]
    fn a_good_body_passes_and_the_body_itself_is_checked() {
        assert!(fields(json!({"name": "x", "price": 2.5, "note": null, "flag": null})).is_empty());
        assert_eq!(
            fields(json!([1])),
            vec![("body".into(), "must be an object, not an array".into())]
        );
        assert_eq!(
            fields(json!(null)),
            vec![("body".into(), "a JSON body is required".into())]
        );
    }
}
