//! Hook logic for the `daemonjob` example: a Rust port of metacontroller's DaemonJob, a
//! CompositeController that works like a Job except that it runs once on every node, like
//! a DaemonSet.
//!
//! It uses the "single-use DaemonSet" pattern: a `DaemonJob` (`daemonjobs.ctl.example.com/v1`)
//! gets one DaemonSet, `<name>-dj`, whose Pods run the job's containers as init containers
//! (one after the other) and then a tiny `pause` container. A Pod is Ready once its init
//! containers have all succeeded, so when the DaemonSet reports as many Ready Pods as it
//! wants scheduled (and at least one), the job has run on every node. The DaemonJob's status
//! is a copy of the DaemonSet's with a `Complete` condition. Once the DaemonJob's own status
//! says it is done, its status is frozen and the DaemonSet is deleted.

use metahook::{CompositeHooks, CompositeRequest, CompositeResponse, Object, Result};
use serde_json::{Map, Value, json};

/// The image of the container that keeps each Pod alive after the job's containers ran,
/// when `spec.pauseImage` does not name one.
pub const DEFAULT_PAUSE_IMAGE: &str = "gcr.io/google_containers/pause";

/// The hooks of this module: `sync` only, as in the original.
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync)
}

/// The `sync` hook.
///
/// - If the DaemonJob's status already shows it finished (see [`is_finished`]), the status
///   is kept, with `conditions: [Complete=True]`, and no child is desired, so metacontroller
///   deletes the DaemonSet.
/// - Otherwise the status is the observed DaemonSet's status (empty before there is one)
///   with `Complete` set to whether that DaemonSet is finished, and the DaemonSet stays
///   desired: it is deleted only on the next sync, after the completion has been recorded
///   in the DaemonJob's status.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let job = &request.parent;
    let name = job_name(job)?;

    if is_finished(job) {
        let mut status = status_of(job);
        status.insert("conditions".into(), complete(true));
        return Ok(CompositeResponse::new(vec![]).with_status(Value::Object(status)));
    }

    let observed = request.children.get("DaemonSet", &daemonset_name(name));
    let mut status = observed.map(status_of).unwrap_or_default();
    status.insert(
        "conditions".into(),
        complete(observed.is_some_and(is_finished)),
    );
    Ok(CompositeResponse::new(vec![new_daemonset(job, name)?]).with_status(Value::Object(status)))
}

/// Whether `object` (a DaemonJob or its DaemonSet) has a status in which
/// `desiredNumberScheduled` (1 when missing) equals `numberReady` (0 when missing) and is
/// more than zero.
///
/// A status that is missing or not an object, or counts that are not whole numbers, mean
/// "not finished".
pub fn is_finished(object: &Object) -> bool {
    let Some(Value::Object(status)) = object.get("status") else {
        return false;
    };
    let number = |field: &str, default: i64| match status.get(field) {
        None | Some(Value::Null) => Some(default),
        Some(value) => value.as_i64(),
    };
    match (
        number("desiredNumberScheduled", 1),
        number("numberReady", 0),
    ) {
        (Some(desired), Some(ready)) => desired == ready && desired > 0,
        _ => false,
    }
}

/// The name of the DaemonSet of the DaemonJob called `job_name`.
pub fn daemonset_name(job_name: &str) -> String {
    format!("{job_name}-dj")
}

