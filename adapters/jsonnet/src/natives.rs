//! jsonnetd's native functions, reached with `std.native(NAME)`.
//!
//! jsonnetd (metacontroller's Jsonnet webhook server) registers two Go functions with
//! go-jsonnet. They are re-implemented here with the same parameters, results and error
//! texts:
//!
//! - `jsonUnmarshal(jsonStr)`: Go's `json.Unmarshal` into a `map[string]interface{}`. The
//!   text must hold one JSON object (`null` gives `{}`, as Go leaves the map nil); anything
//!   else fails with `can't unmarshal JSON: ...`.
//! - `parseInt(intStr, base)`: Go's `strconv.ParseInt(intStr, base, 64)` as a number;
//!   failures read `can't parse 'intStr': strconv.ParseInt: ...`.
//!
//! go-jsonnet hands native functions plain Go values, so a wrong argument type is
//! reported with Go's type name (`unexpected type float64 for 'jsonStr' arg`).

use jrsonnet_evaluator::error::{ErrorKind, Result};
use jrsonnet_evaluator::function::{FuncVal, builtin};
use jrsonnet_evaluator::{IStr, ObjValueBuilder, Val};
use serde_json::Value;

use crate::strconv;

/// The natives by the names scripts use, ready for `std.native`.
pub fn natives() -> [(&'static str, FuncVal); 2] {
    [
        ("jsonUnmarshal", FuncVal::builtin(builtin_json_unmarshal {})),
        ("parseInt", FuncVal::builtin(builtin_parse_int {})),
    ]
}

/// The parameter is named as in jsonnetd, so `jsonUnmarshal(jsonStr=...)` works too.
#[builtin]
#[allow(non_snake_case)]
fn builtin_json_unmarshal(jsonStr: Val) -> Result<Val> {
    let Val::Str(text) = &jsonStr else {
        return Err(unexpected_type(&jsonStr, "jsonStr"));
    };
    json_unmarshal(&text.clone().into_flat())
        .map_err(|detail| runtime_error(format!("can't unmarshal JSON: {detail}")))
}

#[builtin]
#[allow(non_snake_case)]
fn builtin_parse_int(intStr: Val, base: Val) -> Result<Val> {
    let Val::Str(text) = &intStr else {
        return Err(unexpected_type(&intStr, "intStr"));
    };
    let Val::Num(base) = &base else {
        return Err(unexpected_type(&base, "base"));
    };
    let parsed = strconv::parse_int(&text.clone().into_flat(), go_int(base.get()))
        .map_err(|error| runtime_error(format!("can't parse 'intStr': {error}")))?;
    // jsonnetd returns float64(value): numbers beyond 2^53 round as they do in Go.
    #[allow(clippy::cast_precision_loss)]
    Ok(Val::Num(
        jrsonnet_evaluator::NumValue::new(parsed as f64)
            .ok_or_else(|| runtime_error("parseInt: result is not a finite number".to_string()))?,
    ))
}

/// Go's `int(f)` for the `base` argument: truncation toward zero. Go leaves values outside
/// int64 to the platform; on amd64 (jsonnetd's image) they become the minimum int64, which
/// `ParseInt` then reports as an invalid base.
fn go_int(value: f64) -> i64 {
    // 2^63 as f64 is exact; anything at or beyond it (or NaN) does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if value.is_finite() && value > -LIMIT - 1.0 && value < LIMIT {
        #[allow(clippy::cast_possible_truncation)]
        let truncated = value.trunc() as i64;
        truncated
    } else {
        i64::MIN
    }
}

/// Go's `json.Unmarshal(text, &map[string]interface{}{})` as a jsonnet value.
pub fn json_unmarshal(text: &str) -> std::result::Result<Val, String> {
    // Duplicate keys: the last one counts, as in Go; serde_json's map does the same.
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    match value {
        Value::Object(_) => Ok(to_val(value)),
        Value::Null => Ok(Val::Obj(ObjValueBuilder::new().build())),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            go_json_kind(&other)
        )),
    }
}

fn to_val(value: Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(b),
        // serde_json only produces finite numbers, and Go reads every number as float64.
        Value::Number(n) => n
            .as_f64()
            .and_then(jrsonnet_evaluator::NumValue::new)
            .map_or(Val::Null, Val::Num),
        Value::String(s) => Val::string(s),
        Value::Array(items) => Val::arr(items.into_iter().map(to_val).collect::<Vec<_>>()),
        Value::Object(fields) => {
            let mut builder = ObjValueBuilder::with_capacity(fields.len());
            for (key, value) in fields {
                builder.field(IStr::from(key.as_str())).value(to_val(value));
            }
            Val::Obj(builder.build())
        }
    }
}

/// How Go's decoder names a JSON value in "cannot unmarshal X into ...".
fn go_json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's `%T` of the value go-jsonnet passes for a jsonnet value.
fn go_type_name(value: &Val) -> &'static str {
    match value {
        Val::Str(_) => "string",
        Val::Num(_) => "float64",
        Val::Bool(_) => "bool",
        Val::Null => "<nil>",
        Val::Arr(_) => "[]interface {}",
        Val::Obj(_) => "map[string]interface {}",
        Val::Func(_) => "function",
    }
}

fn unexpected_type(value: &Val, param: &str) -> jrsonnet_evaluator::Error {
    runtime_error(format!(
        "unexpected type {} for '{param}' arg",
        go_type_name(value)
    ))
}

fn runtime_error(message: String) -> jrsonnet_evaluator::Error {
    ErrorKind::RuntimeError(message.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_truncates_toward_zero() {
        assert_eq!(go_int(10.0), 10);
        assert_eq!(go_int(10.9), 10);
        assert_eq!(go_int(-2.5), -2);
        assert_eq!(go_int(1e30), i64::MIN);
        assert_eq!(go_int(-1e30), i64::MIN);
    }

    #[test]
    fn unmarshal_wants_an_object() {
        assert!(matches!(json_unmarshal(r#"{"a": 1}"#), Ok(Val::Obj(_))));
        assert!(matches!(json_unmarshal("null"), Ok(Val::Obj(o)) if o.is_empty()));
        assert_eq!(
            json_unmarshal("[1]").err().as_deref(),
            Some("json: cannot unmarshal array into Go value of type map[string]interface {}")
        );
        assert_eq!(
            json_unmarshal(r#""x""#).err().as_deref(),
            Some("json: cannot unmarshal string into Go value of type map[string]interface {}")
        );
        assert!(json_unmarshal("{").is_err());
        assert!(json_unmarshal("{} x").is_err());
    }
}
