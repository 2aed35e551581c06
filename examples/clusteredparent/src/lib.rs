//! metacontroller's `clusteredparent` example as a DecoratorController hook: a
//! cluster-scoped parent (a ClusterRole) with a namespaced attachment (a RoleBinding).
//!
//! Every ClusterRole annotated with `default-service-account-binding` is bound to the
//! `default` ServiceAccount of the `default` namespace by a RoleBinding named after the
//! ClusterRole, in the `default` namespace. The annotation's value is not read.
//!
//! Hook version v1. The parent is cluster-scoped and the RoleBinding namespaced, so
//! metacontroller keys the observed RoleBinding `default/NAME` (in v1 and v2 alike).

use metahook::{DecoratorHooks, DecoratorRequest, DecoratorResponse, Object, Result};
use serde_json::json;

/// The annotation that opts a ClusterRole in (matched by the controller's selector).
pub const ANNOTATION: &str = "default-service-account-binding";
/// Where the RoleBinding goes and which ServiceAccount it binds: `default/default`.
pub const NAMESPACE: &str = "default";
pub const SERVICE_ACCOUNT: &str = "default";

const RBAC_API_VERSION: &str = "rbac.authorization.k8s.io/v1";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The `clusteredparent` hook: `sync` only, as in the original.
pub fn hooks() -> DecoratorHooks {
    DecoratorHooks::new().sync(sync)
}

/// One RoleBinding for the ClusterRole.
///
/// The controller has no finalize hook, so the garbage collector deletes the RoleBinding
/// with its ClusterRole. If a finalize hook is pointed at this `sync` anyway
/// (`finalizing: true`), the answer deletes the RoleBinding and reports `finalized` once
/// it is gone, rather than keeping it and blocking the deletion forever.
pub fn sync(request: &DecoratorRequest) -> Result<DecoratorResponse> {
    if request.finalizing {
        let remaining = request.attachments.count("RoleBinding");
        return Ok(DecoratorResponse::new(Vec::new()).finalized(remaining == 0));
    }
    let name = request.object.name();
    if name.is_empty() {
        return Err(
            "the ClusterRole has no `metadata.name`; the request's `object` must be \
                    a ClusterRole as stored by the API server"
                .into(),
        );
    }
    Ok(DecoratorResponse::new(vec![role_binding(name)]))
}

/// The RoleBinding `default/NAME` that grants ClusterRole `NAME` to the `default`
/// ServiceAccount of the `default` namespace. The namespace must be set: metacontroller
/// cannot take it from a cluster-scoped parent.
pub fn role_binding(cluster_role: &str) -> Object {
    Object::new(RBAC_API_VERSION, "RoleBinding", cluster_role)
        .with_namespace(NAMESPACE)
        .with(
            "subjects",
            json!([{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]),
        )
        .with(
            "roleRef",
            json!({"kind": "ClusterRole", "name": cluster_role, "apiGroup": RBAC_GROUP}),
        )
}