/// The desired DaemonSet of a DaemonJob.
///
/// Its Pod template is the job's `spec.template`, with the job's containers moved to the
/// end of `initContainers` and a single `pause` container (image `spec.pauseImage`,
/// requesting 10m of CPU) in their place. Its labels and its selector are the template's
/// labels. Metacontroller adds the namespace, the `controller-uid` label and the owner
/// reference.
pub fn new_daemonset(job: &Object, job_name: &str) -> Result<Object> {
    let Some(Value::Object(template)) = job.get("spec.template") else {
        return Err(format!(
            "{}: `spec.template` must be a Pod template (an object with `metadata.labels` and \
             `spec.containers`)",
            describe(job)
        )
        .into());
    };
    let labels = match template.get("metadata").and_then(|m| m.get("labels")) {
        Some(Value::Object(labels)) if !labels.is_empty() => labels.clone(),
        _ => {
            return Err(format!(
                "{}: `spec.template.metadata.labels` must be a non-empty map; they become the \
                 DaemonSet's selector, which cannot be empty",
                describe(job)
            )
            .into());
        }
    };
    let pause_image = match job.get("spec.pauseImage") {
        None | Some(Value::Null) => DEFAULT_PAUSE_IMAGE,
        Some(Value::String(image)) if image.is_empty() => DEFAULT_PAUSE_IMAGE,
        Some(Value::String(image)) => image,
        Some(other) => {
            return Err(format!(
                "{}: `spec.pauseImage` must be an image name, got {other}",
                describe(job)
            )
            .into());
        }
    };

    let mut pod_template = Object(template.clone());
    let Some(Value::Object(pod_spec)) = pod_template.0.get_mut("spec") else {
        return Err(format!(
            "{}: `spec.template.spec` must be a Pod spec with `containers`",
            describe(job)
        )
        .into());
    };
    let Some(Value::Array(containers)) = pod_spec.remove("containers") else {
        return Err(format!(
            "{}: `spec.template.spec.containers` must be a list of containers: they run, one \
             after the other, as the init containers of each node's Pod",
            describe(job)
        )
        .into());
    };
    let mut init_containers = match pod_spec.remove("initContainers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(init_containers)) => init_containers,
        Some(_) => {
            return Err(format!(
                "{}: `spec.template.spec.initContainers` must be a list of containers",
                describe(job)
            )
            .into());
        }
    };
    init_containers.extend(containers);
    pod_spec.insert("initContainers".into(), Value::Array(init_containers));
    pod_spec.insert(
        "containers".into(),
        json!([{
            "name": "pause",
            "image": pause_image,
            "resources": {"requests": {"cpu": "10m"}},
        }]),
    );

    let mut daemonset = Object::new("apps/v1", "DaemonSet", &daemonset_name(job_name));
    daemonset.set("metadata.labels", labels.clone());
    daemonset.set("spec.template", pod_template.into_value());
    daemonset.set("spec.selector.matchLabels", labels);
    Ok(daemonset)
}

fn status_of(object: &Object) -> Map<String, Value> {
    match object.get("status") {
        Some(Value::Object(status)) => status.clone(),
        _ => Map::new(),
    }
}

fn complete(done: bool) -> Value {
    json!([{"type": "Complete", "status": if done { "True" } else { "False" }}])
}

fn job_name(job: &Object) -> Result<&str> {
    match job.get_str("metadata.name") {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(
            "`parent.metadata.name` is missing or not a non-empty string; the parent must be \
             a DaemonJob as stored by the API server"
                .into(),
        ),
    }
}

