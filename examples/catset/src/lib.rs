//! Hook logic for the `catset` example: a Rust port of metacontroller's CatSet, a
//! StatefulSet clone run as a CompositeController.
//!
//! A `CatSet` (`catsets.ctl.enisoc.com/v1`) owns Pods named `<catset>-<ordinal>` and, for
//! every entry of `spec.volumeClaimTemplates`, one PersistentVolumeClaim per ordinal named
//! `<template>-<catset>-<ordinal>`. The hook only computes the desired children; the
//! controller's `RollingRecreate` update strategy (with `revisionHistory` on
//! `spec.template`) is what replaces Pods one by one when the template changes.
//!
//! - Pods are created in order, one at a time: Pod N is only asked for once Pods 0..N-1
//!   are Running and Ready.
//! - Pods are removed in reverse order, one at a time: the highest ordinal beyond
//!   `spec.replicas` is dropped only when Pods 0..replicas-1 are all Ready, and the next
//!   one only after it is gone.
//! - PVCs are created for every ordinal below `spec.replicas` and kept after a scale down;
//!   they go with the CatSet (garbage collection through their owner reference).
//! - Finalize scales down to zero, in the same order, and releases the CatSet once no Pod
//!   is left.
//! - Status: `replicas` is the number of observed Pods that belong to the CatSet,
//!   `readyReplicas` the number of leading ordinals (0, 1, ...) that are Running and Ready,
//!   at most `spec.replicas`.

use std::collections::{BTreeMap, BTreeSet};

use metahook::{CompositeHooks, CompositeRequest, CompositeResponse, Object, Result};
use serde_json::{Map, Value, json};

/// Type key of the Pod children in the request.
pub const POD_TYPE: &str = "Pod.v1";
/// Type key of the PersistentVolumeClaim children in the request.
pub const PVC_TYPE: &str = "PersistentVolumeClaim.v1";
/// `spec.replicas` when the CatSet does not set it (as for a StatefulSet).
pub const DEFAULT_REPLICAS: u64 = 1;

/// The hooks this module serves: `sync` and `finalize` (no `customize`).
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync).finalize(finalize)
}

/// The sync hook. A request with `finalizing: true` (as sent when the controller's
/// finalize hook points at the sync URL, as the original does) is answered as [`finalize`].
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    reconcile(request, request.finalizing)
}

/// The finalize hook: scale down to zero replicas, highest ordinal first, and report
/// `finalized: true` once no Pod of the CatSet is observed.
pub fn finalize(request: &CompositeRequest) -> Result<CompositeResponse> {
    reconcile(request, true)
}

fn reconcile(request: &CompositeRequest, finalizing: bool) -> Result<CompositeResponse> {
    let catset = CatSet::from_parent(&request.parent)?;
    // While the CatSet is being deleted it is scaled down to zero.
    let replicas = if finalizing { 0 } else { catset.replicas };

    // Observed Pods that belong to this CatSet, by ordinal.
    let mut observed: BTreeMap<u64, &Object> = BTreeMap::new();
    for pod in request.children.of_type(POD_TYPE) {
        if let Some(ordinal) = pod_ordinal(catset.name, pod.name()) {
            observed.insert(ordinal, pod);
        }
    }

    // How many leading ordinals are Running and Ready (never more than asked for).
    let mut ready: u64 = 0;
    while ready < replicas
        && observed
            .get(&ready)
            .is_some_and(|pod| is_running_and_ready(pod))
    {
        ready += 1;
    }

    // Every existing Pod stays, rendered from the current template, ...
    let mut ordinals: BTreeSet<u64> = observed.keys().copied().collect();
    // ... plus the first missing one, once all lower ordinals are Ready ...
    if ready < replicas {
        ordinals.insert(ready);
    }
    // ... minus the highest surplus one, once all wanted Pods are Ready.
    if ready == replicas
        && let Some(&highest) = ordinals.last()
        && highest >= replicas
    {
        ordinals.remove(&highest);
    }

    let mut children = Vec::new();
    // Highest ordinal first: this is the order in which Pods are rolled on a template change.
    for &ordinal in ordinals.iter().rev() {
        children.push(catset.pod(ordinal)?);
    }
    children.extend(catset.claims(replicas, request.children.of_type(PVC_TYPE)));

    let status = json!({ "replicas": observed.len(), "readyReplicas": ready });
    let response = CompositeResponse::new(children).with_status(status);
    Ok(if finalizing {
        response.finalized(observed.is_empty())
    } else {
        response
    })
}

