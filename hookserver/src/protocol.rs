//! What metacontroller sends and what it may safely receive.
//!
//! Requests are inspected only as far as the output guard needs (which controller kind,
//! whether it declares child types); responses are checked before they leave, because
//! metacontroller deletes every child a 200 response leaves out. Both walk the top-level
//! object with serde visitors and read nested values through without building a tree, so a
//! request with thousands of children costs one pass over its bytes. Whatever passes is a
//! JSON document that `serde_json::Value` (and Go's decoder) reads as it was written.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// The hook a URL names. Nothing in the body says which hook is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookKind {
    Sync,
    Finalize,
    Customize,
}

impl HookKind {
    pub const ALL: [HookKind; 3] = [HookKind::Sync, HookKind::Finalize, HookKind::Customize];

    /// The name used in URLs and passed to the module as `argv[1]`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Sync => "sync",
            HookKind::Finalize => "finalize",
            HookKind::Customize => "customize",
        }
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HookKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HookKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown hook {s:?}: expected sync, finalize or customize"))
    }
}

/// Which controller sent a request, as far as the output guard cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controller {
    /// CompositeController sync/finalize: the request has `parent` and `children`.
    Composite,
    /// DecoratorController sync/finalize: the request has `object` and `attachments`.
    Decorator,
    /// The customize hook of either controller: the request has `parent`.
    Customize,
}

/// The facts about a request that decide which responses are safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestShape {
    pub controller: Controller,
    /// The controller declares at least one child (or attachment) type, so a response
    /// without `children` (`attachments`) would delete every observed object.
    pub declares_children: bool,
}

/// Why a request body was refused before any hook ran.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("request body is not valid JSON: {0}")]
    NotJson(String),
    #[error("request body must be a JSON object, as metacontroller sends")]
    NotObject,
    #[error(
        "a {hook} request must have a `parent` (CompositeController) or an `object` \
         (DecoratorController) field; is this a metacontroller {hook} request?"
    )]
    MissingSubject { hook: HookKind },
    #[error("request field `{field}` must be an object keyed by Kind.version, got {found}")]
    BadObjectMap { field: &'static str, found: String },
}

impl RequestShape {
    /// Inspects a request body for `hook`.
    pub fn inspect(hook: HookKind, body: &[u8]) -> Result<Self, RequestError> {
        let fields = match parse_top::<RequestFields>(body).map_err(RequestError::NotJson)? {
            Top::Object(fields) => fields,
            Top::Other(_) => return Err(RequestError::NotObject),
        };
        for (field, map) in [
            ("children", fields.children),
            ("attachments", fields.attachments),
        ] {
            if !matches!(map.kind, JsonType::Object | JsonType::Null) {
                return Err(RequestError::BadObjectMap {
                    field,
                    found: map.kind.describe().to_string(),
                });
            }
        }
        let controller = match hook {
            HookKind::Customize => {
                return Ok(RequestShape {
                    controller: Controller::Customize,
                    declares_children: false,
                });
            }
            _ if fields.has_object => Controller::Decorator,
            // Some metacontroller versions send v2 decorator requests with `parent` and
            // `children` (the response still says `attachments`): the controller object
            // tells them apart from a composite request.
            _ if fields.has_parent && fields.controller.is_decorator() => Controller::Decorator,
            _ if fields.has_parent => Controller::Composite,
            _ => return Err(RequestError::MissingSubject { hook }),
        };
        let declared = match controller {
            Controller::Decorator => fields.attachments.entries + fields.children.entries,
            _ => fields.children.entries,
        };
        Ok(RequestShape {
            controller,
            declares_children: declared > 0,
        })
    }
}

/// A JSON document's top level: an object walked field by field, or anything else.
enum Top<T> {
    Object(T),
    Other(JsonType),
}

/// Parses a whole document (trailing garbage is an error) as [`Top`]; the error says why it
/// is not JSON.
///
/// UTF-8 is checked first, over the whole document: serde_json checks it only in strings it
/// decodes (not in keys and values it skips), and Go's decoder turns an invalid byte into
/// U+FFFD, changing what the hook wrote.
fn parse_top<T: ObjectFields>(bytes: &[u8]) -> Result<Top<T>, String> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        format!(
            "byte {} is not UTF-8 (JSON text must be UTF-8)",
            err.valid_up_to()
        )
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let top = de
        .deserialize_any(TopVisitor(PhantomData))
        .map_err(|err| err.to_string())?;
    de.end().map_err(|err| err.to_string())?;
    Ok(top)
}

