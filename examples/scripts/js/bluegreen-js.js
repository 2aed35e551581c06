// bluegreen-js: metacontroller's BlueGreenDeployment CompositeController as a hook for
// metacontroller's nodejs server. Same answers as the Rust port in examples/bluegreen.
//
// A BlueGreenDeployment owns two ReplicaSets, NAME-blue and NAME-green, and one Service
// whose selector carries `color: blue` or `color: green`: the active side. Each sync
// takes one step:
//
// 1. The active ReplicaSet runs the current Pod template: scale the inactive one to 0.
// 2. The inactive ReplicaSet runs it: scale it up to spec.replicas and, once all of its
//    Pods are available, switch the Service to it.
// 3. Neither runs it: if the inactive ReplicaSet is fully scaled down, start a rollout
//    there with the current template; otherwise scale it down first and wait.
//
// Each ReplicaSet records the template it was made from, as JSON, in an annotation,
// because the API server adds defaults to spec.template.

const TEMPLATE_ANNOTATION = 'bluegreendeployments.ctl.enisoc.com/pod-template-json';
const REPLICA_SETS = 'ReplicaSet.apps/v1';
const SERVICES = 'Service.v1';

// A problem with the request: answered with status 500 and the message.
class BadRequest extends Error {}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// object.a.b..., descending only through objects; undefined when a step is missing.
function at(object, ...path) {
  let value = object;
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

function isSet(value) {
  return value !== undefined && value !== null;
}

function copy(value) {
  return JSON.parse(JSON.stringify(value));
}

// JSON with the keys of every object sorted. It is the annotation's text (the Rust port
// writes the same bytes) and the way templates are compared: the same JSON value with
// the keys in another order is the same template.
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const fields = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

function sameJson(a, b) {
  return canonicalJson(a) === canonicalJson(b);
}

// The child of this type with this name, whatever the key style (hook v1 keys children
// by name, v2 by namespace/name).
function find(children, type, name) {
  const group = at(children, type);
  if (!isObject(group)) return undefined;
  for (const key of Object.keys(group).sort()) {
    if (at(group[key], 'metadata', 'name') === name) return group[key];
  }
  return undefined;
}

// The parts of the BlueGreenDeployment the hook uses, checked.
function readSpec(parent) {
  const name = at(parent, 'metadata', 'name');
  if (typeof name !== 'string' || name === '') {
    throw new BadRequest(
      '`parent.metadata.name` is missing or not a string; the parent must be a ' +
        'BlueGreenDeployment as stored by the API server',
    );
  }
  let replicas = at(parent, 'spec', 'replicas');
  if (!isSet(replicas)) {
    replicas = 1;
  } else if (!Number.isInteger(replicas) || replicas < 0) {
    throw new BadRequest(
      '`parent.spec.replicas` is not a whole number of at least 0; set it to the number of ' +
        'Pods to run (1 if unset)',
    );
  }
  const selector = at(parent, 'spec', 'selector');
  if (!isObject(selector)) {
    throw new BadRequest(
      '`parent.spec.selector` is missing or not an object; it must select the Pods of ' +
        '`spec.template`, e.g. {"matchLabels": {"app": "nginx"}} (the hook adds `color`)',
    );
  }
  if (isSet(selector.matchLabels) && !isObject(selector.matchLabels)) {
    throw new BadRequest('`parent.spec.selector.matchLabels` is not an object of labels');
  }
  const template = at(parent, 'spec', 'template');
  if (!isObject(template)) {
    throw new BadRequest(
      '`parent.spec.template` is missing or not an object; it must be a Pod template ' +
        '({"metadata": {"labels": ...}, "spec": {"containers": ...}})',
    );
  }
  const service = at(parent, 'spec', 'service');
  if (!isObject(service)) {
    throw new BadRequest(
      '`parent.spec.service` is missing or not an object; it must be the Service to create ' +
        '({"metadata": {"name": ...}, "spec": {"selector": ...}})',
    );
  }
  const serviceName = at(service, 'metadata', 'name');
  if (typeof serviceName !== 'string' || serviceName === '') {
    throw new BadRequest('`parent.spec.service.metadata.name` is missing or not a string');
  }
  if (!isObject(at(service, 'spec', 'selector'))) {
    throw new BadRequest(
      '`parent.spec.service.spec.selector` is missing or not an object; it must select the ' +
        'Pods of `spec.template`, e.g. {"app": "nginx"} (the hook adds `color`)',
    );
  }
  const minReadySeconds = at(parent, 'spec', 'minReadySeconds');
  return { name, replicas, minReadySeconds, selector, template, service, serviceName };
}

// The template a ReplicaSet was made from: its annotation, or, when that is missing or
// not a JSON object, its spec.template without the color label (which then includes the
// API server's defaults, never equals the parent's template, and a fresh rollout follows).
function recordedTemplate(rs) {
  const annotation = at(rs, 'metadata', 'annotations', TEMPLATE_ANNOTATION);
  if (typeof annotation === 'string') {
    try {
      const parsed = JSON.parse(annotation);
      if (isObject(parsed)) return parsed;
    } catch (e) {
      // Not JSON: fall back on spec.template.
    }
  }
  const template = at(rs, 'spec', 'template');
  if (!isObject(template)) return undefined;
  const copied = copy(template);
  if (isObject(at(copied, 'metadata', 'labels'))) delete copied.metadata.labels.color;
  return copied;
}

// What the hook reads from the observed ReplicaSet of one color, if there is one.
function observedReplicaSet(children, bgd, color) {
  const name = `${bgd.name}-${color}`;
  const rs = find(children, REPLICA_SETS, name);
  if (rs === undefined) return undefined;
  let replicas = at(rs, 'spec', 'replicas');
  if (!isSet(replicas)) {
    replicas = 1;
  } else if (!Number.isInteger(replicas)) {
    throw new BadRequest(`the observed ReplicaSet ${name} has a \`spec.replicas\` that is not a number`);
  }
  const template = recordedTemplate(rs);
  if (template === undefined) {
    throw new BadRequest(
      `the observed ReplicaSet ${name} has neither a \`${TEMPLATE_ANNOTATION}\` annotation ` +
        'nor a `spec.template`; delete it and the controller will create it again',
    );
  }
  const integer = (value) => (Number.isInteger(value) ? value : undefined);
  return {
    replicas,
    template,
    statusReplicas: integer(at(rs, 'status', 'replicas')),
    available: integer(at(rs, 'status', 'availableReplicas')) ?? 0,
    status: isSet(rs.status) ? rs.status : {},
  };
}

// Decides the next step and returns the desired [active, inactive] sides.
function step(bgd, observedColor, activeRs, inactiveRs) {
  let active = {
    color: observedColor,
    replicas: activeRs ? activeRs.replicas : bgd.replicas,
    template: activeRs ? activeRs.template : bgd.template,
  };
  let inactive = {
    color: observedColor === 'blue' ? 'green' : 'blue',
    replicas: inactiveRs ? inactiveRs.replicas : 0,
    template: inactiveRs ? inactiveRs.template : bgd.template,
  };
  const current = (rs) => rs !== undefined && sameJson(rs.template, bgd.template);
  if (current(activeRs)) {
    // Nothing to roll out: make sure the inactive side is scaled down.
    inactive.replicas = 0;
  } else if (current(inactiveRs)) {
    // The inactive side runs the new template: scale it up, and switch the Service
    // over once every replica is available.
    inactive.replicas = bgd.replicas;
    if (inactiveRs.available === bgd.replicas) [active, inactive] = [inactive, active];
  } else if (inactiveRs && inactiveRs.replicas === 0 && inactiveRs.statusReplicas === 0) {
    // Neither side runs the new template and the inactive side is empty: roll out there.
    inactive.replicas = bgd.replicas;
    inactive.template = bgd.template;
  } else {
    // Another rollout is in progress (or there is no inactive side yet): scale the
    // inactive side down and wait until it is empty.
    inactive.replicas = 0;
  }
  return [active, inactive];
}

// Adds a label, making metadata and metadata.labels objects if they are not.
function withLabel(object, key, value) {
  if (!isObject(object.metadata)) object.metadata = {};
  if (!isObject(object.metadata.labels)) object.metadata.labels = {};
  object.metadata.labels[key] = value;
  return object;
}

// spec.service, as a Service that selects `color`.
function newService(bgd, color) {
  const service = copy(bgd.service);
  service.apiVersion = 'v1';
  service.kind = 'Service';
  service.spec.selector.color = color;
  return service;
}

// The ReplicaSet of one side: the template's labels plus the color, spec.selector plus
// the color, and the template as given recorded in the annotation.
function newReplicaSet(bgd, side) {
  const template = copy(side.template);
  const labels = isObject(at(template, 'metadata', 'labels')) ? copy(template.metadata.labels) : {};
  labels.color = side.color;
  const selector = copy(bgd.selector);
  if (!isObject(selector.matchLabels)) selector.matchLabels = {};
  selector.matchLabels.color = side.color;
  const spec = { replicas: side.replicas };
  if (isSet(bgd.minReadySeconds)) spec.minReadySeconds = bgd.minReadySeconds;
  spec.selector = selector;
  spec.template = withLabel(template, 'color', side.color);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${bgd.name}-${side.color}`,
      labels,
      annotations: { [TEMPLATE_ANNOTATION]: canonicalJson(side.template) },
    },
    spec,
  };
}

function sync(observed) {
  const bgd = readSpec(observed.parent);
  const children = isObject(observed.children) ? observed.children : {};

  // The active color is the one the observed Service selects; blue until there is one.
  const selected = at(find(children, SERVICES, bgd.serviceName), 'spec', 'selector', 'color');
  const observedColor = selected === 'green' ? 'green' : 'blue';
  const otherColor = observedColor === 'blue' ? 'green' : 'blue';

  const activeRs = observedReplicaSet(children, bgd, observedColor);
  const inactiveRs = observedReplicaSet(children, bgd, otherColor);
  const status = {
    activeColor: observedColor,
    active: activeRs ? activeRs.status : {},
    inactive: inactiveRs ? inactiveRs.status : {},
  };

  const [active, inactive] = step(bgd, observedColor, activeRs, inactiveRs);
  return {
    status,
    children: [newService(bgd, active.color), newReplicaSet(bgd, active), newReplicaSet(bgd, inactive)],
  };
}

module.exports = async function (context) {
  const observed = context.request.body;
  if (!isObject(observed.parent)) {
    return { status: 500, body: 'the request has no `parent` object; is this a CompositeController?' };
  }
  try {
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: sync(observed) };
  } catch (e) {
    if (e instanceof BadRequest) return { status: 500, body: e.message };
    throw e;
  }
};
