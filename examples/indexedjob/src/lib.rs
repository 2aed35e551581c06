//! Hook logic for the `indexedjob` example: a Rust port of metacontroller's IndexedJob, a
//! CompositeController that works like a Job except that every Pod gets a unique index,
//! like a StatefulSet's.
//!
//! An `IndexedJob` (`indexedjobs.ctl.enisoc.com/v1`) runs `spec.completions` Pods (default
//! 1), at most `spec.parallelism` at a time (default 1). Pod number `i` is called
//! `<job name>-<i>` and every container in it gets the environment variable
//! `JOB_INDEX=<i>`. The status counts the observed Pods by phase and carries a `Complete`
//! condition; once that condition (or a `Failed` one) is `"True"`, the job is finished: its
//! status is frozen and no more Pods are created.

use std::collections::{BTreeMap, BTreeSet};

use metahook::{CompositeHooks, CompositeRequest, CompositeResponse, Object, ObjectMap, Result};
use serde_json::{Map, Value, json};

/// The type key of the Pods in the request's `children`.
pub const POD_TYPE: &str = "Pod.v1";

/// The environment variable that tells each container its Pod's index.
pub const INDEX_ENV: &str = "JOB_INDEX";

/// The hooks of this module: `sync` only, as in the original.
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync)
}

/// What was observed of one IndexedJob's Pods.
#[derive(Debug, Default, PartialEq)]
pub struct Observed<'a> {
    /// The Pods whose name is `<job name>-<index>`, by index.
    pub pods: BTreeMap<u64, &'a Object>,
    /// Pods in any phase but `Succeeded` and `Failed` (including Pods with no status yet).
    pub active: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// The `sync` hook.
///
/// A finished job keeps its status and gets back a desired Pod for each observed one, and
/// nothing more (finished Pods may be garbage-collected; they are not recreated). Otherwise
/// the status is computed from the observed Pods, every observed Pod stays desired, and the
/// lowest missing indices below `spec.completions` are added while fewer than
/// `spec.parallelism` Pods are active.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let job = &request.parent;
    let name = job_name(job)?;
    let observed = observe(name, &request.children);

    if is_finished(job) {
        let children = observed
            .pods
            .keys()
            .map(|&index| new_pod(job, name, index))
            .collect::<Result<Vec<_>>>()?;
        let status = job.get("status").cloned().unwrap_or_else(|| json!({}));
        return Ok(CompositeResponse::new(children).with_status(status));
    }

    // The status describes what was observed, before any new Pod is asked for.
    let completions = count(job, "completions")?;
    let parallelism = count(job, "parallelism")?;
    let complete = if observed.succeeded == completions {
        "True"
    } else {
        "False"
    };
    let status = json!({
        "active": observed.active,
        "succeeded": observed.succeeded,
        "failed": observed.failed,
        "conditions": [{"type": "Complete", "status": complete}],
    });

    let mut indices: BTreeSet<u64> = observed.pods.keys().copied().collect();
    let mut active = observed.active;
    for index in 0..completions {
        if active >= parallelism {
            break;
        }
        if indices.insert(index) {
            active += 1;
        }
    }
    let children = indices
        .into_iter()
        .map(|index| new_pod(job, name, index))
        .collect::<Result<Vec<_>>>()?;
    Ok(CompositeResponse::new(children).with_status(status))
}

/// Sorts the observed Pods of the job called `job_name` by index and counts them by phase.
///
/// Pods whose name is not `<job_name>-<index>` are ignored: they are not counted, and since
/// they are never desired, metacontroller deletes them. A missing `Pod.v1` entry counts as
/// no Pods. The Pod's own `metadata.name` is used, so both hook versions' keys (`name` and
/// `namespace/name`) work.
pub fn observe<'a>(job_name: &str, children: &'a ObjectMap) -> Observed<'a> {
    let mut observed = Observed::default();
    for (key, pod) in children.0.get(POD_TYPE).into_iter().flatten() {
        let pod_name = match pod.name() {
            "" => key.rsplit('/').next().unwrap_or(key),
            name => name,
        };
        let Some(index) = pod_index(job_name, pod_name) else {
            continue;
        };
        match pod.get_str("status.phase") {
            Some("Succeeded") => observed.succeeded += 1,
            Some("Failed") => observed.failed += 1,
            _ => observed.active += 1,
        }
        observed.pods.insert(index, pod);
    }
    observed
}

