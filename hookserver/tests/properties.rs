//! Property tests of the wire types (metahook's requests and responses, as metacontroller
//! sends and reads them) against hookserver's request inspection and output guard.
//!
//! - Requests and responses of every hook (CompositeController and DecoratorController sync
//!   and finalize, customize) survive serialize -> deserialize unchanged.
//! - Object maps are keyed as metacontroller keys them: `Kind.version` / `Kind.group/version`,
//!   then the name (v1) or `namespace/name` (v2, and v1 under a cluster-scoped parent); every
//!   object is found again by its key.
//! - Whatever the guard accepts is JSON that re-serializes to an answer it accepts again, and
//!   every answer built with the SDK's types is accepted, strict or loose.
//!
//! Names are generated as Kubernetes makes them (DNS subdomains, `v1`, `apps/v1`), label
//! keys and values by the label syntax, and free text (annotations, spec fields, label values
//! in responses) from adversarial strings: quotes, escapes, control characters, non-BMP
//! characters, JSON fragments.

use std::collections::{BTreeMap, BTreeSet};

use hookserver::digest::Digest;
use hookserver::pipeline::etag_matches;
use hookserver::protocol::{
    Controller, HookKind, OutputError, RequestError, RequestShape, check_output,
};
use metahook::{
    CompositeRequest, CompositeResponse, CustomizeRequest, CustomizeResponse, DecoratorRequest,
    DecoratorResponse, Object, ObjectMap, RelatedResourceRule, type_key,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

// ---- generators ------------------------------------------------------------------------

/// A DNS label, as namespaces are named.
fn dns_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?"
}

/// A DNS subdomain, as most objects are named; a small pool too, so that names collide.
fn object_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("web-0".to_string()),
        Just("a".to_string()),
        "[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?){0,3}",
    ]
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("default".to_string()),
        Just("kube-system".to_string()),
        dns_label()
    ]
}

/// An API version: the core group (`v1`) or `group/version`.
fn api_version() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("v1".to_string()),
        Just("apps/v1".to_string()),
        Just("batch/v1".to_string()),
        Just("rbac.authorization.k8s.io/v1".to_string()),
        "v[1-9](alpha[1-9]|beta[1-9])?",
        "[a-z]{1,10}(\\.[a-z]{2,6}){1,2}/v[1-9](alpha[1-9]|beta[1-9])?",
    ]
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Pod".to_string()),
        Just("ConfigMap".to_string()),
        Just("StatefulSet".to_string()),
        "[A-Z][a-zA-Z0-9]{0,15}",
    ]
}

/// A label key: an optional DNS-subdomain prefix and a name.
fn label_key() -> impl Strategy<Value = String> {
    (
        proptest::option::of("[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?(\\.[a-z]{2,6}){0,2}"),
        "[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?",
    )
        .prop_map(|(prefix, name)| match prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name,
        })
}

fn label_value() -> impl Strategy<Value = String> {
    "([A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?)?"
}

/// Text chosen to break naive JSON handling.
fn adversarial() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,20}",
        Just(String::new()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\\u0000 \u{0} \u{1f} \u{7f}".to_string()),
        Just("\u{2028}\u{2029}\u{feff}\u{fffd}".to_string()),
        Just("😀𝄞 非 ascii".to_string()),
        Just("{\"children\": [], \"parent\": {}}".to_string()),
        Just("\"children\":".to_string()),
        Just("</script>".to_string()),
    ]
}