/// Collects what a caller needs from the fields of a top-level object.
trait ObjectFields: Default {
    /// Consumes the value of `key` from `map`.
    fn field<'de, A: MapAccess<'de>>(&mut self, key: String, map: &mut A) -> Result<(), A::Error>;
}

struct TopVisitor<T>(PhantomData<T>);

/// The `Visitor` methods for every non-container JSON value, each mapped through `$wrap`.
macro_rules! visit_scalars {
    ($wrap:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($wrap(JsonType::Null))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($wrap(JsonType::Bool))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($wrap(JsonType::Number))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($wrap(JsonType::Number))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($wrap(JsonType::Number))
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($wrap(JsonType::String))
        }
    };
}

impl<'de, T: ObjectFields> Visitor<'de> for TopVisitor<T> {
    type Value = Top<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<T>, A::Error> {
        let mut fields = T::default();
        while let Some(KeyName(key)) = map.next_key()? {
            fields.field(key, &mut map)?;
        }
        Ok(Top::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<T>, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Top::Other(JsonType::Array))
    }

    visit_scalars!(Top::Other);
}

#[derive(Default)]
struct RequestFields {
    has_parent: bool,
    has_object: bool,
    children: Skim,
    attachments: Skim,
    controller: ControllerFields,
}

impl ObjectFields for RequestFields {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: String, map: &mut A) -> Result<(), A::Error> {
        if key == "controller" {
            if let Top::Object(controller) = map.next_value::<Top<ControllerFields>>()? {
                self.controller = controller;
            }
            return Ok(());
        }
        let value = map.next_value::<Skim>()?;
        match key.as_str() {
            "parent" => self.has_parent = value.kind != JsonType::Null,
            "object" => self.has_object = value.kind != JsonType::Null,
            "children" => self.children = value,
            "attachments" => self.attachments = value,
            _ => {}
        }
        Ok(())
    }
}

/// What the `controller` object says about its kind: `kind` when the API server filled it
/// in, otherwise its spec (`parentResource` is a CompositeController's, `resources` a
/// DecoratorController's).
#[derive(Default)]
struct ControllerFields {
    kind: Option<String>,
    spec: SpecFields,
}

impl ControllerFields {
    fn is_decorator(&self) -> bool {
        match self.kind.as_deref() {
            Some("DecoratorController") => true,
            Some("CompositeController") => false,
            _ => self.spec.has_resources && !self.spec.has_parent_resource,
        }
    }
}