/// The parts of a CatSet parent the hook uses, checked.
struct CatSet<'a> {
    name: &'a str,
    replicas: u64,
    service_name: Option<&'a str>,
    template: Option<&'a Map<String, Value>>,
    /// `spec.volumeClaimTemplates`, with their (unique) names.
    claim_templates: Vec<(&'a str, &'a Map<String, Value>)>,
}

impl<'a> CatSet<'a> {
    fn from_parent(parent: &'a Object) -> Result<Self> {
        let name = match parent.get("metadata.name") {
            Some(Value::String(name)) if !name.is_empty() => name.as_str(),
            _ => {
                return Err(
                    "`parent.metadata.name` is missing or not a non-empty string; \
                            the parent must be a CatSet as stored by the API server"
                        .into(),
                );
            }
        };
        let spec = match parent.get("spec") {
            Some(Value::Object(spec)) => spec,
            _ => {
                return Err(format!(
                    "CatSet {name:?} has no `spec` object; it needs at least `spec.template` \
                     (and usually `spec.replicas`, `spec.serviceName`, `spec.selector`)"
                )
                .into());
            }
        };
        let replicas = match spec.get("replicas") {
            None | Some(Value::Null) => DEFAULT_REPLICAS,
            Some(value) => value.as_u64().ok_or_else(|| {
                format!(
                    "CatSet {name:?}: `spec.replicas` must be a whole number of Pods, 0 or \
                     more, got {value}"
                )
            })?,
        };
        let service_name = match spec.get("serviceName") {
            None | Some(Value::Null) => None,
            Some(Value::String(service)) => Some(service.as_str()),
            Some(other) => {
                return Err(format!(
                    "CatSet {name:?}: `spec.serviceName` must be the name of the headless \
                     Service that governs the Pods, got {other}"
                )
                .into());
            }
        };
        let template = match spec.get("template") {
            None | Some(Value::Null) => None,
            Some(Value::Object(template)) => Some(template),
            Some(other) => {
                return Err(format!(
                    "CatSet {name:?}: `spec.template` must be a Pod template object \
                     ({{\"metadata\": ..., \"spec\": ...}}), got {other}"
                )
                .into());
            }
        };
        let claim_templates = claim_templates(name, spec.get("volumeClaimTemplates"))?;
        let catset = CatSet {
            name,
            replicas,
            service_name,
            template,
            claim_templates,
        };
        catset.check_selector(spec.get("selector"))?;
        Ok(catset)
    }

