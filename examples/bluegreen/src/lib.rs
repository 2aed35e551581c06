//! Hook logic for the `bluegreen` example: a Rust port of metacontroller's
//! BlueGreenDeployment CompositeController.
//!
//! A `BlueGreenDeployment` (`bluegreendeployments.ctl.enisoc.com/v1`) owns two
//! ReplicaSets, `<name>-blue` and `<name>-green`, and one Service whose selector
//! carries `color: blue` or `color: green`. The color the Service selects is the
//! *active* side; the other is the *inactive* side. Each sync takes one step:
//!
//! 1. The active ReplicaSet runs the current Pod template: scale the inactive one to 0.
//! 2. The inactive ReplicaSet runs the current template: scale it up to `spec.replicas`,
//!    and once all of them are available, switch the Service to it (the old side is
//!    scaled down at the next sync, by step 1).
//! 3. Neither runs it: if the inactive ReplicaSet is fully scaled down, start a rollout
//!    there with the current template; otherwise scale it down first (this cancels a
//!    rollout of an older template) and wait.
//!
//! Which template a ReplicaSet runs is recorded, as JSON, in its
//! [`TEMPLATE_ANNOTATION`] annotation, because the API server adds defaults to
//! `spec.template`.

use metahook::{CompositeHooks, CompositeRequest, CompositeResponse, Object, ObjectMap, Result};
use serde_json::{Map, Value, json};

/// The annotation in which each ReplicaSet records the Pod template it was made from.
pub const TEMPLATE_ANNOTATION: &str = "bluegreendeployments.ctl.enisoc.com/pod-template-json";

/// Type key of the ReplicaSet children.
pub const REPLICA_SETS: &str = "ReplicaSet.apps/v1";

/// Type key of the Service child.
pub const SERVICES: &str = "Service.v1";

/// The label (on ReplicaSets and Pods) and Service selector key that holds the color.
pub const COLOR_LABEL: &str = "color";

/// The hook program: this controller only has a `sync` hook.
pub fn hooks() -> CompositeHooks {
    CompositeHooks::new().sync(sync)
}

/// One of the two sides of a BlueGreenDeployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Blue,
    Green,
}

impl Color {
    pub fn as_str(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }

    /// `blue` or `green`; anything else is not a color of this controller.
    pub fn parse(value: &str) -> Option<Color> {
        match value {
            "blue" => Some(Color::Blue),
            "green" => Some(Color::Green),
            _ => None,
        }
    }
}

/// The `sync` hook: status from the observed children, then one step of the rollout.
pub fn sync(request: &CompositeRequest) -> Result<CompositeResponse> {
    let bgd = Spec::read(&request.parent)?;

    // The active color is the one the observed Service selects; until there is a
    // Service (or if its color is not one of ours), it is blue.
    let observed_color = find(&request.children, SERVICES, bgd.service_name)
        .and_then(|service| service.get_str("spec.selector.color"))
        .and_then(Color::parse)
        .unwrap_or(Color::Blue);

    let active_rs = Observed::find(&request.children, &bgd, observed_color)?;
    let inactive_rs = Observed::find(&request.children, &bgd, observed_color.other())?;

    let status = json!({
        "activeColor": observed_color.as_str(),
        "active": active_rs.as_ref().map_or_else(|| json!({}), Observed::status),
        "inactive": inactive_rs.as_ref().map_or_else(|| json!({}), Observed::status),
    });

    let (active, inactive) = step(
        &bgd,
        observed_color,
        active_rs.as_ref(),
        inactive_rs.as_ref(),
    );
    let children = vec![
        bgd.service(active.color),
        bgd.replica_set(&active),
        bgd.replica_set(&inactive),
    ];
    Ok(CompositeResponse::new(children).with_status(status))
}

/// What one side should look like after this sync.
struct Desired {
    color: Color,
    replicas: i64,
    /// The Pod template as written in the parent (without the color label).
    template: Value,
}

