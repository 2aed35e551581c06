//! Request bodies: a realistic CompositeController request for the hello-world example,
//! built once by the conformance suite's generator (so it is shaped exactly as metacontroller
//! sends it), then made unique per request without re-serializing anything.
//!
//! The template is serialized with two placeholders, `spec.who` and the parent's
//! `metadata.resourceVersion`, and cut into three shared [`Bytes`] around them. Request `n`
//! is those three pieces with two small strings spliced in (`"load-NONCE-n"` and
//! `"1000+n"`), streamed as one fixed-length body ([`SplicedBody`]): no copy of the template,
//! no pool to build or hold, and no two requests alike within a run (the counter) or between
//! runs (the nonce), so no response cache, ETag or memo can answer any of them.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use conformance::generate::Generate;
use http_body::{Body, Frame, SizeHint};
use serde_json::{Value, json};

/// A request-building failure: the generator's output did not have the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the conformance generator rejected the hello-world {hook} request: {reason}; \
         conformance/src/generate.rs and conformance/load/src/requests.rs disagree"
    )]
    Generate { hook: HookKind, reason: String },
    #[error(
        "the generated {hook} request holds the placeholder {placeholder} {count} times, not \
         once: the generator changed how it copies the parent; update \
         conformance/load/src/requests.rs"
    )]
    Placeholder {
        hook: HookKind,
        placeholder: &'static str,
        count: usize,
    },
}

/// This module's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which hook is called; also the word `{hook}` becomes in the URL template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookKind {
    Sync,
    Finalize,
    Customize,
}

impl HookKind {
    /// The hook's name as metacontroller and the URL path spell it.
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

const WHO: &str = "@@hookload-who@@";
const RESOURCE_VERSION: &str = "@@hookload-resource-version@@";
const PARENT: &str = "hello";
const CREATED: &str = "2024-05-01T10:00:00Z";

/// Which varying field sits at a cut of the template.
#[derive(Debug, Clone, Copy)]
enum Field {
    Who,
    ResourceVersion,
}

/// One hook's request for a HelloWorld parent with `children` observed Pods, ready to be
/// made into any number of distinct bodies. Cheap to share: it holds three [`Bytes`].
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    hook: HookKind,
    children: usize,
    nonce: u32,
    pieces: [Bytes; 3],
    fields: [Field; 2],
}

impl RequestTemplate {
    /// Builds the `hook` request with `children` Pods (ignored by customize requests, which
    /// carry no children). `nonce` goes into every `spec.who`, so two runs differ too.
    pub fn new(hook: HookKind, children: usize, nonce: u32) -> Result<Self> {
        let request = hello_world(children)
            .and_then(|generate| generate.build(hook.as_str()))
            .map_err(|reason| Error::Generate { hook, reason })?;
        let text = serde_json::to_string(&request).map_err(|e| Error::Generate {
            hook,
            reason: e.to_string(),
        })?;
        let mut cuts = Vec::with_capacity(2);
        for (placeholder, field) in [
            (WHO, Field::Who),
            (RESOURCE_VERSION, Field::ResourceVersion),
        ] {
            let quoted = format!("\"{placeholder}\"");
            let found: Vec<usize> = text.match_indices(&quoted).map(|(at, _)| at).collect();
            match found.as_slice() {
                [at] => cuts.push((*at, at + quoted.len(), field)),
                _ => {
                    return Err(Error::Placeholder {
                        hook,
                        placeholder,
                        count: found.len(),
                    });
                }
            }
        }
        cuts.sort_by_key(|(at, _, _)| *at);
        let [(start0, end0, field0), (start1, end1, field1)] = [cuts[0], cuts[1]];
        let text = Bytes::from(text);
        Ok(Self {
            hook,
            children,
            nonce,
            pieces: [
                text.slice(..start0),
                text.slice(end0..start1),
                text.slice(end1..),
            ],
            fields: [field0, field1],
        })
    }

    /// The hook this template calls.
    pub fn hook(&self) -> HookKind {
        self.hook
    }

    /// How many Pods the request observes.
    pub fn children(&self) -> usize {
        self.children
    }

    /// Body number `n`: distinct from every other `n` of this template, and from every body
    /// of a template with another nonce.
    pub fn body(&self, n: u64) -> SplicedBody {
        let field = |field: Field| -> Bytes {
            match field {
                Field::Who => format!("\"{}\"", self.who(n)).into(),
                Field::ResourceVersion => format!("\"{}\"", 1000 + u128::from(n)).into(),
            }
        };
        SplicedBody::new([
            self.pieces[0].clone(),
            field(self.fields[0]),
            self.pieces[1].clone(),
            field(self.fields[1]),
            self.pieces[2].clone(),
        ])
    }

