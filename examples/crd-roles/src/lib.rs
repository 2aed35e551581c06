//! metacontroller's `crd-roles` example as a DecoratorController hook: a cluster-scoped
//! parent (a CustomResourceDefinition) with a cluster-scoped attachment (a ClusterRole).
//!
//! Every CRD annotated with `enable-default-roles` gets a ClusterRole `CRD_NAME-reader`
//! that may `get`, `list` and `watch` the CRD's resources.
//!
//! Hook version v1. Parent and attachment are both cluster-scoped, so metacontroller keys
//! the observed ClusterRole by its name (in v1 and v2 alike).

use metahook::{DecoratorHooks, DecoratorRequest, DecoratorResponse, Object, Result};
use serde_json::{Value, json};

/// The annotation that opts a CRD in (matched by the controller's selector).
pub const ANNOTATION: &str = "enable-default-roles";
/// What the reader role may do with the CRD's resources.
pub const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

/// Kubernetes object names are at most 253 characters long.
const MAX_NAME_LEN: usize = 253;
const SUFFIX: &str = "-reader";

/// The `crd-roles` hook: `sync` only, as in the original.
pub fn hooks() -> DecoratorHooks {
    DecoratorHooks::new().sync(sync)
}

/// The reader ClusterRole of the CRD.
///
/// The controller has no finalize hook, so the garbage collector deletes the ClusterRole
/// with its CRD. If a finalize hook is pointed at this `sync` anyway (`finalizing: true`),
/// the answer deletes the ClusterRole and reports `finalized` once it is gone.
pub fn sync(request: &DecoratorRequest) -> Result<DecoratorResponse> {
    if request.finalizing {
        let remaining = request.attachments.count("ClusterRole");
        return Ok(DecoratorResponse::new(Vec::new()).finalized(remaining == 0));
    }
    Ok(DecoratorResponse::new(vec![reader_role(&request.object)?]))
}

/// `CRD_NAME-reader`: `get`, `list` and `watch` on `spec.names.plural` in `spec.group`.
/// Works for `apiextensions.k8s.io/v1` and `v1beta1` CRDs alike.
pub fn reader_role(crd: &Object) -> Result<Object> {
    let name = crd.name();
    if name.is_empty() {
        return Err(
            "the CustomResourceDefinition has no `metadata.name`; the request's \
                    `object` must be a CRD as stored by the API server"
                .into(),
        );
    }
    let group = required_str(crd, "spec.group")?;
    let plural = required_str(crd, "spec.names.plural")?;
    let role_name = format!("{name}{SUFFIX}");
    if role_name.len() > MAX_NAME_LEN {
        return Err(format!(
            "CustomResourceDefinition {name}: the ClusterRole name `{role_name}` would be longer \
             than {MAX_NAME_LEN} characters"
        )
        .into());
    }
    Ok(
        Object::new("rbac.authorization.k8s.io/v1", "ClusterRole", &role_name).with(
            "rules",
            json!([{"apiGroups": [group], "resources": [plural], "verbs": READ_VERBS}]),
        ),
    )
}

/// A string field of the CRD that must be set and not blank.
fn required_str<'a>(crd: &'a Object, path: &str) -> Result<&'a str> {
    match crd.get(path) {
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(value),
        None | Some(Value::Null) => Err(format!(
            "CustomResourceDefinition {}: `{path}` is missing",
            crd.name()
        )
        .into()),
        Some(other) => Err(format!(
            "CustomResourceDefinition {}: `{path}` must be a non-empty string, got {other}",
            crd.name()
        )
        .into()),
    }
}
