// service-per-pod-js: metacontroller's service-per-pod DecoratorController as a hook for
// metacontroller's nodejs server. Same answers as the Rust port's `service-per-pod`
// binary (examples/service-per-pod/src/main.rs); its `pod-name-label` binary is not
// ported here.
//
// Every StatefulSet annotated with `service-per-pod-label` (the key of the Pod label that
// holds the Pod's name) and `service-per-pod-ports` (PORT:TARGET_PORT pairs) gets one
// Service per Pod, NAME-0 .. NAME-(replicas-1), each selecting its Pod. The finalize hook
// (the StatefulSet is deleted or opts out) removes the Services and releases the
// StatefulSet once none is left.

const LABEL_ANNOTATION = 'service-per-pod-label';
const PORTS_ANNOTATION = 'service-per-pod-ports';

// A problem with the request: answered with status 500 and the message.
class BadRequest extends Error {}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// hookserver's adapter gives /hooks/NAME/HOOK; the node server gives no URL, and then
// only the request's `finalizing` tells finalize from sync.
function isFinalize(context) {
  const url = context.request.url;
  return typeof url === 'string' && url.split('/').pop() === 'finalize';
}

// "Kind namespace/name", for messages.
function describe(object) {
  const kind = typeof object.kind === 'string' && object.kind !== '' ? object.kind : 'object';
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  return typeof metadata.namespace === 'string'
    ? `${kind} ${metadata.namespace}/${name}`
    : `${kind} ${name}`;
}

// An annotation that must be set to a non-blank string; returned trimmed.
function requiredAnnotation(object, key, expected) {
  const annotations = isObject(object.metadata) ? object.metadata.annotations : undefined;
  const value = isObject(annotations) ? annotations[key] : undefined;
  if (value === undefined || value === null) {
    throw new BadRequest(`${describe(object)}: annotation \`${key}\` is missing; set it to ${expected}`);
  }
  if (typeof value !== 'string') {
    throw new BadRequest(
      `${describe(object)}: annotation \`${key}\` must be a string, got ${JSON.stringify(value)}`,
    );
  }
  if (value.trim() === '') {
    throw new BadRequest(`${describe(object)}: annotation \`${key}\` is empty; set it to ${expected}`);
  }
  return value.trim();
}

// A port number from 1 to 65535, written with digits only; else null.
function portNumber(text) {
  if (!/^[0-9]+$/.test(text)) return null;
  const number = Number(text);
  return number >= 1 && number <= 65535 ? number : null;
}

// A container port name: 1 to 15 lowercase letters, digits and single inner hyphens,
// with at least one letter.
function isPortName(text) {
  return /^[a-z0-9-]{1,15}$/.test(text) && /[a-z]/.test(text) &&
    !text.startsWith('-') && !text.endsWith('-') && !text.includes('--');
}

// `PORT:TARGET_PORT` pairs separated by commas; `PORT` alone means PORT:PORT; the target
// may be a container port name. Blank entries are skipped.
function parsePorts(text) {
  const ports = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const colon = entry.indexOf(':');
    const [portText, targetText] = colon < 0
      ? [entry, entry]
      : [entry.slice(0, colon), entry.slice(colon + 1)];
    const port = portNumber(portText.trim());
    if (port === null) {
      throw new Error(`${JSON.stringify(entry)}: the port must be a number from 1 to 65535`);
    }
    const target = targetText.trim();
    let targetPort = portNumber(target);
    if (targetPort === null) {
      if (!isPortName(target)) {
        throw new Error(
          `${JSON.stringify(entry)}: the target port must be a number from 1 to 65535 or a ` +
            'container port name',
        );
      }
      targetPort = target;
    }
    if (ports.some((p) => p.port === port)) throw new Error(`port ${port} is listed twice`);
    ports.push({ name: `port-${port}`, port, targetPort });
  }
  if (ports.length === 0) {
    throw new Error(
      `lists no ports (${JSON.stringify(text)}); a Service needs at least one, such as "80:8080"`,
    );
  }
  return ports;
}

// spec.replicas; missing or null is 1, the API server's default.
function replicas(statefulset) {
  const value = isObject(statefulset.spec) ? statefulset.spec.replicas : undefined;
  if (value === undefined || value === null) return 1;
  if (!Number.isInteger(value) || value < 0 || value > 2147483647) {
    throw new BadRequest(
      `${describe(statefulset)}: \`spec.replicas\` must be a whole number from 0 to ` +
        `2147483647, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

// The Services the StatefulSet asks for with its annotations.
function desiredServices(statefulset) {
  const name = isObject(statefulset.metadata) ? statefulset.metadata.name : undefined;
  if (typeof name !== 'string' || name === '') {
    throw new BadRequest(
      "the StatefulSet has no `metadata.name`; the request's `object` must be a StatefulSet " +
        'as stored by the API server',
    );
  }
  const labelKey = requiredAnnotation(
    statefulset,
    LABEL_ANNOTATION,
    'a Pod label key, such as "statefulset.kubernetes.io/pod-name"',
  );
  const portsText = requiredAnnotation(
    statefulset,
    PORTS_ANNOTATION,
    'comma-separated PORT:TARGET_PORT pairs, such as "80:8080,443:8443"',
  );
  let ports;
  try {
    ports = parsePorts(portsText);
  } catch (e) {
    throw new BadRequest(`${describe(statefulset)}: annotation \`${PORTS_ANNOTATION}\`: ${e.message}`);
  }
  const count = replicas(statefulset);
  const services = [];
  for (let index = 0; index < count; index++) {
    const pod = `${name}-${index}`;
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: pod, labels: { app: 'service-per-pod' } },
      spec: { selector: { [labelKey]: pod }, ports: ports.map((p) => ({ ...p })) },
    });
  }
  return services;
}

// Observed attachments of kind Service, whatever their version and key style.
function observedServices(observed) {
  const attachments = observed.attachments ?? observed.children;
  if (!isObject(attachments)) return 0;
  let count = 0;
  for (const [type, group] of Object.entries(attachments)) {
    if (type.split('.')[0] === 'Service' && type.includes('.') && isObject(group)) {
      count += Object.keys(group).length;
    }
  }
  return count;
}

module.exports = async function (context) {
  const observed = context.request.body;
  // Hook v2 requests may say `parent` for the object.
  const statefulset = observed.object ?? observed.parent;
  if (!isObject(statefulset)) {
    return { status: 500, body: 'the request has no `object`; is this a DecoratorController?' };
  }
  try {
    const desired = isFinalize(context) || observed.finalizing === true
      ? { attachments: [], finalized: observedServices(observed) === 0 }
      : { attachments: desiredServices(statefulset) };
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: desired };
  } catch (e) {
    if (e instanceof BadRequest) return { status: 500, body: e.message };
    throw e;
  }
};
