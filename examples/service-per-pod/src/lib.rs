//! metacontroller's `service-per-pod` example as two DecoratorController hooks.
//!
//! - `service-per-pod` ([`hooks`]): for every StatefulSet annotated with
//!   `service-per-pod-label` and `service-per-pod-ports`, one Service per Pod
//!   (`NAME-0` .. `NAME-(replicas-1)`), each selecting its Pod by the label named in
//!   `service-per-pod-label`. Its finalize hook removes the Services when the StatefulSet
//!   opts out or is deleted, and releases the StatefulSet once none is left.
//! - `pod-name-label` ([`pod_name_label::hooks`]): for every Pod annotated with
//!   `pod-name-label`, sets the label named by that annotation to the Pod's name.
//!
//! Hook version v1: observed attachments are keyed by name. The logic never relies on
//! the key style, so the same functions also work with v2 keys (`namespace/name`).

use metahook::{DecoratorHooks, DecoratorRequest, DecoratorResponse, Object, Result};
use serde_json::{Map, Value, json};

/// Annotation on the StatefulSet: the key of the Pod label that holds the Pod's name.
pub const LABEL_ANNOTATION: &str = "service-per-pod-label";
/// Annotation on the StatefulSet: `PORT:TARGET_PORT` pairs, separated by commas.
pub const PORTS_ANNOTATION: &str = "service-per-pod-ports";
/// The label every Service created here carries (`app=service-per-pod`).
pub const SERVICE_LABEL: (&str, &str) = ("app", "service-per-pod");

/// The `service-per-pod` hook: `sync` and `finalize`.
pub fn hooks() -> DecoratorHooks {
    DecoratorHooks::new().sync(sync).finalize(finalize)
}

/// One Service per Pod of the StatefulSet. A request with `finalizing: true` (the
/// controller's finalize hook pointed at `sync`) is answered as [`finalize`].
pub fn sync(request: &DecoratorRequest) -> Result<DecoratorResponse> {
    if request.finalizing {
        return finalize(request);
    }
    Ok(DecoratorResponse::new(desired_services(&request.object)?))
}

/// No Services any more; finalized once no Service is observed. Called when the
/// StatefulSet is deleted or no longer matches the annotation selector (opt-out), so it
/// reads nothing from the StatefulSet's annotations.
pub fn finalize(request: &DecoratorRequest) -> Result<DecoratorResponse> {
    let remaining = request.attachments.count("Service");
    Ok(DecoratorResponse::new(Vec::new()).finalized(remaining == 0))
}

const NO_NAME: &str = "the StatefulSet has no `metadata.name`; the request's `object` must be a \
                       StatefulSet as stored by the API server";

/// The Services a StatefulSet asks for with its annotations.
pub fn desired_services(statefulset: &Object) -> Result<Vec<Object>> {
    let name = statefulset.name();
    if name.is_empty() {
        return Err(NO_NAME.into());
    }
    let what = describe(statefulset);
    let label_key = required_annotation(
        statefulset,
        LABEL_ANNOTATION,
        "a Pod label key, such as \"statefulset.kubernetes.io/pod-name\"",
    )?;
    let ports_text = required_annotation(
        statefulset,
        PORTS_ANNOTATION,
        "comma-separated PORT:TARGET_PORT pairs, such as \"80:8080,443:8443\"",
    )?;
    let ports = parse_ports(ports_text)
        .map_err(|err| format!("{what}: annotation `{PORTS_ANNOTATION}`: {err}"))?;
    let replicas = replicas(statefulset).map_err(|err| format!("{what}: {err}"))?;
    let ports: Vec<Value> = ports.iter().map(ServicePort::to_json).collect();
    Ok((0..replicas)
        .map(|index| pod_service(&format!("{name}-{index}"), label_key, &ports))
        .collect())
}

/// The Service for one Pod: named after the Pod, selecting it by `label_key`.
fn pod_service(pod: &str, label_key: &str, ports: &[Value]) -> Object {
    let mut selector = Map::new();
    selector.insert(label_key.to_string(), pod.into());
    Object::new("v1", "Service", pod)
        .with_label(SERVICE_LABEL.0, SERVICE_LABEL.1)
        .with("spec.selector", selector)
        .with("spec.ports", ports.to_vec())
}

/// `spec.replicas`; a missing or `null` value is 1, the API server's default.
fn replicas(statefulset: &Object) -> Result<u32, String> {
    match statefulset.get("spec.replicas") {
        None | Some(Value::Null) => Ok(1),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| i32::try_from(n).is_ok())
            .ok_or_else(|| {
                format!("`spec.replicas` must be a whole number from 0 to 2147483647, got {value}")
            }),
    }
}

/// One port of the per-Pod Services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// The Service's port.
    pub port: u16,
    /// The Pod's port: a number, or a container port name.
    pub target: TargetPort,
}

