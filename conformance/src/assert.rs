//! JSONPath assertions on a response body.
//!
//! ```json
//! {"path": "$.children[0].kind", "equals": "Pod"}
//! {"path": "$.children", "length": 3}
//! {"path": "$.finalized", "exists": false}
//! {"path": "$.labels['pod-name']", "equals": null}
//! {"path": "$.status.replicas", "atLeast": 1}
//! {"path": "$.children[*].metadata.name", "equals": ["a", "b"]}
//! ```
//!
//! A path that matches one value is compared as that value; one that matches several is
//! compared as the array of matches. Numbers compare by value (`1` equals `1.0`).

use serde::Deserialize;
use serde::de::Error as _;
use serde_json::{Map, Value};

/// One check of a JSON body.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub path: String,
    pub check: Check,
}

#[derive(Debug, Clone)]
pub enum Check {
    Equals(Value),
    Length(usize),
    Exists(bool),
    Contains(Value),
    AtLeast(f64),
    AtMost(f64),
    OneOf(Vec<Value>),
}

const CHECKS: &str = "equals, length, exists, contains, atLeast, atMost, oneOf";

impl<'de> Deserialize<'de> for Assertion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let path = match map.remove("path") {
            Some(Value::String(path)) => path,
            _ => return Err(D::Error::custom("an assertion needs a \"path\" string")),
        };
        if map.len() != 1 {
            return Err(D::Error::custom(format!(
                "assertion on {path} needs exactly one check of: {CHECKS}"
            )));
        }
        let (name, value) = map.into_iter().next().expect("one entry");
        let bad = |what: &str| D::Error::custom(format!("{name} on {path} takes {what}"));
        let check = match name.as_str() {
            "equals" => Check::Equals(value),
            "length" => {
                Check::Length(value.as_u64().ok_or_else(|| bad("a whole number"))? as usize)
            }
            "exists" => Check::Exists(value.as_bool().ok_or_else(|| bad("true or false"))?),
            "contains" => Check::Contains(value),
            "atLeast" => Check::AtLeast(value.as_f64().ok_or_else(|| bad("a number"))?),
            "atMost" => Check::AtMost(value.as_f64().ok_or_else(|| bad("a number"))?),
            "oneOf" => match value {
                Value::Array(values) => Check::OneOf(values),
                _ => return Err(bad("an array")),
            },
            other => {
                return Err(D::Error::custom(format!(
                    "unknown check {other:?} on {path}: expected one of {CHECKS}"
                )));
            }
        };
        Ok(Assertion { path, check })
    }
}

/// Why an assertion failed: what was expected and what was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub what: String,
    pub expected: String,
    pub got: String,
}

impl Assertion {
    /// Checks `body`.
    pub fn check(&self, body: &Value) -> Result<(), Mismatch> {
        use jsonpath_rust::JsonPath;
        let found: Vec<&Value> = body.query(&self.path).map_err(|err| Mismatch {
            what: self.path.clone(),
            expected: "a valid JSONPath".to_string(),
            got: format!("{err}"),
        })?;
        let value = match found.as_slice() {
            [] => None,
            [one] => Some((*one).clone()),
            many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
        };
        let mismatch = |expected: String| Mismatch {
            what: self.path.clone(),
            expected,
            got: value
                .as_ref()
                .map_or_else(|| "nothing".to_string(), compact),
        };
        let ok = match (&self.check, &value) {
            (Check::Exists(should), found) => *should == found.is_some(),
            (_, None) => false,
            (Check::Equals(expected), Some(got)) => json_equal(expected, got),
            (Check::Length(expected), Some(got)) => length(got) == Some(*expected),
            (Check::Contains(expected), Some(got)) => contains(got, expected),
            (Check::AtLeast(min), Some(got)) => got.as_f64().is_some_and(|n| n >= *min),
            (Check::AtMost(max), Some(got)) => got.as_f64().is_some_and(|n| n <= *max),
            (Check::OneOf(options), Some(got)) => options.iter().any(|o| json_equal(o, got)),
        };
        if ok {
            return Ok(());
        }
        Err(mismatch(match &self.check {
            Check::Equals(expected) => compact(expected),
            Check::Length(n) => format!("length {n}"),
            Check::Exists(true) => "a value".to_string(),
            Check::Exists(false) => "nothing".to_string(),
            Check::Contains(expected) => format!("something containing {}", compact(expected)),
            Check::AtLeast(min) => format!(">= {min}"),
            Check::AtMost(max) => format!("<= {max}"),
            Check::OneOf(options) => format!("one of {}", compact(&Value::Array(options.clone()))),
        }))
    }
}

/// JSON equality where numbers compare by value.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn length(value: &Value) -> Option<usize> {
    match value {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        _ => None,
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match (haystack, needle) {
        (Value::String(h), Value::String(n)) => h.contains(n.as_str()),
        (Value::Array(items), needle) => items.iter().any(|item| json_equal(item, needle)),
        (Value::Object(map), Value::String(key)) => map.contains_key(key),
        _ => false,
    }
}

/// A value on one line, shortened for reports.
pub fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 200 {
        let mut end = 200;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assertion(value: Value) -> Assertion {
        serde_json::from_value(value).expect("assertion")
    }

    #[test]
    fn checks_pass_and_fail_with_evidence() {
        let body = json!({"children": [{"kind": "Pod", "metadata": {"name": "a"}},
                                        {"kind": "Pod", "metadata": {"name": "b"}}],
                          "labels": {"pod-name": null}, "status": {"n": 2.0}});
        for ok in [
            json!({"path": "$.children", "length": 2}),
            json!({"path": "$.children[*].metadata.name", "equals": ["a", "b"]}),
            json!({"path": "$.labels['pod-name']", "equals": null}),
            json!({"path": "$.finalized", "exists": false}),
            json!({"path": "$.status.n", "equals": 2}),
            json!({"path": "$.status.n", "atLeast": 1}),
            json!({"path": "$.children[0].kind", "oneOf": ["Pod", "Service"]}),
            json!({"path": "$.children[*].metadata.name", "contains": "b"}),
        ] {
            assert_eq!(assertion(ok.clone()).check(&body), Ok(()), "{ok}");
        }
        assert_eq!(
            assertion(json!({"path": "$.children[0].kind", "equals": "Service"})).check(&body),
            Err(Mismatch {
                what: "$.children[0].kind".into(),
                expected: "\"Service\"".into(),
                got: "\"Pod\"".into()
            })
        );
        let missing = assertion(json!({"path": "$.status.missing", "equals": 1})).check(&body);
        assert_eq!(missing.map_err(|m| m.got), Err("nothing".to_string()));
    }

    #[test]
    fn malformed_assertions_are_refused_with_a_reason() {
        let err = |value: Value| {
            serde_json::from_value::<Assertion>(value)
                .expect_err("invalid")
                .to_string()
        };
        assert!(err(json!({"equals": 1})).contains("needs a \"path\""));
        assert!(err(json!({"path": "$.a"})).contains("exactly one check"));
        assert!(err(json!({"path": "$.a", "equal": 1})).contains("unknown check \"equal\""));
        assert!(err(json!({"path": "$.a", "length": "x"})).contains("whole number"));
    }
}