/// Any JSON value, a few levels deep; numbers are those JSON can carry exactly.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(|n| Value::from(n as f64 / 8.0)),
        adversarial().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(adversarial(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// One object of a type: labels and annotations, a spec of any JSON.
fn object(api_version: String, kind: String, namespace: Option<String>) -> BoxedStrategy<Object> {
    (
        object_name(),
        btree_map(label_key(), label_value(), 0..3),
        btree_map(label_key(), adversarial(), 0..3),
        json_value(),
    )
        .prop_map(move |(name, labels, annotations, spec)| {
            let mut object = Object::new(&api_version, &kind, &name);
            if let Some(namespace) = &namespace {
                object = object.with_namespace(namespace);
            }
            for (key, value) in &labels {
                object = object.with_label(key, value);
            }
            for (key, value) in &annotations {
                object = object.with_annotation(key, value);
            }
            object.with("spec", spec)
        })
        .boxed()
}

/// Which hook version keys the object maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HookVersion {
    V1,
    V2,
}

/// One declared child (or attachment, or related) type and the objects observed of it.
#[derive(Clone, Debug)]
struct ObjectType {
    api_version: String,
    kind: String,
    namespaced: bool,
    objects: Vec<Object>,
}

/// The parent, how the maps are keyed, and the observed objects by type.
#[derive(Clone, Debug)]
struct Scenario {
    version: HookVersion,
    parent: Object,
    types: Vec<ObjectType>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop_oneof![Just(HookVersion::V1), Just(HookVersion::V2)],
        proptest::option::of(namespace()),
        api_version(),
        kind(),
    )
        .prop_flat_map(|(version, parent_namespace, parent_api, parent_kind)| {
            let parent = object(parent_api, parent_kind, parent_namespace.clone());
            let types = vec(object_type(version, parent_namespace.clone()), 0..4);
            (Just(version), parent, types)
        })
        .prop_map(|(version, parent, types)| {
            // Metacontroller's type keys are unique: keep the first of a repeated one.
            let mut seen = BTreeSet::new();
            let types = types
                .into_iter()
                .filter(|t| seen.insert(type_key(&t.api_version, &t.kind)))
                .collect();
            Scenario {
                version,
                parent,
                types,
            }
        })
}

/// A type and up to five objects of it, in the namespaces metacontroller would send: in v1
/// a namespaced parent only sees its own namespace; otherwise any namespace.
fn object_type(
    version: HookVersion,
    parent_namespace: Option<String>,
) -> impl Strategy<Value = ObjectType> {
    (api_version(), kind(), any::<bool>()).prop_flat_map(move |(api, kind, namespaced)| {
        let in_namespace = match (namespaced, version, &parent_namespace) {
            (false, _, _) => Just(None).boxed(),
            (true, HookVersion::V1, Some(own)) => Just(Some(own.clone())).boxed(),
            (true, _, _) => namespace().prop_map(Some).boxed(),
        };
        let objects = vec(
            in_namespace.prop_flat_map({
                let (api, kind) = (api.clone(), kind.clone());
                move |namespace| object(api.clone(), kind.clone(), namespace)
            }),
            0..5,
        );
        (Just(api), Just(kind), Just(namespaced), objects).prop_map(
            |(api_version, kind, namespaced, objects)| ObjectType {
                api_version,
                kind,
                namespaced,
                objects: unique(objects),
            },
        )
    })
}

/// One object per namespace and name, as the API server has it.
fn unique(objects: Vec<Object>) -> Vec<Object> {
    let mut seen = BTreeSet::new();
    objects
        .into_iter()
        .filter(|o| seen.insert(o.qualified_name()))
        .collect()
}

impl Scenario {
    fn parent_is_cluster_scoped(&self) -> bool {
        self.parent.namespace().is_none()
    }

    /// The name key metacontroller gives `object` in this scenario.
    fn key(&self, object: &Object) -> String {
        match (self.version, object.namespace()) {
            (_, None) => object.name().to_string(),
            (HookVersion::V1, Some(_)) if !self.parent_is_cluster_scoped() => {
                object.name().to_string()
            }
            (_, Some(namespace)) => format!("{namespace}/{}", object.name()),
        }
    }

    /// The object map metacontroller would send: every declared type present, even empty.
    fn map(&self) -> ObjectMap {
        ObjectMap(
            self.types
                .iter()
                .map(|t| {
                    let objects = t
                        .objects
                        .iter()
                        .map(|object| (self.key(object), object.clone()))
                        .collect();
                    (type_key(&t.api_version, &t.kind), objects)
                })
                .collect(),
        )
    }
}

fn controller(kind: &str) -> Value {
    json!({"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": kind,
           "metadata": {"name": "c"}, "spec": {}})
}

fn resync() -> impl Strategy<Value = Option<f64>> {
    // Seconds as controllers write them: whole, or tenths.
    proptest::option::of((0u32..864_000).prop_map(|tenths| f64::from(tenths) / 10.0))
}

fn related_rule() -> impl Strategy<Value = RelatedResourceRule> {
    (
        api_version(),
        "[a-z]{1,12}s",
        proptest::option::of(btree_map(label_key(), label_value(), 0..3)),
        proptest::option::of(namespace()),
        proptest::option::of(vec(object_name(), 0..3)),
    )
        .prop_map(|(api, resource, labels, namespace, names)| {
            let mut rule = RelatedResourceRule::new(&api, &resource);
            if let Some(labels) = labels {
                rule = rule.match_labels(labels);
            }
            rule.namespace = namespace;
            rule.names = names;
            rule
        })
}