/// Decides the next step of the rollout and returns the desired `(active, inactive)`
/// sides; the Service selects the active one's color.
fn step(
    bgd: &Spec,
    observed_color: Color,
    active_rs: Option<&Observed>,
    inactive_rs: Option<&Observed>,
) -> (Desired, Desired) {
    // By default each side keeps what it has; a missing active side is created at full
    // scale and a missing inactive side at zero, both from the current template.
    let mut active = Desired {
        color: observed_color,
        replicas: active_rs.map_or(bgd.replicas, |rs| rs.replicas),
        template: active_rs.map_or_else(|| bgd.template.clone(), |rs| rs.template.clone()),
    };
    let mut inactive = Desired {
        color: observed_color.other(),
        replicas: inactive_rs.map_or(0, |rs| rs.replicas),
        template: inactive_rs.map_or_else(|| bgd.template.clone(), |rs| rs.template.clone()),
    };

    let current = |rs: &&Observed| rs.template == *bgd.template;
    if active_rs.filter(current).is_some() {
        // Nothing to roll out: make sure the inactive side is scaled down.
        inactive.replicas = 0;
    } else if let Some(rs) = inactive_rs.filter(current) {
        // The inactive side already runs the new template: scale it up, and switch
        // the Service over once every replica is available.
        inactive.replicas = bgd.replicas;
        if rs.available == bgd.replicas {
            std::mem::swap(&mut active, &mut inactive);
        }
    } else if inactive_rs.is_some_and(|rs| rs.replicas == 0 && rs.status_replicas == Some(0)) {
        // Neither side runs the new template and the inactive side is empty: start
        // a rollout there.
        inactive.replicas = bgd.replicas;
        inactive.template = bgd.template.clone();
    } else {
        // Another rollout is in progress (or the inactive side does not exist yet):
        // scale the inactive side down and wait until it is empty.
        inactive.replicas = 0;
    }
    (active, inactive)
}

/// The parts of a BlueGreenDeployment the hook uses, checked.
struct Spec<'a> {
    name: &'a str,
    replicas: i64,
    min_ready_seconds: Option<&'a Value>,
    selector: &'a Map<String, Value>,
    template: &'a Value,
    service: &'a Map<String, Value>,
    service_name: &'a str,
}

impl<'a> Spec<'a> {
    fn read(parent: &'a Object) -> Result<Self> {
        let name = parent
            .get_str("metadata.name")
            .filter(|name| !name.is_empty())
            .ok_or(
                "`parent.metadata.name` is missing or not a string; the parent must be a \
                 BlueGreenDeployment as stored by the API server",
            )?;
        let replicas = match parent.get("spec.replicas") {
            None | Some(Value::Null) => 1,
            Some(value) => value.as_i64().filter(|n| *n >= 0).ok_or(
                "`parent.spec.replicas` is not a whole number of at least 0; set it to the \
                 number of Pods to run (1 if unset)",
            )?,
        };
        let min_ready_seconds = parent.get("spec.minReadySeconds").filter(|v| !v.is_null());
        let selector = parent
            .get("spec.selector")
            .and_then(Value::as_object)
            .ok_or(
                "`parent.spec.selector` is missing or not an object; it must select the \
                 Pods of `spec.template`, e.g. {\"matchLabels\": {\"app\": \"nginx\"}} (the \
                 hook adds `color`)",
            )?;
        if !matches!(
            selector.get("matchLabels"),
            None | Some(Value::Null | Value::Object(_))
        ) {
            return Err("`parent.spec.selector.matchLabels` is not an object of labels".into());
        }
        let template = parent
            .get("spec.template")
            .filter(|t| t.is_object())
            .ok_or(
                "`parent.spec.template` is missing or not an object; it must be a Pod \
                 template ({\"metadata\": {\"labels\": ...}, \"spec\": {\"containers\": ...}})",
            )?;
        let service = parent
            .get("spec.service")
            .and_then(Value::as_object)
            .ok_or(
                "`parent.spec.service` is missing or not an object; it must be the Service \
                 to create ({\"metadata\": {\"name\": ...}, \"spec\": {\"selector\": ...}})",
            )?;
        let service_name = service
            .get("metadata")
            .and_then(|metadata| metadata.get("name"))
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or("`parent.spec.service.metadata.name` is missing or not a string")?;
        if !service
            .get("spec")
            .and_then(|spec| spec.get("selector"))
            .is_some_and(Value::is_object)
        {
            return Err(
                "`parent.spec.service.spec.selector` is missing or not an object; it \
                        must select the Pods of `spec.template`, e.g. {\"app\": \"nginx\"} \
                        (the hook adds `color`)"
                    .into(),
            );
        }
        Ok(Spec {
            name,
            replicas,
            min_ready_seconds,
            selector,
            template,
            service,
            service_name,
        })
    }

