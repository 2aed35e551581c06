//! metacontroller's `service-per-pod-v2` example as two DecoratorController hooks, both
//! with hook version v2.
//!
//! - `service-per-pod-v2` ([`hooks`]): for every StatefulSet annotated with
//!   `service-per-pod-label` and `service-per-pod-ports`, one Service per Pod
//!   (`NAME-0` .. `NAME-(replicas-1)`), each selecting its Pod by the label named in
//!   `service-per-pod-label`. Its finalize hook removes the Services when the StatefulSet
//!   opts out or is deleted, and releases the StatefulSet once none is left. Its sync hook
//!   also annotates the StatefulSet with `v2-naming-verified`: `"true"` once it sees the
//!   first Service under its v2 key `namespace/name` ([`v2_naming_verified`]).
//! - `pod-name-label-v2` ([`pod_name_label::hooks`]): for every Pod annotated with
//!   `pod-name-label`, sets the label named by that annotation to the Pod's name.
//!
//! Hook version v2: observed attachments of a namespaced object are keyed
//! `namespace/name` (v1: `name`). Only [`v2_naming_verified`] depends on the key style;
//! everything else is the `service-per-pod` example's, reused as it is.

use metahook::{DecoratorHooks, DecoratorRequest, DecoratorResponse, Result, type_key};
pub use service_per_pod::{
    LABEL_ANNOTATION, PORTS_ANNOTATION, SERVICE_LABEL, ServicePort, desired_services, finalize,
    parse_ports, pod_name_label,
};

/// Annotation set on the StatefulSet by `sync`: `"true"` when the first Service is found
/// under its v2 key, `"false"` otherwise.
pub const V2_NAMING_ANNOTATION: &str = "v2-naming-verified";

/// The `service-per-pod-v2` hook: `sync` and `finalize`.
pub fn hooks() -> DecoratorHooks {
    DecoratorHooks::new().sync(sync).finalize(finalize)
}

/// One Service per Pod of the StatefulSet, and the [`V2_NAMING_ANNOTATION`]. A request
/// with `finalizing: true` (the controller's finalize hook pointed at `sync`) is answered
/// as [`finalize`].
pub fn sync(request: &DecoratorRequest) -> Result<DecoratorResponse> {
    if request.finalizing {
        return finalize(request);
    }
    let services = desired_services(&request.object)?;
    let verified = if v2_naming_verified(request) {
        "true"
    } else {
        "false"
    };
    Ok(DecoratorResponse::new(services).annotation(V2_NAMING_ANNOTATION, verified))
}

/// Whether the StatefulSet's first Service, `NAME-0`, is observed under the key hook
/// version v2 uses for namespaced objects: `namespace/NAME-0`. With v1 keys (`NAME-0`),
/// before the Service exists, or for an object without a namespace, this is false.
///
/// It looks at the raw key on purpose: `ObjectMap::get` finds an object by name
/// whatever the key style, so it could not tell v1 from v2.
pub fn v2_naming_verified(request: &DecoratorRequest) -> bool {
    let object = &request.object;
    let Some(namespace) = object.namespace().filter(|ns| !ns.is_empty()) else {
        return false;
    };
    let first = format!("{namespace}/{}-0", object.name());
    request
        .attachments
        .0
        .get(&type_key("v1", "Service"))
        .is_some_and(|services| services.contains_key(&first))
}