/// The index in a Pod name of the form `<job_name>-<index>`, written as this hook writes it
/// (decimal, no sign, no leading zero).
pub fn pod_index(job_name: &str, pod_name: &str) -> Option<u64> {
    let digits = pod_name.strip_prefix(job_name)?.strip_prefix('-')?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical { digits.parse().ok() } else { None }
}

/// Whether the job has a `Complete` or `Failed` condition whose status is `"True"`.
pub fn is_finished(job: &Object) -> bool {
    job.get("status.conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|condition| {
                let field = |name: &str| condition.get(name).and_then(Value::as_str);
                matches!(field("type"), Some("Complete" | "Failed"))
                    && field("status") == Some("True")
            })
        })
}

/// Pod number `index` of the job: a copy of `spec.template` named `<job_name>-<index>`,
/// with `JOB_INDEX=<index>` in the environment of every container.
///
/// Everything else in the template (labels, annotations, the whole Pod spec) is kept.
/// Metacontroller adds the namespace, the `controller-uid` label and the owner reference.
pub fn new_pod(job: &Object, job_name: &str, index: u64) -> Result<Object> {
    let Some(Value::Object(template)) = job.get("spec.template") else {
        return Err(format!(
            "{}: `spec.template` must be a Pod template (an object with `spec.containers`)",
            describe(job)
        )
        .into());
    };
    let mut pod = Object(template.clone());
    pod.set("apiVersion", "v1");
    pod.set("kind", "Pod");
    if !matches!(pod.get("metadata"), Some(Value::Object(_))) {
        pod.set("metadata", Map::new());
    }
    pod.set("metadata.name", format!("{job_name}-{index}"));

    let containers = match pod
        .0
        .get_mut("spec")
        .and_then(|spec| spec.get_mut("containers"))
    {
        Some(Value::Array(containers)) => containers,
        _ => {
            return Err(format!(
                "{}: `spec.template.spec.containers` must be a list of containers",
                describe(job)
            )
            .into());
        }
    };
    for (position, container) in containers.iter_mut().enumerate() {
        let Value::Object(container) = container else {
            return Err(format!(
                "{}: `spec.template.spec.containers[{position}]` must be a container object",
                describe(job)
            )
            .into());
        };
        let env = container
            .entry("env")
            .and_modify(|env| {
                if env.is_null() {
                    *env = json!([]);
                }
            })
            .or_insert_with(|| json!([]));
        let Value::Array(env) = env else {
            return Err(format!(
                "{}: `spec.template.spec.containers[{position}].env` must be a list",
                describe(job)
            )
            .into());
        };
        // A JOB_INDEX set in the template would be overridden by ours anyway (the last
        // entry of a name wins); dropping it avoids a duplicate entry.
        env.retain(|var| var.get("name").and_then(Value::as_str) != Some(INDEX_ENV));
        env.push(json!({"name": INDEX_ENV, "value": index.to_string()}));
    }
    Ok(pod)
}

/// `spec.completions` or `spec.parallelism`: 1 when missing or `null`.
fn count(job: &Object, field: &str) -> Result<u64> {
    match job.get(&format!("spec.{field}")) {
        None | Some(Value::Null) => Ok(1),
        Some(value) => value.as_u64().ok_or_else(|| {
            format!(
                "{}: `spec.{field}` must be a whole number, zero or more, got {value}",
                describe(job)
            )
            .into()
        }),
    }
}

fn job_name(job: &Object) -> Result<&str> {
    match job.get_str("metadata.name") {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(
            "`parent.metadata.name` is missing or not a non-empty string; the parent must be \
             an IndexedJob as stored by the API server"
                .into(),
        ),
    }
}