impl ObjectFields for ControllerFields {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: String, map: &mut A) -> Result<(), A::Error> {
        match key.as_str() {
            "kind" => self.kind = Some(map.next_value::<KindName>()?.0),
            "spec" => {
                if let Top::Object(spec) = map.next_value::<Top<SpecFields>>()? {
                    self.spec = spec;
                }
            }
            _ => {
                map.next_value::<Checked>()?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct SpecFields {
    has_parent_resource: bool,
    has_resources: bool,
}

impl ObjectFields for SpecFields {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: String, map: &mut A) -> Result<(), A::Error> {
        map.next_value::<Checked>()?;
        match key.as_str() {
            "parentResource" => self.has_parent_resource = true,
            "resources" => self.has_resources = true,
            _ => {}
        }
        Ok(())
    }
}

/// A value read for its text when it is a string; any other value reads as empty.
struct KindName(String);

impl<'de> de::Deserialize<'de> for KindName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl<'de> Visitor<'de> for KindVisitor {
            type Value = KindName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a kind")
            }
            fn visit_str<E>(self, v: &str) -> Result<KindName, E> {
                Ok(KindName(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KindName, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(KindName(String::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KindName, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(KindName(String::new()))
            }
            fn visit_unit<E>(self) -> Result<KindName, E> {
                Ok(KindName(String::new()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<KindName, E> {
                Ok(KindName(String::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<KindName, E> {
                Ok(KindName(String::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<KindName, E> {
                Ok(KindName(String::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<KindName, E> {
                Ok(KindName(String::new()))
            }
        }
        d.deserialize_any(KindVisitor)
    }
}

/// A value read through and dropped: strings decoded (escapes, surrogate pairs) and numbers
/// parsed, as `serde_json::Value` would, but nothing is kept. `IgnoredAny` would be cheaper,
/// but it only scans for the closing quote and the end of a number: a lone surrogate escape
/// (`"\udc00"`) or a number out of range (`1e400`) inside a child would pass, where Go's
/// decoder replaces the first with U+FFFD and fails on the second (found by fuzzing).
struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CheckedVisitor;
        impl<'de> Visitor<'de> for CheckedVisitor {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Checked)
            }
            visit_scalars!(checked);
        }
        d.deserialize_any(CheckedVisitor)
    }
}

fn checked(_: JsonType) -> Checked {
    Checked
}

/// A map or object key.
struct KeyName(String);

impl<'de> de::Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The JSON type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum JsonType {
    #[default]
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    fn describe(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Bool => "a boolean",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        }
    }
}

/// A value's type and, for arrays and objects, how many entries it has; the content is
/// skipped, not stored.
#[derive(Clone, Copy, Debug, Default)]
struct Skim {
    kind: JsonType,
    entries: usize,
}

impl Skim {
    fn scalar(kind: JsonType) -> Self {
        Skim { kind, entries: 0 }
    }
}

impl<'de> de::Deserialize<'de> for Skim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SkimVisitor;
        impl<'de> Visitor<'de> for SkimVisitor {
            type Value = Skim;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skim, A::Error> {
                let mut entries = 0;
                while seq.next_element::<Checked>()?.is_some() {
                    entries += 1;
                }
                Ok(Skim {
                    kind: JsonType::Array,
                    entries,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skim, A::Error> {
                let mut entries = 0;
                while map.next_entry::<Checked, Checked>()?.is_some() {
                    entries += 1;
                }
                Ok(Skim {
                    kind: JsonType::Object,
                    entries,
                })
            }
            visit_scalars!(Skim::scalar);
        }
        d.deserialize_any(SkimVisitor)
    }
}

/// Top-level fields metacontroller decodes for each controller kind.
fn known_fields(controller: Controller) -> &'static [&'static str] {
    match controller {
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
    }
}

/// Fields of one customize `relatedResources` rule.
const RELATED_RULE_FIELDS: &[&str] = &[
    "apiVersion",
    "resource",
    "labelSelector",
    "namespaceSelector",
    "namespace",
    "names",
];

/// Why a hook's output was not passed on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutputError {
    #[error("the hook wrote nothing to stdout; it must print a JSON object")]
    Empty,
    #[error("stdout is not valid JSON: {0}")]
    NotJson(String),
    #[error("stdout must be a JSON object, got {0}")]
    NotObject(&'static str),
    #[error(
        "the response has no `{field}` although the controller declares {} types; \
         metacontroller would delete every observed {} (return `\"{field}\": []` to \
         delete them on purpose)",
        singular(field),
        singular(field)
    )]
    MissingChildren { field: &'static str },
    #[error("`{field}` must be an array, got {found}")]
    ChildrenNotArray {
        field: &'static str,
        found: &'static str,
    },
    #[error("strict: unknown top-level field `{field}` (known: {known})")]
    UnknownField { field: String, known: String },
    #[error("strict: top-level field `{0}` appears more than once")]
    DuplicateField(String),
    #[error("strict: relatedResources rule {index} has unknown field `{field}`")]
    UnknownRuleField { index: usize, field: String },
}

/// "child" for `children`, "attachment" for `attachments`.
fn singular(field: &str) -> &'static str {
    match field {
        "children" => "child",
        _ => "attachment",
    }
}

/// Checks a hook's stdout against the request it answers. `Ok` means metacontroller can
/// take it as it is; the bytes are passed on unchanged.
pub fn check_output(shape: RequestShape, strict: bool, output: &[u8]) -> Result<(), OutputError> {
    if output.iter().all(u8::is_ascii_whitespace) {
        return Err(OutputError::Empty);
    }
    let fields = match parse_top::<ResponseFields>(output).map_err(OutputError::NotJson)? {
        Top::Object(fields) => fields,
        Top::Other(kind) => return Err(OutputError::NotObject(kind.describe())),
    };

    let required = match shape.controller {
        Controller::Composite => Some("children"),
        Controller::Decorator => Some("attachments"),
        Controller::Customize => None,
    };
    if let Some(field) = required {
        match fields.type_of(field) {
            Some(JsonType::Array) => {}
            // Go decodes null and a missing field alike: an empty list, so every child goes.
            None | Some(JsonType::Null) if shape.declares_children => {
                return Err(OutputError::MissingChildren { field });
            }
            None | Some(JsonType::Null) => {}
            Some(other) => {
                return Err(OutputError::ChildrenNotArray {
                    field,
                    found: other.describe(),
                });
            }
        }
    }

    if strict {
        let known = known_fields(shape.controller);
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &fields.entries {
            if !known.contains(&name.as_str()) {
                return Err(OutputError::UnknownField {
                    field: name.clone(),
                    known: known.join(", "),
                });
            }
            if !seen.insert(name.as_str()) {
                return Err(OutputError::DuplicateField(name.clone()));
            }
        }
        if let Some((index, field)) = fields.unknown_rule_field {
            return Err(OutputError::UnknownRuleField { index, field });
        }
    }
    Ok(())
}

#[derive(Default)]
struct ResponseFields {
    /// Every top-level key in order, duplicates included, with its value's type.
    entries: Vec<(String, JsonType)>,
    /// The first field of a relatedResources rule that metacontroller would not decode.
    unknown_rule_field: Option<(usize, String)>,
}

impl ResponseFields {
    fn type_of(&self, field: &str) -> Option<JsonType> {
        // Go's decoder keeps the last duplicate, so do we.
        self.entries
            .iter()
            .rev()
            .find(|(name, _)| name == field)
            .map(|(_, kind)| *kind)
    }
}

impl ObjectFields for ResponseFields {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: String, map: &mut A) -> Result<(), A::Error> {
        let kind = if key == "relatedResources" {
            let rules = map.next_value::<RelatedRules>()?;
            if self.unknown_rule_field.is_none() {
                self.unknown_rule_field = rules.unknown_field;
            }
            rules.kind
        } else {
            map.next_value::<Skim>()?.kind
        };
        self.entries.push((key, kind));
        Ok(())
    }
}

/// The `relatedResources` list, checked rule by rule for fields metacontroller ignores.
struct RelatedRules {
    kind: JsonType,
    unknown_field: Option<(usize, String)>,
}

impl RelatedRules {
    fn other(kind: JsonType) -> Self {
        RelatedRules {
            kind,
            unknown_field: None,
        }
    }
}

impl<'de> de::Deserialize<'de> for RelatedRules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RulesVisitor;
        impl<'de> Visitor<'de> for RulesVisitor {
            type Value = RelatedRules;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of rules")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RelatedRules, A::Error> {
                let mut unknown_field = None;
                let mut index = 0;
                while let Some(rule) = seq.next_element::<Top<RuleFields>>()? {
                    if let (None, Top::Object(RuleFields(Some(field)))) = (&unknown_field, rule) {
                        unknown_field = Some((index, field));
                    }
                    index += 1;
                }
                Ok(RelatedRules {
                    kind: JsonType::Array,
                    unknown_field,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RelatedRules, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(RelatedRules::other(JsonType::Object))
            }
            visit_scalars!(RelatedRules::other);
        }
        d.deserialize_any(RulesVisitor)
    }
}

impl<'de, T: ObjectFields> de::Deserialize<'de> for Top<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor(PhantomData))
    }
}

/// The first key of a rule object that is not a known rule field.
#[derive(Default)]
struct RuleFields(Option<String>);

impl ObjectFields for RuleFields {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: String, map: &mut A) -> Result<(), A::Error> {
        map.next_value::<Checked>()?;
        if self.0.is_none() && !RELATED_RULE_FIELDS.contains(&key.as_str()) {
            self.0 = Some(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(hook: HookKind, body: &str) -> Result<RequestShape, RequestError> {
        RequestShape::inspect(hook, body.as_bytes())
    }

    const COMPOSITE_WITH_PODS: RequestShape = RequestShape {
        controller: Controller::Composite,
        declares_children: true,
    };
    const DECORATOR_NO_ATTACHMENTS: RequestShape = RequestShape {
        controller: Controller::Decorator,
        declares_children: false,
    };

    #[test]
    fn requests_are_classified_by_their_subject() {
        let composite = r#"{"controller":{},"parent":{"metadata":{}},"children":{"Pod.v1":{}},"related":{},"finalizing":false}"#;
        assert_eq!(shape(HookKind::Sync, composite), Ok(COMPOSITE_WITH_PODS));

        let no_children = r#"{"parent":{},"children":{}}"#;
        assert!(
            !shape(HookKind::Sync, no_children)
                .expect("valid")
                .declares_children
        );

        let decorator = r#"{"object":{"kind":"Pod"},"attachments":{"Service.v1":{"a":{}}}}"#;
        assert_eq!(
            shape(HookKind::Finalize, decorator),
            Ok(RequestShape {
                controller: Controller::Decorator,
                declares_children: true
            })
        );
        assert_eq!(
            shape(HookKind::Customize, r#"{"controller":{},"parent":{}}"#)
                .expect("valid")
                .controller,
            Controller::Customize
        );
    }

    #[test]
    fn v2_decorator_requests_with_parent_and_children_are_decorators() {
        let by_spec = r#"{"controller":{"spec":{"resources":[{"apiVersion":"apps/v1","resource":"statefulsets"}],"attachments":[{"apiVersion":"v1","resource":"services"}]}},"parent":{"kind":"StatefulSet"},"children":{"Service.v1":{}},"related":{}}"#;
        let by_kind = r#"{"controller":{"kind":"DecoratorController","spec":{}},"parent":{},"children":{"Service.v1":{}}}"#;
        for body in [by_spec, by_kind] {
            let shape = shape(HookKind::Sync, body).expect("valid");
            assert_eq!(
                shape,
                RequestShape {
                    controller: Controller::Decorator,
                    declares_children: true
                }
            );
            assert_eq!(check_output(shape, false, br#"{"attachments":[]}"#), Ok(()));
            assert_eq!(
                check_output(shape, false, br#"{"children":[]}"#),
                Err(OutputError::MissingChildren {
                    field: "attachments"
                })
            );
        }
        let composite = r#"{"controller":{"kind":5,"spec":{"parentResource":{},"childResources":[]}},"parent":{},"children":{"Pod.v1":{}}}"#;
        assert_eq!(
            shape(HookKind::Sync, composite).expect("valid").controller,
            Controller::Composite
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert!(matches!(
            shape(HookKind::Sync, "{"),
            Err(RequestError::NotJson(_))
        ));
        assert_eq!(shape(HookKind::Sync, "[1]"), Err(RequestError::NotObject));
        assert_eq!(
            shape(HookKind::Sync, r#"{"controller":{}}"#),
            Err(RequestError::MissingSubject {
                hook: HookKind::Sync
            })
        );
        assert!(matches!(
            shape(HookKind::Sync, r#"{"parent":{},"children":[]}"#),
            Err(RequestError::BadObjectMap {
                field: "children",
                ..
            })
        ));
        assert!(matches!(
            shape(HookKind::Sync, r#"{"parent":{}} trailing"#),
            Err(RequestError::NotJson(_))
        ));
    }

    #[test]
    fn output_without_children_is_refused_when_children_are_declared() {
        for body in [r#"{}"#, r#"{"status":{}}"#, r#"{"children":null}"#] {
            assert_eq!(
                check_output(COMPOSITE_WITH_PODS, false, body.as_bytes()),
                Err(OutputError::MissingChildren { field: "children" }),
                "{body}"
            );
        }
        assert_eq!(
            check_output(COMPOSITE_WITH_PODS, false, br#"{"children":{}}"#),
            Err(OutputError::ChildrenNotArray {
                field: "children",
                found: "an object"
            })
        );
        assert_eq!(
            check_output(COMPOSITE_WITH_PODS, false, br#"{"children":[]}"#),
            Ok(())
        );
    }

    #[test]
    fn decorator_without_attachment_types_may_answer_labels_only() {
        assert_eq!(
            check_output(
                DECORATOR_NO_ATTACHMENTS,
                false,
                br#"{"labels":{"a":"b","c":null}}"#
            ),
            Ok(())
        );
    }

    #[test]
    fn output_must_be_one_json_object() {
        let check = |out: &str| check_output(DECORATOR_NO_ATTACHMENTS, false, out.as_bytes());
        assert_eq!(check(""), Err(OutputError::Empty));
        assert_eq!(check(" \n"), Err(OutputError::Empty));
        assert!(matches!(check("{"), Err(OutputError::NotJson(_))));
        assert!(matches!(check("{} {}"), Err(OutputError::NotJson(_))));
        assert_eq!(check("[]"), Err(OutputError::NotObject("an array")));
        assert_eq!(check("null"), Err(OutputError::NotObject("null")));
        assert_eq!(check("{}\n"), Ok(()));
    }

    /// Found by the `validate` fuzz target: a byte that is not UTF-8 inside a nested string
    /// was skipped unread, so the output passed (metacontroller would have read U+FFFD).
    #[test]
    fn bytes_that_are_not_utf8_are_refused_even_when_nested() {
        let output = b"{\"attachments\":[],\"status\":{\"a\":\"\xff\"}}";
        assert_eq!(
            check_output(DECORATOR_NO_ATTACHMENTS, false, output),
            Err(OutputError::NotJson(
                "byte 33 is not UTF-8 (JSON text must be UTF-8)".into()
            ))
        );
        assert_eq!(
            check_output(
                DECORATOR_NO_ATTACHMENTS,
                false,
                "{\"status\":{\"a\":\"é\"}}".as_bytes()
            ),
            Ok(())
        );
        assert!(matches!(
            RequestShape::inspect(HookKind::Sync, b"{\"parent\":{\"a\":\"\xc3\"}}"),
            Err(RequestError::NotJson(reason)) if reason.contains("not UTF-8")
        ));
    }

    /// Found by the `validate` fuzz target: nested values were skipped without decoding, so
    /// a lone surrogate escape or a number no JSON reader can hold passed inside a child.
    #[test]
    fn nested_strings_and_numbers_are_read_as_a_json_reader_reads_them() {
        let cases = [
            r#"{"attachments":[{"a":"\udc00"}]}"#,
            r#"{"attachments":[{"\ud800":1}]}"#,
            r#"{"attachments":[],"status":{"replicas":1e400}}"#,
        ];
        for output in cases {
            assert!(
                matches!(
                    check_output(DECORATOR_NO_ATTACHMENTS, false, output.as_bytes()),
                    Err(OutputError::NotJson(_))
                ),
                "{output}"
            );
        }
        let fine = r#"{"attachments":[{"a":"\ud83d\ude00","n":-1.5e300}]}"#;
        assert_eq!(
            check_output(DECORATOR_NO_ATTACHMENTS, false, fine.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn strict_mode_names_unknown_and_duplicate_fields() {
        let strict = |shape, out: &str| check_output(shape, true, out.as_bytes());
        assert_eq!(
            strict(COMPOSITE_WITH_PODS, r#"{"children":[],"chidlren":[]}"#),
            Err(OutputError::UnknownField {
                field: "chidlren".into(),
                known: "status, children, resyncAfterSeconds, finalized".into()
            })
        );
        assert_eq!(
            strict(
                COMPOSITE_WITH_PODS,
                r#"{"children":[],"status":{},"status":{}}"#
            ),
            Err(OutputError::DuplicateField("status".into()))
        );
        let customize = RequestShape {
            controller: Controller::Customize,
            declares_children: false,
        };
        assert_eq!(
            strict(
                customize,
                r#"{"relatedResources":[{"apiVersion":"v1","resource":"configmaps"},{"apiVersion":"v1","resources":"secrets"}]}"#
            ),
            Err(OutputError::UnknownRuleField {
                index: 1,
                field: "resources".into()
            })
        );
        // Loose mode passes the same output through, as metacontroller's v1 default does.
        assert_eq!(
            check_output(
                COMPOSITE_WITH_PODS,
                false,
                br#"{"children":[],"chidlren":[]}"#
            ),
            Ok(())
        );
    }
}