fn describe(job: &Object) -> String {
    match job.namespace() {
        Some(namespace) => format!("DaemonJob {namespace}/{}", job.name()),
        None => format!("DaemonJob {}", job.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST_SYNC: &str = include_str!("../requests/sync.json");
    const READY_SYNC: &str = include_str!("../requests/sync-ready.json");
    const FINISHED_SYNC: &str = include_str!("../requests/sync-finished.json");

    fn call(request: &Value) -> Result<Value> {
        let output = hooks().handle("sync", &serde_json::to_vec(request)?)?;
        Ok(serde_json::from_slice(&output)?)
    }

    fn error(request: &Value) -> String {
        match call(request) {
            Ok(response) => panic!("expected an error, got {response}"),
            Err(err) => err.to_string(),
        }
    }

    fn spec() -> Value {
        json!({
            "template": {
                "metadata": {"labels": {"app": "hello-world"}},
                "spec": {
                    "containers": [{"name": "hello-world", "image": "busybox",
                                    "command": ["sh", "-c", "echo 'Hello world' && sleep 30"]}],
                    "terminationGracePeriodSeconds": 10
                }
            }
        })
    }

    fn request(spec: Value, status: Option<Value>, daemonsets: Value) -> Value {
        let mut parent = json!({
            "apiVersion": "ctl.example.com/v1",
            "kind": "DaemonJob",
            "metadata": {"name": "hello-world", "namespace": "default", "uid": "u-1"},
            "spec": spec,
        });
        if let Some(status) = status {
            parent["status"] = status;
        }
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "daemonjob-controller"}},
            "parent": parent,
            "children": {"DaemonSet.apps/v1": daemonsets},
            "related": {},
            "finalizing": false
        })
    }

    fn daemonset(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "hello-world-dj", "namespace": "default"},
               "spec": {}, "status": status})
    }

    #[test]
    fn first_sync_creates_the_daemonset() -> Result<()> {
        let response = call(&serde_json::from_str(FIRST_SYNC)?)?;
        assert_eq!(
            response,
            json!({
                "status": {"conditions": [{"type": "Complete", "status": "False"}]},
                "children": [{
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "metadata": {"name": "hello-world-dj", "labels": {"app": "hello-world"}},
                    "spec": {
                        "selector": {"matchLabels": {"app": "hello-world"}},
                        "template": {
                            "metadata": {"labels": {"app": "hello-world"}},
                            "spec": {
                                "initContainers": [{
                                    "name": "hello-world",
                                    "image": "busybox",
                                    "command": ["sh", "-c", "echo 'Hello world' && sleep 30"],
                                    "resources": {"requests": {"cpu": "10m"}}
                                }],
                                "containers": [{
                                    "name": "pause",
                                    "image": "gcr.io/google_containers/pause",
                                    "resources": {"requests": {"cpu": "10m"}}
                                }],
                                "terminationGracePeriodSeconds": 10
                            }
                        }
                    }
                }]
            })
        );
        Ok(())
    }

    #[test]
    fn status_copies_the_daemonset_and_stays_incomplete_until_every_pod_is_ready() -> Result<()> {
        let ds_status = json!({"currentNumberScheduled": 3, "desiredNumberScheduled": 3,
                               "numberAvailable": 1, "numberMisscheduled": 0, "numberReady": 1,
                               "numberUnavailable": 2, "observedGeneration": 1,
                               "updatedNumberScheduled": 3});
        let ds = json!({"hello-world-dj": daemonset(ds_status.clone())});
        let response = call(&request(spec(), None, ds))?;
        let mut expected = ds_status;
        expected["conditions"] = json!([{"type": "Complete", "status": "False"}]);
        assert_eq!(response["status"], expected);
        assert_eq!(
            response["children"][0]["metadata"]["name"],
            "hello-world-dj"
        );
        Ok(())
    }

    #[test]
    fn a_ready_daemonset_completes_the_job_but_is_kept_for_one_more_sync() -> Result<()> {
        let request: Value = serde_json::from_str(READY_SYNC)?;
        let response = call(&request)?;
        assert_eq!(
            response["status"]["conditions"],
            json!([{"type": "Complete", "status": "True"}])
        );
        assert_eq!(response["status"]["numberReady"], 2);
        assert_eq!(response["status"]["desiredNumberScheduled"], 2);
        assert_eq!(response["children"].as_array().map(Vec::len), Some(1));
        Ok(())
    }

    #[test]
    fn a_finished_job_freezes_its_status_and_deletes_the_daemonset() -> Result<()> {
        let request: Value = serde_json::from_str(FINISHED_SYNC)?;
        let response = call(&request)?;
        assert_eq!(response["children"], json!([]));
        let mut expected = request["parent"]["status"].clone();
        expected["conditions"] = json!([{"type": "Complete", "status": "True"}]);
        assert_eq!(response["status"], expected);

        // The frozen status does not follow the DaemonSet any more, and needs no template.
        let status = json!({"desiredNumberScheduled": 4, "numberReady": 4});
        let ds = json!({"hello-world-dj": daemonset(json!({"desiredNumberScheduled": 5, "numberReady": 1}))});
        let response = call(&request_without_template(Some(status), ds))?;
        assert_eq!(response["children"], json!([]));
        assert_eq!(response["status"]["numberReady"], 4);
        Ok(())
    }

    fn request_without_template(status: Option<Value>, daemonsets: Value) -> Value {
        request(json!({}), status, daemonsets)
    }

    #[test]
    fn finished_needs_matching_counts_above_zero() {
        let finished = |status: Value| {
            let object: Object = match serde_json::from_value(json!({"status": status})) {
                Ok(object) => object,
                Err(err) => panic!("object: {err}"),
            };
            is_finished(&object)
        };
        assert!(finished(
            json!({"desiredNumberScheduled": 2, "numberReady": 2})
        ));
        assert!(finished(json!({"numberReady": 1})), "desired defaults to 1");
        assert!(!finished(
            json!({"desiredNumberScheduled": 2, "numberReady": 1})
        ));
        assert!(
            !finished(json!({"desiredNumberScheduled": 0, "numberReady": 0})),
            "no node yet"
        );
        assert!(!finished(json!({})), "1 desired, 0 ready");
        assert!(!finished(
            json!({"desiredNumberScheduled": "2", "numberReady": "2"})
        ));
        assert!(!finished(Value::Null));
        assert!(!finished(json!("done")));
        assert!(!is_finished(&Object::default()));
        // The DaemonJob's first status (conditions only) is not finished either.
        assert!(!finished(
            json!({"conditions": [{"type": "Complete", "status": "False"}], "observedGeneration": 1})
        ));
    }

    #[test]
    fn a_daemonset_with_no_nodes_yet_is_not_finished() -> Result<()> {
        let ds = json!({"hello-world-dj": daemonset(json!({"desiredNumberScheduled": 0, "numberReady": 0}))});
        let response = call(&request(
            spec(),
            Some(json!({"desiredNumberScheduled": 0, "numberReady": 0})),
            ds,
        ))?;
        assert_eq!(response["status"]["conditions"][0]["status"], "False");
        assert_eq!(response["children"].as_array().map(Vec::len), Some(1));
        Ok(())
    }

    #[test]
    fn missing_children_and_v2_keys() -> Result<()> {
        // No DaemonSet.apps/v1 entry, or no children at all: no DaemonSet observed.
        let mut request = request(spec(), None, json!({}));
        request["children"] = json!({});
        assert_eq!(
            call(&request)?["status"],
            json!({"conditions": [{"type": "Complete", "status": "False"}]})
        );
        request.as_object_mut().map(|r| r.remove("children"));
        assert_eq!(
            call(&request)?["children"].as_array().map(Vec::len),
            Some(1)
        );
        // Hook version v2 keys children by namespace/name.
        request["children"] = json!({"DaemonSet.apps/v1": {
            "default/hello-world-dj": daemonset(json!({"desiredNumberScheduled": 1, "numberReady": 1}))
        }});
        assert_eq!(call(&request)?["status"]["conditions"][0]["status"], "True");
        // Another DaemonSet is not ours.
        request["children"] = json!({"DaemonSet.apps/v1": {
            "other": {"metadata": {"name": "other"}, "status": {"desiredNumberScheduled": 1, "numberReady": 1}}
        }});
        assert_eq!(
            call(&request)?["status"]["conditions"][0]["status"],
            "False"
        );
        Ok(())
    }

    #[test]
    fn pause_image_and_existing_init_containers() -> Result<()> {
        let mut spec = spec();
        spec["pauseImage"] = json!("registry.k8s.io/pause:3.9");
        spec["template"]["spec"]["initContainers"] = json!([{"name": "setup", "image": "busybox"}]);
        let daemonset = new_daemonset(
            &serde_json::from_value(request(spec, None, json!({}))["parent"].clone())?,
            "hello-world",
        )?;
        assert_eq!(
            daemonset.get("spec.template.spec.containers").cloned(),
            Some(
                json!([{"name": "pause", "image": "registry.k8s.io/pause:3.9",
                         "resources": {"requests": {"cpu": "10m"}}}])
            )
        );
        let init: Vec<&str> = daemonset
            .get("spec.template.spec.initContainers")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(init, ["setup", "hello-world"]);
        // Nothing but apiVersion, kind, metadata and spec: the job's status and its other
        // spec fields do not leak into the DaemonSet.
        let keys: Vec<&String> = daemonset.0.keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
        assert_eq!(daemonset.get("spec.pauseImage"), None);
        Ok(())
    }

    #[test]
    fn bad_input_is_rejected_with_what_was_wrong() {
        let message = error(&request(json!({}), None, json!({})));
        assert!(
            message
                .contains("DaemonJob default/hello-world: `spec.template` must be a Pod template"),
            "{message}"
        );
        let mut no_labels = spec();
        no_labels["template"]["metadata"] = json!({"labels": {}});
        let message = error(&request(no_labels, None, json!({})));
        assert!(
            message.contains("`spec.template.metadata.labels` must be a non-empty map"),
            "{message}"
        );
        let mut no_containers = spec();
        no_containers["template"]["spec"] = json!({"containers": {}});
        let message = error(&request(no_containers, None, json!({})));
        assert!(
            message.contains("`spec.template.spec.containers` must be a list"),
            "{message}"
        );
        let mut no_pod_spec = spec();
        no_pod_spec["template"]
            .as_object_mut()
            .map(|t| t.remove("spec"));
        assert!(
            error(&request(no_pod_spec, None, json!({})))
                .contains("`spec.template.spec` must be a Pod spec")
        );
        let mut bad_image = spec();
        bad_image["pauseImage"] = json!(["pause"]);
        assert!(
            error(&request(bad_image, None, json!({})))
                .contains("`spec.pauseImage` must be an image name")
        );
        let mut nameless = request(spec(), None, json!({}));
        nameless["parent"]["metadata"] = json!({"namespace": "default"});
        assert!(error(&nameless).contains("`parent.metadata.name` is missing"));
    }
}