    /// Metacontroller only sees objects that match the parent's selector as its children: a
    /// Pod or PVC made from a template whose labels do not match would be created and then
    /// never observed, so that CatSet is refused with a message instead. Only `matchLabels`
    /// is checked.
    fn check_selector(&self, selector: Option<&Value>) -> Result<()> {
        let Some(Value::Object(match_labels)) = selector.and_then(|s| s.get("matchLabels")) else {
            return Ok(());
        };
        let mut templates: Vec<(String, Option<&Map<String, Value>>)> =
            vec![("spec.template".to_string(), self.template)];
        for (index, (_, claim)) in self.claim_templates.iter().enumerate() {
            templates.push((format!("spec.volumeClaimTemplates[{index}]"), Some(*claim)));
        }
        for (path, template) in templates {
            let Some(template) = template else { continue };
            let labels = template
                .get("metadata")
                .and_then(|metadata| metadata.get("labels"));
            for (key, want) in match_labels {
                let have = labels.and_then(|labels| labels.get(key));
                if have != Some(want) {
                    return Err(format!(
                        "CatSet {:?}: `{path}.metadata.labels` must include every label of \
                         `spec.selector.matchLabels`, but {key:?} is {} there and {want} in \
                         the selector; metacontroller would never see the objects made from \
                         it as children",
                        self.name,
                        have.map_or_else(|| "missing".to_string(), Value::to_string),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// The desired Pod for `ordinal`: the template with name, hostname, subdomain and one
    /// volume per claim template.
    fn pod(&self, ordinal: u64) -> Result<Object> {
        let name = format!("{}-{ordinal}", self.name);
        let Some(template) = self.template else {
            return Err(format!(
                "CatSet {:?} has no `spec.template`; Pod {name:?} is made from it",
                self.name
            )
            .into());
        };
        let mut pod = Object(template.clone());
        if !matches!(pod.get("spec"), Some(Value::Object(_))) {
            return Err(format!(
                "CatSet {:?}: `spec.template.spec` is missing or not an object; it is the \
                 spec of every Pod (containers, ...)",
                self.name
            )
            .into());
        }
        pod.set("apiVersion", "v1");
        pod.set("kind", "Pod");
        pod.set("metadata.name", name.as_str());
        pod.set("spec.hostname", name.as_str());
        if let Some(service) = self.service_name {
            pod.set("spec.subdomain", service);
        }
        if !self.claim_templates.is_empty() {
            let mut volumes = match pod.get("spec.volumes") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(volumes)) => volumes.clone(),
                Some(other) => {
                    return Err(format!(
                        "CatSet {:?}: `spec.template.spec.volumes` must be a list, got {other}",
                        self.name
                    )
                    .into());
                }
            };
            for (claim, _) in &self.claim_templates {
                // A claim template replaces a template volume of the same name, as in a
                // StatefulSet (two volumes with one name would make the Pod invalid).
                volumes.retain(|volume| volume.get("name").and_then(Value::as_str) != Some(claim));
                volumes.push(json!({
                    "name": claim,
                    "persistentVolumeClaim": { "claimName": format!("{claim}-{name}") },
                }));
            }
            pod.set("spec.volumes", volumes);
        }
        Ok(pod)
    }

    /// The desired PVCs: one per claim template and ordinal below `replicas`, plus every
    /// observed one of a higher ordinal (kept after a scale down).
    fn claims<'o>(&self, replicas: u64, observed: impl Iterator<Item = &'o Object>) -> Vec<Object> {
        let observed: Vec<&Object> = observed.collect();
        let mut claims = Vec::new();
        for (claim, template) in &self.claim_templates {
            let base = format!("{claim}-{}", self.name);
            for ordinal in 0..replicas {
                claims.push(claim_object(&format!("{base}-{ordinal}"), template));
            }
            let mut retained: Vec<(u64, &str)> = observed
                .iter()
                .filter_map(|pvc| Some((claim_ordinal(&base, pvc.name())?, pvc.name())))
                .filter(|&(ordinal, _)| ordinal >= replicas)
                .collect();
            retained.sort_unstable();
            for (_, name) in retained {
                claims.push(claim_object(name, template));
            }
        }
        claims
    }
}

fn claim_templates<'a>(
    catset: &str,
    value: Option<&'a Value>,
) -> Result<Vec<(&'a str, &'a Map<String, Value>)>> {
    let templates = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(templates)) => templates,
        Some(other) => {
            return Err(format!(
                "CatSet {catset:?}: `spec.volumeClaimTemplates` must be a list of \
                 PersistentVolumeClaim templates, got {other}"
            )
            .into());
        }
    };
    let mut claims: Vec<(&str, &Map<String, Value>)> = Vec::new();
    for (index, template) in templates.iter().enumerate() {
        let name = template
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty());
        let (Some(name), Value::Object(template)) = (name, template) else {
            return Err(format!(
                "CatSet {catset:?}: `spec.volumeClaimTemplates[{index}]` needs a \
                 `metadata.name`; it names the Pod volume and the claims \
                 (<name>-{catset}-<ordinal>)"
            )
            .into());
        };
        if claims.iter().any(|(seen, _)| *seen == name) {
            return Err(format!(
                "CatSet {catset:?}: two `spec.volumeClaimTemplates` are named {name:?}; \
                 each needs its own name"
            )
            .into());
        }
        claims.push((name, template));
    }
    Ok(claims)
}