fn metadata_updates() -> impl Strategy<Value = BTreeMap<String, Option<String>>> {
    btree_map(
        prop_oneof![label_key(), adversarial()],
        proptest::option::of(prop_oneof![label_value(), adversarial()]),
        0..4,
    )
}

fn objects() -> impl Strategy<Value = Vec<Object>> {
    vec(
        (api_version(), kind(), proptest::option::of(namespace()))
            .prop_flat_map(|(api, kind, namespace)| object(api, kind, namespace)),
        0..4,
    )
}

/// A status to write. `Some(null)` is left out: on the wire it is `"status": null`, which
/// reads back as `None` (metacontroller, too, treats null and absent alike); see
/// `a_null_status_reads_back_as_no_status`.
fn status() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(json_value().prop_filter("null is no status", |v| !v.is_null()))
}

fn composite_response() -> impl Strategy<Value = CompositeResponse> {
    (
        status(),
        objects(),
        resync(),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(status, children, resync_after_seconds, finalized)| CompositeResponse {
                status,
                children,
                resync_after_seconds,
                finalized,
            },
        )
}

fn decorator_response() -> impl Strategy<Value = DecoratorResponse> {
    (
        metadata_updates(),
        metadata_updates(),
        status(),
        objects(),
        resync(),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(labels, annotations, status, attachments, resync_after_seconds, finalized)| {
                DecoratorResponse {
                    labels,
                    annotations,
                    status,
                    attachments,
                    resync_after_seconds,
                    finalized,
                }
            },
        )
}

fn customize_response() -> impl Strategy<Value = CustomizeResponse> {
    vec(related_rule(), 0..4).prop_map(CustomizeResponse::new)
}