fn describe(job: &Object) -> String {
    match job.namespace() {
        Some(namespace) => format!("IndexedJob {namespace}/{}", job.name()),
        None => format!("IndexedJob {}", job.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST_SYNC: &str = include_str!("../requests/sync.json");
    const RUNNING_SYNC: &str = include_str!("../requests/sync-running.json");

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

    fn job(spec: Value, status: Option<Value>) -> Value {
        let mut job = json!({
            "apiVersion": "ctl.enisoc.com/v1",
            "kind": "IndexedJob",
            "metadata": {"name": "print-index", "namespace": "default", "uid": "u-1"},
            "spec": spec,
        });
        if let Some(status) = status {
            job["status"] = status;
        }
        job
    }

    fn template() -> Value {
        json!({
            "spec": {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "print-index", "image": "busybox",
                                "command": ["sh", "-c", "echo ${JOB_INDEX}"]}]
            }
        })
    }

    fn pod(name: &str, phase: Option<&str>) -> Value {
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"controller-uid": "u-1"}},
            "spec": {"containers": [{"name": "print-index", "image": "busybox"}]},
        });
        if let Some(phase) = phase {
            pod["status"] = json!({"phase": phase});
        }
        pod
    }

    /// A request with the pods keyed as hook version v1 does (by name).
    fn request(job: Value, pods: &[Value]) -> Value {
        let pods: Map<String, Value> = pods
            .iter()
            .map(|pod| {
                (
                    pod["metadata"]["name"].as_str().unwrap_or("").to_string(),
                    pod.clone(),
                )
            })
            .collect();
        json!({
            "controller": {"kind": "CompositeController", "metadata": {"name": "indexedjob-controller"}},
            "parent": job,
            "children": {"Pod.v1": pods},
            "related": {},
            "finalizing": false
        })
    }

    fn names(response: &Value) -> Vec<&str> {
        response["children"]
            .as_array()
            .map(|children| {
                children
                    .iter()
                    .filter_map(|pod| pod["metadata"]["name"].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn first_sync_starts_as_many_pods_as_the_parallelism() -> Result<()> {
        let response = call(&serde_json::from_str(FIRST_SYNC)?)?;
        assert_eq!(
            response["status"],
            json!({"active": 0, "succeeded": 0, "failed": 0,
                   "conditions": [{"type": "Complete", "status": "False"}]})
        );
        assert_eq!(names(&response), ["print-index-0", "print-index-1"]);
        assert_eq!(
            response["children"][1],
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "print-index-1"},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [{
                        "name": "print-index",
                        "image": "busybox",
                        "command": ["sh", "-c", "echo ${JOB_INDEX}"],
                        "env": [{"name": "JOB_INDEX", "value": "1"}]
                    }]
                }
            })
        );
        assert_eq!(response.get("resyncAfterSeconds"), None);
        Ok(())
    }

    #[test]
    fn running_job_keeps_its_pods_and_fills_free_slots_with_the_lowest_indices() -> Result<()> {
        // The sample: 0-4 succeeded, 5 running, 6 pending; parallelism 2 leaves no slot.
        let mut request: Value = serde_json::from_str(RUNNING_SYNC)?;
        let response = call(&request)?;
        assert_eq!(
            response["status"],
            json!({"active": 2, "succeeded": 5, "failed": 0,
                   "conditions": [{"type": "Complete", "status": "False"}]})
        );
        let expected: Vec<String> = (0..7).map(|i| format!("print-index-{i}")).collect();
        assert_eq!(names(&response), expected);
        // Desired Pods come from the template, not from the observed Pods.
        assert_eq!(response["children"][5]["status"], Value::Null);
        assert_eq!(
            response["children"][5]["spec"]["containers"][0]["env"],
            json!([{"name": "JOB_INDEX", "value": "5"}])
        );

        // Once Pod 5 succeeds there is one free slot: index 7 is next, and only it.
        request["children"]["Pod.v1"]["print-index-5"]["status"]["phase"] = json!("Succeeded");
        let response = call(&request)?;
        assert_eq!(response["status"]["active"], 1);
        assert_eq!(response["status"]["succeeded"], 6);
        assert_eq!(names(&response).len(), 8);
        assert_eq!(names(&response)[7], "print-index-7");
        Ok(())
    }

    #[test]
    fn all_completions_succeeded_sets_complete_and_creates_nothing_more() -> Result<()> {
        let pods: Vec<Value> = (0..3)
            .map(|i| pod(&format!("print-index-{i}"), Some("Succeeded")))
            .collect();
        let spec = json!({"completions": 3, "parallelism": 2, "template": template()});
        let response = call(&request(job(spec, None), &pods))?;
        assert_eq!(
            response["status"],
            json!({"active": 0, "succeeded": 3, "failed": 0,
                   "conditions": [{"type": "Complete", "status": "True"}]})
        );
        assert_eq!(
            names(&response),
            ["print-index-0", "print-index-1", "print-index-2"]
        );
        Ok(())
    }

    #[test]
    fn a_finished_job_freezes_its_status_and_recreates_nothing() -> Result<()> {
        for condition in ["Complete", "Failed"] {
            let status = json!({"active": 0, "succeeded": 10, "failed": 0, "observedGeneration": 1,
                                "conditions": [{"type": condition, "status": "True"}]});
            let spec = json!({"completions": 10, "parallelism": 2, "template": template()});
            // Pod GC removed most Pods: only 3 and 9 are left, and nothing is recreated.
            let pods = [
                pod("print-index-9", Some("Succeeded")),
                pod("print-index-3", Some("Succeeded")),
            ];
            let response = call(&request(job(spec, Some(status.clone())), &pods))?;
            assert_eq!(response["status"], status, "{condition}");
            assert_eq!(names(&response), ["print-index-3", "print-index-9"]);
            assert_eq!(
                response["children"][1]["spec"]["containers"][0]["env"][0]["value"],
                "9"
            );
        }
        // A condition that is not "True" does not finish the job.
        let status = json!({"conditions": [{"type": "Complete", "status": "False"}, {"type": "Failed"}, "junk"]});
        let spec = json!({"completions": 2, "parallelism": 2, "template": template()});
        let response = call(&request(job(spec, Some(status)), &[]))?;
        assert_eq!(names(&response), ["print-index-0", "print-index-1"]);
        Ok(())
    }

    #[test]
    fn failed_pods_are_counted_and_not_replaced() -> Result<()> {
        let spec = json!({"completions": 3, "parallelism": 1, "template": template()});
        let pods = [
            pod("print-index-0", Some("Failed")),
            pod("print-index-1", Some("Succeeded")),
        ];
        let response = call(&request(job(spec, None), &pods))?;
        assert_eq!(response["status"]["failed"], 1);
        assert_eq!(response["status"]["succeeded"], 1);
        assert_eq!(response["status"]["active"], 0);
        assert_eq!(
            names(&response),
            ["print-index-0", "print-index-1", "print-index-2"]
        );
        Ok(())
    }

    #[test]
    fn only_pods_named_after_the_job_with_an_index_count() {
        assert_eq!(pod_index("print-index", "print-index-0"), Some(0));
        assert_eq!(pod_index("print-index", "print-index-12"), Some(12));
        assert_eq!(pod_index("print-index", "print-index-x"), None);
        assert_eq!(pod_index("print-index", "print-index-"), None);
        assert_eq!(pod_index("print-index", "print-index-07"), None);
        assert_eq!(pod_index("print-index", "print-index--1"), None);
        assert_eq!(pod_index("print-index", "print-index-1-2"), None);
        assert_eq!(pod_index("print-index", "print-index"), None);
        assert_eq!(pod_index("print", "print-index-3"), None);
        assert_eq!(pod_index("a-1", "a-1-2"), Some(2));
        assert_eq!(pod_index("j", "j-99999999999999999999999"), None);

        let children: ObjectMap = match serde_json::from_value(json!({"Pod.v1": {
            "print-index-0": pod("print-index-0", Some("Running")),
            "stray": pod("stray", Some("Running")),
            "other-1": pod("other-1", None),
        }})) {
            Ok(children) => children,
            Err(err) => panic!("children: {err}"),
        };
        let observed = observe("print-index", &children);
        assert_eq!(observed.active, 1);
        assert_eq!(observed.pods.keys().copied().collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn namespace_qualified_keys_of_hook_version_v2_work() -> Result<()> {
        let spec = json!({"completions": 2, "parallelism": 1, "template": template()});
        let mut request = request(job(spec, None), &[]);
        request["children"]["Pod.v1"] =
            json!({"default/print-index-0": pod("print-index-0", Some("Running"))});
        let response = call(&request)?;
        assert_eq!(response["status"]["active"], 1);
        assert_eq!(names(&response), ["print-index-0"]);
        Ok(())
    }

    #[test]
    fn defaults_missing_pods_and_zero_parallelism() -> Result<()> {
        // No completions or parallelism: one Pod.
        let response = call(&request(job(json!({"template": template()}), None), &[]))?;
        assert_eq!(names(&response), ["print-index-0"]);
        // No Pod.v1 entry, or no children at all: no Pods observed.
        let mut no_children = request(
            job(json!({"template": template(), "completions": null}), None),
            &[],
        );
        no_children["children"] = json!({});
        assert_eq!(names(&call(&no_children)?), ["print-index-0"]);
        no_children.as_object_mut().map(|r| r.remove("children"));
        assert_eq!(names(&call(&no_children)?), ["print-index-0"]);
        // Parallelism 0 creates nothing, but keeps what exists.
        let spec = json!({"completions": 3, "parallelism": 0, "template": template()});
        let response = call(&request(job(spec, None), &[pod("print-index-2", None)]))?;
        assert_eq!(names(&response), ["print-index-2"]);
        // Zero completions: complete at once, with no Pods.
        let spec = json!({"completions": 0, "template": template()});
        let response = call(&request(job(spec, None), &[]))?;
        assert_eq!(response["children"], json!([]));
        assert_eq!(response["status"]["conditions"][0]["status"], "True");
        Ok(())
    }

    #[test]
    fn the_template_is_kept_and_job_index_is_set_once_per_container() -> Result<()> {
        let template = json!({
            "metadata": {"labels": {"app": "print-index"}, "name": "ignored"},
            "spec": {"containers": [
                {"name": "a", "image": "busybox",
                 "env": [{"name": "MODE", "value": "x"}, {"name": "JOB_INDEX", "value": "stale"}]},
                {"name": "b", "image": "busybox", "env": null}
            ], "nodeSelector": {"disk": "ssd"}}
        });
        let pod = new_pod(
            &serde_json::from_value(job(json!({"template": template}), None))?,
            "print-index",
            4,
        )?;
        assert_eq!(pod.name(), "print-index-4");
        assert_eq!(pod.label("app"), Some("print-index"));
        assert_eq!(pod.get_str("spec.nodeSelector.disk"), Some("ssd"));
        assert_eq!(
            pod.get("spec.containers").cloned(),
            Some(json!([
                {"name": "a", "image": "busybox",
                 "env": [{"name": "MODE", "value": "x"}, {"name": "JOB_INDEX", "value": "4"}]},
                {"name": "b", "image": "busybox", "env": [{"name": "JOB_INDEX", "value": "4"}]}
            ]))
        );
        Ok(())
    }

    #[test]
    fn bad_input_is_rejected_with_what_was_wrong() {
        let with_spec = |spec| request(job(spec, None), &[]);
        let message = error(&with_spec(json!({"completions": 2})));
        assert!(
            message
                .contains("IndexedJob default/print-index: `spec.template` must be a Pod template"),
            "{message}"
        );
        let message = error(&with_spec(json!({"template": {"spec": {}}})));
        assert!(
            message.contains("`spec.template.spec.containers` must be a list"),
            "{message}"
        );
        let message = error(&with_spec(
            json!({"template": {"spec": {"containers": ["x"]}}}),
        ));
        assert!(
            message.contains("`spec.template.spec.containers[0]` must be a container object"),
            "{message}"
        );
        let message = error(&with_spec(
            json!({"template": {"spec": {"containers": [{"env": {}}]}}}),
        ));
        assert!(
            message.contains("`spec.template.spec.containers[0].env` must be a list"),
            "{message}"
        );
        let message = error(&with_spec(
            json!({"completions": "10", "template": template()}),
        ));
        assert!(
            message.contains("`spec.completions` must be a whole number, zero or more, got \"10\""),
            "{message}"
        );
        let message = error(&with_spec(
            json!({"parallelism": -1, "template": template()}),
        ));
        assert!(
            message.contains("`spec.parallelism` must be a whole number"),
            "{message}"
        );
        let mut nameless = with_spec(json!({"template": template()}));
        nameless["parent"]["metadata"] = json!({});
        assert!(error(&nameless).contains("`parent.metadata.name` is missing"));
    }
}