fn claim_object(name: &str, template: &Map<String, Value>) -> Object {
    let mut claim = Object(template.clone());
    claim.set("apiVersion", "v1");
    claim.set("kind", "PersistentVolumeClaim");
    claim.set("metadata.name", name);
    claim
}

/// The ordinal in `name` when it is `<base>-<digits>` (as the original's
/// `^(.*)-(\d+)$` match); more digits than fit count as the highest ordinal.
fn claim_ordinal(base: &str, name: &str) -> Option<u64> {
    let digits = name.strip_prefix(base)?.strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// The ordinal of a Pod named `<catset>-<ordinal>`, written as this hook writes it (no
/// leading zeros): any other Pod is not one of the CatSet's.
pub fn pod_ordinal(catset: &str, name: &str) -> Option<u64> {
    let ordinal = claim_ordinal(catset, name)?;
    (name == format!("{catset}-{ordinal}")).then_some(ordinal)
}

/// Whether a Pod counts as Ready: phase `Running`, not being deleted, and condition
/// `Ready` with status `"True"`.
pub fn is_running_and_ready(pod: &Object) -> bool {
    let ready = pod
        .get("status.conditions")
        .and_then(Value::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .and_then(|condition| condition.get("status"))
        .and_then(Value::as_str)
        == Some("True");
    pod.get_str("status.phase") == Some("Running") && !pod.is_deleting() && ready
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_ordinals_are_exact() {
        assert_eq!(pod_ordinal("web", "web-0"), Some(0));
        assert_eq!(pod_ordinal("web", "web-12"), Some(12));
        assert_eq!(pod_ordinal("nginx-backend", "nginx-backend-3"), Some(3));
        for name in [
            "web",
            "web-",
            "web-x",
            "web-1a",
            "web-01",
            "web-00",
            "webs-1",
            "web-1-2",
            "www-web-1",
            "web-+1",
            "web--1",
        ] {
            assert_eq!(pod_ordinal("web", name), None, "{name}");
        }
        assert_eq!(pod_ordinal("web", "web-99999999999999999999999"), None);
        assert_eq!(pod_ordinal("web", "web-18446744073709551616"), None);
    }

    #[test]
    fn claim_ordinals_follow_the_original_match() {
        assert_eq!(claim_ordinal("www-web", "www-web-4"), Some(4));
        assert_eq!(claim_ordinal("www-web", "www-web-04"), Some(4));
        assert_eq!(
            claim_ordinal("www-web", "www-web-99999999999999999999999"),
            Some(u64::MAX)
        );
        assert_eq!(claim_ordinal("www-web", "www-web-x-1"), None);
        assert_eq!(claim_ordinal("www-web", "www-webby-1"), None);
        assert_eq!(claim_ordinal("www-web", "www-web-"), None);
    }

    #[test]
    fn readiness_needs_running_ready_and_not_deleting() {
        let pod = |phase: &str, ready: &str, deleting: bool| {
            let mut pod = Object::new("v1", "Pod", "web-0")
                .with("status.phase", phase)
                .with(
                    "status.conditions",
                    json!([{"type": "PodScheduled", "status": "True"},
                           {"type": "Ready", "status": ready}]),
                );
            if deleting {
                pod.set("metadata.deletionTimestamp", "2025-11-24T10:00:00Z");
            }
            pod
        };
        assert!(is_running_and_ready(&pod("Running", "True", false)));
        assert!(!is_running_and_ready(&pod("Running", "False", false)));
        assert!(!is_running_and_ready(&pod("Pending", "True", false)));
        assert!(!is_running_and_ready(&pod("Running", "True", true)));
        assert!(!is_running_and_ready(&Object::new("v1", "Pod", "web-0")));
    }
}