    /// The parent's `spec.who` in body number `n`: the one string that tells bodies apart,
    /// so a hook that echoes it (hello-world's greeting) shows which request it answered.
    pub fn who(&self, n: u64) -> String {
        format!("load-{:08x}-{n}", self.nonce)
    }

    /// Body number `n` as one buffer (a copy: for probes and tests, not the hot path).
    pub fn full_body(&self, n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in self.body(n).chunks {
            out.extend_from_slice(&chunk);
        }
        out
    }
}

/// The generator's input: hello-world's controller, a HelloWorld parent as `kubectl apply`
/// leaves it, and `children` Pods as the API server reports them.
fn hello_world(children: usize) -> std::result::Result<Generate, String> {
    let pods: Vec<Value> = (0..children).map(pod).collect();
    // Through serde, so optional fields the generator grows later keep their defaults.
    let spec = json!({
        "name": "hello-world",
        "parent": {
            "apiVersion": "example.com/v1",
            "kind": "HelloWorld",
            "metadata": {
                "name": PARENT,
                "namespace": "default",
                "resourceVersion": RESOURCE_VERSION,
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration":
                        "{\"apiVersion\":\"example.com/v1\",\"kind\":\"HelloWorld\",\"metadata\":\
                         {\"annotations\":{},\"name\":\"hello\",\"namespace\":\"default\"},\
                         \"spec\":{\"who\":\"World\"}}\n"
                }
            },
            "spec": {"who": WHO},
            "status": {"observedGeneration": 1, "pods": children, "succeeded": children / 2}
        },
        "childTypes": ["Pod.v1"],
        "children": pods
    });
    serde_json::from_value(spec).map_err(|err| format!("its input no longer parses: {err}"))
}

/// A Pod of a busybox container as a kubelet reports it: labels, managed fields, default
/// volumes and tolerations, conditions, IPs and a container status (about 2.8 KiB).
fn pod(index: usize) -> Value {
    let name = format!("{PARENT}-{index}");
    let succeeded = index.is_multiple_of(2);
    let hex = |salt: u64| {
        (0..4)
            .map(|part| format!("{:016x}", mix(index as u64 * 8 + salt * 4 + part)))
            .collect::<String>()
    };
    let container_id = format!("containerd://{}", hex(1));
    let ip = format!("10.244.{}.{}", index / 250 % 250, index % 250 + 2);
    let host_ip = format!("172.18.0.{}", index % 3 + 2);
    let (phase, state, ready) = if succeeded {
        (
            "Succeeded",
            json!({"terminated": {"containerID": container_id, "exitCode": 0,
                                  "finishedAt": "2024-05-01T10:00:09Z", "reason": "Completed",
                                  "startedAt": "2024-05-01T10:00:08Z"}}),
            "False",
        )
    } else {
        (
            "Running",
            json!({"running": {"startedAt": "2024-05-01T10:00:08Z"}}),
            "True",
        )
    };
    let condition = |kind: &str, status: &str| {
        json!({"lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:09Z",
               "status": status, "type": kind})
    };
    let reason_if_done = |mut c: Value| {
        if succeeded {
            c["reason"] = json!("PodCompleted");
        }
        c
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "resourceVersion": (2000 + index).to_string(),
            "creationTimestamp": CREATED,
            "labels": {
                "app.kubernetes.io/name": "hello-world",
                "app.kubernetes.io/instance": PARENT,
                "app.kubernetes.io/managed-by": "metacontroller",
                "hello.example.com/index": index.to_string()
            },
            "managedFields": [
                {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "metacontroller",
                 "operation": "Apply", "time": CREATED,
                 "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {}}},
                              "f:spec": {"f:containers": {"k:{\"name\":\"hello\"}": {
                                  ".": {}, "f:command": {}, "f:image": {}, "f:name": {}}},
                                         "f:restartPolicy": {}}}},
                {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet",
                 "operation": "Update", "subresource": "status", "time": "2024-05-01T10:00:09Z",
                 "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {},
                                           "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
                                           "f:podIPs": {}, "f:startTime": {}}}}
            ]
        },
        "spec": {
            "containers": [{
                "command": ["echo", "Hello, World!"],
                "image": "busybox",
                "imagePullPolicy": "Always",
                "name": "hello",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": "kube-api-access-7xk2p", "readOnly": true}]
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "nodeName": format!("worker-{}", index % 3),
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "OnFailure",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                 "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                 "operator": "Exists", "tolerationSeconds": 300}
            ],
            "volumes": [{"name": "kube-api-access-7xk2p", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                               "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                         "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}}
            ]}}]
        },
        "status": {
            "conditions": [
                reason_if_done(condition("Initialized", "True")),
                reason_if_done(condition("Ready", ready)),
                reason_if_done(condition("ContainersReady", ready)),
                condition("PodScheduled", "True")
            ],
            "containerStatuses": [{
                "containerID": container_id,
                "image": "docker.io/library/busybox:latest",
                "imageID": format!("docker.io/library/busybox@sha256:{}", hex(2)),
                "lastState": {},
                "name": "hello",
                "ready": !succeeded,
                "restartCount": 0,
                "started": !succeeded,
                "state": state
            }],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "phase": phase,
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": "BestEffort",
            "startTime": "2024-05-01T10:00:05Z"
        }
    })
}