    fn replica_set_name(&self, color: Color) -> String {
        format!("{}-{}", self.name, color.as_str())
    }

    /// `spec.service`, as a Service that selects `color`.
    fn service(&self, color: Color) -> Object {
        Object(self.service.clone())
            .with("apiVersion", "v1")
            .with("kind", "Service")
            .with("spec.selector.color", color.as_str())
    }

    /// The ReplicaSet of one side. Its labels are the template's plus the color, its
    /// selector is `spec.selector` plus the color, and its annotation records the
    /// template as given.
    fn replica_set(&self, side: &Desired) -> Object {
        let color = side.color.as_str();
        let template = Object(side.template.as_object().cloned().unwrap_or_default());
        let mut labels = template
            .get("metadata.labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        labels.insert(COLOR_LABEL.to_string(), color.into());
        let selector = Object(self.selector.clone()).with("matchLabels.color", color);
        let recorded = side.template.to_string();

        let mut rs = Object::new("apps/v1", "ReplicaSet", &self.replica_set_name(side.color))
            .with("metadata.labels", labels)
            .with_annotation(TEMPLATE_ANNOTATION, &recorded)
            .with("spec.replicas", side.replicas);
        if let Some(seconds) = self.min_ready_seconds {
            rs.set("spec.minReadySeconds", seconds.clone());
        }
        rs.with("spec.selector", selector.into_value()).with(
            "spec.template",
            template.with_label(COLOR_LABEL, color).into_value(),
        )
    }
}

/// What the hook reads from an observed ReplicaSet.
struct Observed<'a> {
    object: &'a Object,
    /// `spec.replicas` (the API server defaults it to 1).
    replicas: i64,
    /// The Pod template it was made from.
    template: Value,
    /// `status.replicas`, when the ReplicaSet controller has reported it.
    status_replicas: Option<i64>,
    /// `status.availableReplicas` (omitted by the API server when 0).
    available: i64,
}

impl<'a> Observed<'a> {
    fn find(children: &'a ObjectMap, bgd: &Spec, color: Color) -> Result<Option<Self>> {
        let name = bgd.replica_set_name(color);
        let Some(object) = find(children, REPLICA_SETS, &name) else {
            return Ok(None);
        };
        let replicas = match object.get("spec.replicas") {
            None | Some(Value::Null) => 1,
            Some(value) => value.as_i64().ok_or_else(|| {
                format!("the observed ReplicaSet {name} has a `spec.replicas` that is not a number")
            })?,
        };
        Ok(Some(Observed {
            object,
            replicas,
            template: recorded_template(object).ok_or_else(|| {
                format!(
                    "the observed ReplicaSet {name} has neither a `{TEMPLATE_ANNOTATION}` \
                     annotation nor a `spec.template`; delete it and the controller will \
                     create it again"
                )
            })?,
            status_replicas: object.get_i64("status.replicas"),
            available: object.get_i64("status.availableReplicas").unwrap_or(0),
        }))
    }

    fn status(&self) -> Value {
        match self.object.get("status") {
            Some(status) if !status.is_null() => status.clone(),
            _ => json!({}),
        }
    }
}

/// The template a ReplicaSet was made from: its annotation, or, if that is missing
/// or not a JSON object, its `spec.template` without the color label (which then
/// includes the API server's defaults, so it never equals the parent's template and
/// a fresh rollout follows).
fn recorded_template(rs: &Object) -> Option<Value> {
    let annotated = rs
        .annotation(TEMPLATE_ANNOTATION)
        .and_then(|json| serde_json::from_str::<Value>(json).ok())
        .filter(Value::is_object);
    if annotated.is_some() {
        return annotated;
    }
    let mut template = rs.get("spec.template")?.as_object()?.clone();
    if let Some(Value::Object(labels)) = template
        .get_mut("metadata")
        .and_then(|metadata| metadata.get_mut("labels"))
    {
        labels.remove(COLOR_LABEL);
    }
    Some(Value::Object(template))
}

/// The child of one exact type with this name, whatever the key style (hook v1 keys
/// children by name, v2 by `namespace/name`).
fn find<'a>(children: &'a ObjectMap, type_key: &str, name: &str) -> Option<&'a Object> {
    children
        .of_type(type_key)
        .find(|child| child.name() == name)
}
