//! Response validation: arbitrary bytes as a hook's stdout, checked by the output guard
//! (`protocol::check_output`, as the pipeline calls it) for every kind of request and in
//! both strict and loose mode.
//!
//! The loose guard is compared with a model written against `serde_json::Value` and the
//! rules metacontroller applies; the strict guard may only refuse more.

use hookserver::protocol::{Controller, OutputError, RequestShape, check_output};
use serde_json::Value;

/// Every request shape the pipeline checks outputs against.
pub const SHAPES: [RequestShape; 6] = [
    shape(Controller::Composite, true),
    shape(Controller::Composite, false),
    shape(Controller::Decorator, true),
    shape(Controller::Decorator, false),
    shape(Controller::Customize, false),
    // A customize request never declares children; the guard must not care either way.
    shape(Controller::Customize, true),
];

const fn shape(controller: Controller, declares_children: bool) -> RequestShape {
    RequestShape {
        controller,
        declares_children,
    }
}

/// Checks `data` as the stdout of a hook answering each request shape.
pub fn run(data: &[u8]) {
    for shape in SHAPES {
        let loose = check_output(shape, false, data);
        let strict = check_output(shape, true, data);

        assert_eq!(
            outcome(&loose),
            model(shape, data),
            "{shape:?} loose guard against the model, on {:?}",
            String::from_utf8_lossy(data)
        );
        match &strict {
            // Strict mode only adds checks...
            Ok(()) => assert_eq!(
                loose,
                Ok(()),
                "{shape:?}: strict accepted what loose refused"
            ),
            // ...so a refusal that is not about strictness is the loose one.
            Err(err) if !is_strict_only(err) => assert_eq!(&loose, &strict, "{shape:?}"),
            Err(_) => assert_eq!(loose, Ok(()), "{shape:?}: a strict-only refusal"),
        }
        if let Ok(()) = strict {
            check_strict_fields(shape.controller, data);
        }

        if loose.is_ok() {
            // Declaring fewer children never makes an answer unsafe.
            let relaxed = RequestShape {
                declares_children: false,
                ..shape
            };
            assert_eq!(check_output(relaxed, false, data), Ok(()), "{shape:?}");
            // What passed is JSON that re-serializes to an answer that passes too.
            let value: Value = serde_json::from_slice(data)
                .unwrap_or_else(|err| panic!("{shape:?}: accepted output is not JSON: {err}"));
            let again = serde_json::to_vec(&value)
                .unwrap_or_else(|err| panic!("{shape:?}: cannot re-serialize: {err}"));
            assert_eq!(check_output(shape, false, &again), Ok(()), "{shape:?}");
            if strict.is_ok() {
                assert_eq!(check_output(shape, true, &again), Ok(()), "{shape:?}");
            }
        }
    }
}

/// The guard's verdict without the parser's wording.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Empty,
    NotJson,
    NotObject(&'static str),
    MissingChildren(&'static str),
    ChildrenNotArray(&'static str, &'static str),
    Other(String),
}

fn outcome(result: &Result<(), OutputError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Accepted,
        Err(OutputError::Empty) => Outcome::Empty,
        Err(OutputError::NotJson(_)) => Outcome::NotJson,
        Err(OutputError::NotObject(found)) => Outcome::NotObject(found),
        Err(OutputError::MissingChildren { field }) => Outcome::MissingChildren(field),
        Err(OutputError::ChildrenNotArray { field, found }) => {
            Outcome::ChildrenNotArray(field, found)
        }
        Err(other) => Outcome::Other(other.to_string()),
    }
}

fn is_strict_only(err: &OutputError) -> bool {
    matches!(
        err,
        OutputError::UnknownField { .. }
            | OutputError::DuplicateField(_)
            | OutputError::UnknownRuleField { .. }
    )
}

/// What the loose guard must say: metacontroller decodes one JSON document; a composite
/// (decorator) sync answer without `children` (`attachments`), or with them `null`, deletes
/// every observed child when the request declares child types; any other type there fails
/// to decode.
fn model(shape: RequestShape, data: &[u8]) -> Outcome {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Outcome::Empty;
    }
    let map = match serde_json::from_slice::<Value>(data) {
        Err(_) => return Outcome::NotJson,
        Ok(Value::Object(map)) => map,
        Ok(other) => return Outcome::NotObject(describe(&other)),
    };
    let field = match shape.controller {
        Controller::Composite => "children",
        Controller::Decorator => "attachments",
        Controller::Customize => return Outcome::Accepted,
    };
    // `Value` keeps the last of duplicate keys, as Go's decoder does.
    match map.get(field) {
        Some(Value::Array(_)) => Outcome::Accepted,
        None | Some(Value::Null) if shape.declares_children => Outcome::MissingChildren(field),
        None | Some(Value::Null) => Outcome::Accepted,
        Some(other) => Outcome::ChildrenNotArray(field, describe(other)),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What strict mode promises about an answer it accepted: only the top-level fields
/// metacontroller decodes for this controller, and only known `relatedResources` rule fields.
fn check_strict_fields(controller: Controller, data: &[u8]) {
    let known: &[&str] = match controller {
        Controller::Composite => &["status", "children", "resyncAfterSeconds", "finalized"],
        Controller::Decorator => &[
            "labels",
            "annotations",
            "status",
            "attachments",
            "resyncAfterSeconds",
            "finalized",
        ],
        Controller::Customize => &["relatedResources"],
    };
    let rule_fields = [
        "apiVersion",
        "resource",
        "labelSelector",
        "namespaceSelector",
        "namespace",
        "names",
    ];
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) else {
        panic!("strict mode accepted an answer that is not a JSON object");
    };
    for key in map.keys() {
        assert!(known.contains(&key.as_str()), "strict accepted `{key}`");
    }
    if let Some(Value::Array(rules)) = map.get("relatedResources") {
        for rule in rules.iter().filter_map(Value::as_object) {
            for key in rule.keys() {
                assert!(
                    rule_fields.contains(&key.as_str()),
                    "strict accepted rule `{key}`"
                );
            }
        }
    }
}