/// A Service's `targetPort`: a number or the name of a container port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

impl ServicePort {
    /// The entry of `spec.ports`: `{"name": "port-PORT", "port": PORT, "targetPort": ...}`.
    pub fn to_json(&self) -> Value {
        let target = match &self.target {
            TargetPort::Number(number) => json!(number),
            TargetPort::Name(name) => json!(name),
        };
        json!({"name": format!("port-{}", self.port), "port": self.port, "targetPort": target})
    }
}

/// Parses the `service-per-pod-ports` annotation: `PORT:TARGET_PORT` pairs separated by
/// commas. Spaces around entries are ignored, and so are empty entries (a trailing comma).
/// `PORT` alone means `PORT:PORT`. `TARGET_PORT` may also be a container port name.
pub fn parse_ports(text: &str) -> Result<Vec<ServicePort>, String> {
    let mut ports: Vec<ServicePort> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (port, target) = entry.split_once(':').unwrap_or((entry, entry));
        let port = port_number(port.trim())
            .ok_or_else(|| format!("{entry:?}: the port must be a number from 1 to 65535"))?;
        let target = target.trim();
        let target = match port_number(target) {
            Some(number) => TargetPort::Number(number),
            None if is_port_name(target) => TargetPort::Name(target.to_string()),
            None => {
                return Err(format!(
                    "{entry:?}: the target port must be a number from 1 to 65535 or a \
                     container port name"
                ));
            }
        };
        if ports.iter().any(|p| p.port == port) {
            return Err(format!("port {port} is listed twice"));
        }
        ports.push(ServicePort { port, target });
    }
    if ports.is_empty() {
        return Err(format!(
            "lists no ports ({text:?}); a Service needs at least one, such as \"80:8080\""
        ));
    }
    Ok(ports)
}

fn port_number(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&n| n > 0)
}

/// A container port name (IANA service name): 1 to 15 lowercase letters, digits and
/// single inner hyphens, with at least one letter.
fn is_port_name(text: &str) -> bool {
    (1..=15).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && text.bytes().any(|b| b.is_ascii_lowercase())
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

/// `Kind namespace/name`, for messages.
fn describe(object: &Object) -> String {
    let kind = match object.kind() {
        "" => "object",
        kind => kind,
    };
    match object.namespace() {
        Some(namespace) => format!("{kind} {namespace}/{}", object.name()),
        None => format!("{kind} {}", object.name()),
    }
}

/// An annotation's value, `None` when absent; an error when it is not a string.
fn annotation<'a>(object: &'a Object, key: &str) -> Result<Option<&'a str>> {
    match object.get("metadata.annotations").and_then(|a| a.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(other) => Err(format!(
            "{}: annotation `{key}` must be a string, got {other}",
            describe(object)
        )
        .into()),
    }
}

/// An annotation that must be present and not blank.
fn required_annotation<'a>(object: &'a Object, key: &str, expected: &str) -> Result<&'a str> {
    match annotation(object, key)? {
        Some(value) if !value.trim().is_empty() => Ok(value.trim()),
        Some(_) => Err(format!(
            "{}: annotation `{key}` is empty; set it to {expected}",
            describe(object)
        )
        .into()),
        None => Err(format!(
            "{}: annotation `{key}` is missing; set it to {expected}",
            describe(object)
        )
        .into()),
    }
}

/// The `pod-name-label` hook: labels each opted-in Pod with its own name.
pub mod pod_name_label {
    use metahook::{DecoratorHooks, DecoratorRequest, DecoratorResponse, Result};

    use crate::{annotation, describe};

    /// Annotation on the Pod (usually set in the StatefulSet's Pod template): the key of
    /// the label to set to the Pod's name.
    pub const ANNOTATION: &str = "pod-name-label";

    /// The `pod-name-label` hook: `sync` only (its controller has no finalize hook and
    /// declares no attachments, so the answer only sets a label).
    pub fn hooks() -> DecoratorHooks {
        DecoratorHooks::new().sync(sync)
    }

    /// Sets the label named by the `pod-name-label` annotation to the Pod's name. A Pod
    /// without the annotation gets no change.
    pub fn sync(request: &DecoratorRequest) -> Result<DecoratorResponse> {
        let pod = &request.object;
        let Some(key) = annotation(pod, ANNOTATION)? else {
            return Ok(DecoratorResponse::default());
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!(
                "{}: annotation `{ANNOTATION}` is empty; set it to the key of the label that \
                 should hold the Pod's name, such as \"pod-name\"",
                describe(pod)
            )
            .into());
        }
        if pod.name().is_empty() {
            return Err(
                "the Pod has no `metadata.name`; the request's `object` must be a Pod \
                        as stored by the API server"
                    .into(),
            );
        }
        Ok(DecoratorResponse::default().label(key, pod.name()))
    }
}