// ---- helpers ---------------------------------------------------------------------------

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> Vec<u8> {
    let bytes = serde_json::to_vec(value).expect("the wire types always serialize");
    let back: T = serde_json::from_slice(&bytes).unwrap_or_else(|err| {
        panic!(
            "cannot read back {}: {err}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(&back, value, "{}", String::from_utf8_lossy(&bytes));
    bytes
}

const SYNC_KINDS: [HookKind; 2] = [HookKind::Sync, HookKind::Finalize];

fn shape(controller: Controller, declares_children: bool) -> RequestShape {
    RequestShape {
        controller,
        declares_children,
    }
}

/// Accepted for this controller whether or not child types are declared, strict or loose.
fn accepted_everywhere(controller: Controller, body: &[u8]) {
    for declares in [false, true] {
        for strict in [false, true] {
            assert_eq!(
                check_output(shape(controller, declares), strict, body),
                Ok(()),
                "{controller:?} declares={declares} strict={strict}: {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

// ---- properties ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A CompositeController request survives a round trip, is classified as composite for
    /// sync and finalize, and declares children exactly when it has a child type.
    #[test]
    fn composite_requests_round_trip_and_are_composite(
        scenario in scenario(),
        related in scenario(),
        finalizing in any::<bool>(),
    ) {
        let request = CompositeRequest {
            controller: controller("CompositeController"),
            parent: scenario.parent.clone(),
            children: scenario.map(),
            related: related.map(),
            finalizing,
        };
        let body = round_trip(&request);
        for hook in SYNC_KINDS {
            prop_assert_eq!(
                RequestShape::inspect(hook, &body),
                Ok(shape(Controller::Composite, !scenario.types.is_empty()))
            );
        }
        prop_assert_eq!(
            RequestShape::inspect(HookKind::Customize, &body),
            Ok(shape(Controller::Customize, false))
        );
    }

    /// A DecoratorController request survives a round trip and is a decorator request,
    /// whether the controller says so by `kind` or by its spec, and in both spellings
    /// (`object`/`attachments`, or `parent`/`children` as some v2 requests have it).
    #[test]
    fn decorator_requests_round_trip_in_both_spellings(
        scenario in scenario(),
        finalizing in any::<bool>(),
        by_kind in any::<bool>(),
    ) {
        let controller = if by_kind {
            controller("DecoratorController")
        } else {
            json!({"spec": {"resources": [{"apiVersion": "v1", "resource": "pods"}],
                            "attachments": []}})
        };
        let request = DecoratorRequest {
            controller,
            object: scenario.parent.clone(),
            attachments: scenario.map(),
            related: ObjectMap::default(),
            finalizing,
        };
        let body = round_trip(&request);
        let expected = shape(Controller::Decorator, !scenario.types.is_empty());
        let mut v2 = serde_json::to_value(&request).expect("serialize");
        let fields = v2.as_object_mut().expect("an object");
        let object = fields.remove("object").expect("object");
        let attachments = fields.remove("attachments").expect("attachments");
        fields.insert("parent".into(), object);
        fields.insert("children".into(), attachments);
        let v2 = serde_json::to_vec(&v2).expect("serialize");
        let read: DecoratorRequest = serde_json::from_slice(&v2).expect("the v2 spelling");
        prop_assert_eq!(&read, &request);
        for hook in SYNC_KINDS {
            prop_assert_eq!(RequestShape::inspect(hook, &body), Ok(expected));
            prop_assert_eq!(RequestShape::inspect(hook, &v2), Ok(expected));
        }
    }

    /// Customize requests (named `parent` for both controllers) round trip and only need to
    /// be an object.
    #[test]
    fn customize_requests_round_trip(scenario in scenario(), decorator in any::<bool>()) {
        let kind = if decorator { "DecoratorController" } else { "CompositeController" };
        let request = CustomizeRequest {
            controller: controller(kind),
            parent: scenario.parent.clone(),
        };
        let body = round_trip(&request);
        prop_assert_eq!(
            RequestShape::inspect(HookKind::Customize, &body),
            Ok(shape(Controller::Customize, false))
        );
    }

    /// Object maps: the outer key is `Kind.version` for the core group and
    /// `Kind.group/version` otherwise; the inner key is the name in v1 (`namespace/name`
    /// under a cluster-scoped parent) and `namespace/name` for every namespaced object in
    /// v2. Every object is found again by kind and key, and by `namespace/name` whatever
    /// the version; the map round-trips with its keys and empty types intact.
    #[test]
    fn object_maps_are_keyed_as_metacontroller_keys_them(scenario in scenario()) {
        let map = scenario.map();
        let value = serde_json::to_value(&map).expect("serialize");
        let groups = value.as_object().expect("an object map is a JSON object");
        prop_assert_eq!(groups.len(), scenario.types.len());
        for t in &scenario.types {
            let key = type_key(&t.api_version, &t.kind);
            let (kind, version) = key.split_once('.').expect("Kind.version");
            prop_assert_eq!(kind, t.kind.as_str());
            prop_assert_eq!(version, t.api_version.as_str());
            let group = groups.get(&key).and_then(Value::as_object).expect("every type present");
            prop_assert_eq!(group.len(), t.objects.len(), "keys are unique per type");
            for object in &t.objects {
                let name_key = scenario.key(object);
                match (scenario.version, object.namespace(), scenario.parent_is_cluster_scoped()) {
                    (_, None, _) | (HookVersion::V1, Some(_), false) => {
                        prop_assert_eq!(&name_key, object.name());
                    }
                    (_, Some(namespace), _) => {
                        prop_assert_eq!(name_key.clone(), format!("{namespace}/{}", object.name()));
                    }
                }
                prop_assert_eq!(group.get(&name_key), Some(&serde_json::to_value(object).expect("object")));
                prop_assert_eq!(map.get_of_type(&key, &name_key), Some(object));
                prop_assert_eq!(map.get_of_type(&key, &object.qualified_name()), Some(object));
                // By kind alone (any API version): a plain name matches the first object of
                // that name in any namespace, possibly of another version of the kind.
                let found = map.get(&t.kind, &object.qualified_name()).expect("found by kind");
                prop_assert_eq!(found.name(), object.name());
                if object.namespace().is_some() {
                    prop_assert_eq!(found.namespace(), object.namespace());
                }
                prop_assert_eq!(object.namespace().is_some(), t.namespaced);
            }
        }
        let back: ObjectMap = serde_json::from_value(value).expect("read back");
        prop_assert_eq!(back, map);
    }

    /// Every composite answer built with the SDK round-trips and passes the guard.
    #[test]
    fn composite_responses_round_trip_and_pass_the_guard(response in composite_response()) {
        let body = round_trip(&response);
        accepted_everywhere(Controller::Composite, &body);
        accepted_after_reserializing(&body);
    }

    /// Every decorator answer (labels and annotations with any keys and values, `null` to
    /// delete) round-trips and passes the guard.
    #[test]
    fn decorator_responses_round_trip_and_pass_the_guard(response in decorator_response()) {
        let body = round_trip(&response);
        accepted_everywhere(Controller::Decorator, &body);
        let value: Value = serde_json::from_slice(&body).expect("JSON");
        for (field, updates) in [("labels", &response.labels), ("annotations", &response.annotations)] {
            if updates.is_empty() {
                prop_assert!(value.get(field).is_none(), "absent keys are untouched, not emptied");
                continue;
            }
            for (key, update) in updates {
                let expected = update.as_ref().map_or(Value::Null, |v| Value::from(v.as_str()));
                prop_assert_eq!(&value[field][key], &expected);
            }
        }
    }

    /// Every customize answer round-trips and passes the guard, rules included.
    #[test]
    fn customize_responses_round_trip_and_pass_the_guard(response in customize_response()) {
        let body = round_trip(&response);
        accepted_everywhere(Controller::Customize, &body);
    }

    /// An answer with the known fields in any order, values of any type, and maybe an
    /// unknown field: strict refuses exactly the unknown ones; whatever is accepted is JSON
    /// that, written again, is accepted again.
    #[test]
    fn what_the_guard_accepts_survives_a_round_trip(
        controller in prop_oneof![
            Just(Controller::Composite),
            Just(Controller::Decorator),
            Just(Controller::Customize),
        ],
        declares in any::<bool>(),
        values in vec(json_value(), 6),
        present in vec(any::<bool>(), 6),
        unknown in proptest::option::of((adversarial(), json_value())),
    ) {
        let known: &[&str] = match controller {
            Controller::Composite => &["status", "children", "resyncAfterSeconds", "finalized"],
            Controller::Decorator => &["labels", "annotations", "status", "attachments",
                                       "resyncAfterSeconds", "finalized"],
            Controller::Customize => &["relatedResources"],
        };
        let mut fields = Map::new();
        for ((name, value), present) in known.iter().zip(values).zip(present) {
            if present {
                fields.insert(name.to_string(), value);
            }
        }
        let unknown = unknown.filter(|(name, _)| !known.contains(&name.as_str()));
        if let Some((name, value)) = &unknown {
            fields.insert(name.clone(), value.clone());
        }
        let body = serde_json::to_vec(&Value::Object(fields.clone())).expect("serialize");
        let shape = shape(controller, declares);
        let loose = check_output(shape, false, &body);
        let strict = check_output(shape, true, &body);

        let required = match controller {
            Controller::Composite => Some("children"),
            Controller::Decorator => Some("attachments"),
            Controller::Customize => None,
        };
        let loose_ok = match required.map(|field| fields.get(field)) {
            None | Some(Some(Value::Array(_))) => true,
            Some(None | Some(Value::Null)) => !declares,
            Some(Some(_)) => false,
        };
        prop_assert_eq!(loose.is_ok(), loose_ok, "{:?}", loose);
        let rules_known = match fields.get("relatedResources") {
            Some(Value::Array(rules)) => rules.iter().filter_map(Value::as_object).all(|rule| {
                rule.keys().all(|key| ["apiVersion", "resource", "labelSelector",
                    "namespaceSelector", "namespace", "names"].contains(&key.as_str()))
            }),
            _ => true,
        };
        prop_assert_eq!(strict.is_ok(), loose_ok && unknown.is_none() && rules_known, "{:?}", strict);
        // A refusal in strict mode names the unknown field (when nothing else was wrong).
        if let (Some((name, _)), Err(err), true) = (&unknown, &strict, loose_ok) {
            prop_assert!(
                matches!(err, OutputError::UnknownField { field, .. } if field == name),
                "{:?}", err
            );
        }
        if loose.is_ok() {
            accepted_after_reserializing(&body);
            prop_assert_eq!(check_output(shape, false, &reserialized(&body)), Ok(()));
        }
        if strict.is_ok() {
            prop_assert_eq!(check_output(shape, true, &reserialized(&body)), Ok(()));
        }
    }

    /// Request bodies that are not a metacontroller request are refused with the reason,
    /// whatever strings they carry.
    #[test]
    fn requests_without_a_subject_are_refused(
        hook in prop_oneof![Just(HookKind::Sync), Just(HookKind::Finalize)],
        extra in btree_map(adversarial(), json_value(), 0..4),
    ) {
        let mut fields: Map<String, Value> = extra
            .into_iter()
            .filter(|(key, _)| !["parent", "object", "children", "attachments"].contains(&key.as_str()))
            .collect();
        fields.insert("children".into(), json!({"Pod.v1": {}}));
        let body = serde_json::to_vec(&Value::Object(fields.clone())).expect("serialize");
        prop_assert_eq!(RequestShape::inspect(hook, &body), Err(RequestError::MissingSubject { hook }));
        fields.insert("parent".into(), json!({}));
        fields.insert("children".into(), json!(["Pod.v1"]));
        let body = serde_json::to_vec(&Value::Object(fields)).expect("serialize");
        prop_assert!(
            matches!(RequestShape::inspect(hook, &body), Err(RequestError::BadObjectMap { field: "children", .. })),
            "a list is not an object map"
        );
    }

    /// Hook kinds parse from exactly their URL names.
    #[test]
    fn hook_kinds_parse_from_their_names_only(text in prop_oneof![adversarial(), "(sync|finalize|customize)[ /A-Z]?"]) {
        match text.parse::<HookKind>() {
            Ok(hook) => prop_assert_eq!(hook.as_str(), text.as_str()),
            Err(message) => {
                prop_assert!(!["sync", "finalize", "customize"].contains(&text.as_str()));
                prop_assert!(message.contains("expected sync, finalize or customize"), "{}", message);
            }
        }
        for hook in HookKind::ALL {
            prop_assert_eq!(hook.as_str().parse::<HookKind>(), Ok(hook));
            prop_assert_eq!(hook.to_string(), hook.as_str());
        }
    }

    /// `If-None-Match` names this call's ETag in any form a client writes it, in any list;
    /// a header that does not name it never matches.
    #[test]
    fn etags_are_matched_by_name_only(
        body in vec(any::<u8>(), 0..64),
        hook in prop_oneof![Just(HookKind::Sync), Just(HookKind::Finalize), Just(HookKind::Customize)],
        others in vec("(W/)?\"[ -!#-~]{0,66}\"", 0..4),
        position in any::<proptest::sample::Index>(),
        weak in any::<bool>(),
    ) {
        let etag = Digest::of_call(&Digest::of(b"version"), hook, &body);
        let named = if weak { format!("W/\"{}\"", etag.hex()) } else { format!("\"{}\"", etag.hex()) };
        let mut list = others.clone();
        list.insert(position.index(list.len() + 1), named);
        prop_assert!(etag_matches(&list.join(", "), &etag));
        let others = others.join(",");
        prop_assert_eq!(etag_matches(&others, &etag), others.contains(&etag.hex()));
    }
}

/// The one value of the response types that does not survive a round trip as itself:
/// a status of `null` is written as `"status": null`, which reads back as no status. Both
/// mean the same to metacontroller and both pass the guard.
#[test]
fn a_null_status_reads_back_as_no_status() {
    let composite = CompositeResponse::new(vec![]).with_status(Value::Null);
    let body = serde_json::to_vec(&composite).expect("serialize");
    assert_eq!(body, br#"{"status":null,"children":[]}"#);
    let back: CompositeResponse = serde_json::from_slice(&body).expect("read back");
    assert_eq!(back, CompositeResponse::new(vec![]));
    accepted_everywhere(Controller::Composite, &body);

    let decorator = DecoratorResponse::new(vec![]).with_status(Value::Null);
    let body = serde_json::to_vec(&decorator).expect("serialize");
    let back: DecoratorResponse = serde_json::from_slice(&body).expect("read back");
    assert_eq!(back, DecoratorResponse::new(vec![]));
    accepted_everywhere(Controller::Decorator, &body);
}

/// Accepted bodies re-serialize (through `serde_json::Value`) to bodies accepted for every
/// shape they were accepted for.
fn accepted_after_reserializing(body: &[u8]) {
    let again = reserialized(body);
    for controller in [
        Controller::Composite,
        Controller::Decorator,
        Controller::Customize,
    ] {
        for declares in [false, true] {
            for strict in [false, true] {
                let shape = shape(controller, declares);
                if check_output(shape, strict, body).is_ok() {
                    assert_eq!(check_output(shape, strict, &again), Ok(()), "{shape:?}");
                }
            }
        }
    }
}

fn reserialized(body: &[u8]) -> Vec<u8> {
    let value: Value = serde_json::from_slice(body).expect("an accepted body is JSON");
    serde_json::to_vec(&value).expect("serialize")
}