/// SplitMix64: stable pseudo-random hex for ids, no dependency.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A request body of five shared pieces, sent one after another with an exact length (so
/// hyper sends `Content-Length`, never chunked, as metacontroller does).
#[derive(Debug)]
pub struct SplicedBody {
    chunks: [Bytes; 5],
    next: usize,
    remaining: u64,
}

impl SplicedBody {
    fn new(chunks: [Bytes; 5]) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self {
            chunks,
            next: 0,
            remaining,
        }
    }

    /// No body at all (a GET).
    pub fn empty() -> Self {
        Self::new(Default::default())
    }

    /// The body's length in bytes (what is left to send).
    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// Whether nothing is left to send.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl Body for SplicedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        while let Some(slot) = this.chunks.get_mut(this.next) {
            this.next += 1;
            let chunk = std::mem::take(slot);
            if !chunk.is_empty() {
                this.remaining -= chunk.len() as u64;
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn parse(template: &RequestTemplate, n: u64) -> Value {
        serde_json::from_slice(&template.full_body(n)).expect("valid JSON")
    }

    #[test]
    fn a_sync_request_looks_like_metacontrollers() {
        let template = RequestTemplate::new(HookKind::Sync, 3, 0xabc).expect("template");
        let request = parse(&template, 7);
        assert_eq!(request["parent"]["kind"], "HelloWorld");
        assert_eq!(request["parent"]["apiVersion"], "example.com/v1");
        assert_eq!(request["parent"]["spec"]["who"], "load-00000abc-7");
        assert_eq!(template.who(7), "load-00000abc-7");
        assert_eq!(request["parent"]["metadata"]["resourceVersion"], "1007");
        assert_eq!(request["finalizing"], false);
        assert_eq!(request["controller"]["kind"], "CompositeController");
        assert_eq!(request["related"], json!({}));
        let pods = request["children"]["Pod.v1"]
            .as_object()
            .expect("Pod.v1 map");
        assert_eq!(pods.len(), 3);
        let pod = &pods["hello-1"];
        assert_eq!(pod["metadata"]["namespace"], "default");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "HelloWorld");
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(pods["hello-0"]["status"]["phase"], "Succeeded");
        assert!(pod["metadata"]["labels"].is_object());
    }

    #[test]
    fn finalize_and_customize_requests() {
        let finalize = RequestTemplate::new(HookKind::Finalize, 1, 1).expect("template");
        let request = parse(&finalize, 0);
        assert_eq!(request["finalizing"], true);
        assert!(request["parent"]["metadata"]["deletionTimestamp"].is_string());
        let customize = RequestTemplate::new(HookKind::Customize, 5, 1).expect("template");
        let request = parse(&customize, 0);
        assert!(request.get("children").is_none());
        assert_eq!(request["parent"]["spec"]["who"], "load-00000001-0");
    }

    #[test]
    fn every_body_differs_within_a_run_and_between_runs() {
        let a = RequestTemplate::new(HookKind::Sync, 0, 1).expect("template");
        let b = RequestTemplate::new(HookKind::Sync, 0, 2).expect("template");
        let mut seen = HashSet::new();
        for n in 0..2000 {
            assert!(seen.insert(a.full_body(n)));
            assert!(seen.insert(b.full_body(n)));
        }
    }

    #[test]
    fn size_grows_by_one_realistic_pod_per_child() {
        let size = |children| {
            RequestTemplate::new(HookKind::Sync, children, 1)
                .expect("t")
                .body(0)
                .len()
        };
        let empty = size(0);
        assert!(
            empty < 4096,
            "a request without children is small: {empty} bytes"
        );
        let per_pod = (size(100) - empty) / 100;
        assert!((2500..4000).contains(&per_pod), "{per_pod} bytes per Pod");
        let thousand = size(1000);
        let expected = empty + 1000 * per_pod;
        assert!(
            thousand.abs_diff(expected) * 50 < expected,
            "{thousand} vs {expected}"
        );
    }

    #[test]
    fn the_body_streams_with_an_exact_length() {
        let template = RequestTemplate::new(HookKind::Sync, 2, 1).expect("template");
        let mut body = template.body(42);
        let length = body.len();
        assert_eq!(body.size_hint().exact(), Some(length));
        let mut streamed = Vec::new();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
            streamed.extend_from_slice(frame.data_ref().expect("data"));
        }
        assert!(body.is_end_stream());
        assert_eq!(streamed, template.full_body(42));
        assert_eq!(streamed.len() as u64, length);
    }
}
