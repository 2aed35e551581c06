// hello-world-js: metacontroller's "Hello, World!" CompositeController as a hook for
// metacontroller's nodejs server (a CommonJS module exporting a function of
// {request: {body}} that answers {status, body}). Same answers as the Rust port in
// examples/hello-world.
//
// Every HelloWorld parent (helloworlds.example.com/v1) gets one Pod, named after the
// parent, that prints "Hello, <spec.who>!" and exits. Status counts the observed Pods and
// those that succeeded. The finalize hook deletes the Pod and releases the parent once no
// Pod is left. The customize hook asks for no related resources.

const POD_GROUP = 'Pod.v1';
const DEFAULT_WHO = 'World';

// Which hook is called. hookserver's JavaScript adapter gives the URL path,
// /hooks/NAME/HOOK. metacontroller's node server gives no URL, so fall back on the
// request's shape: sync and finalize requests carry `finalizing`, customize requests
// do not.
function hookOf(request) {
  if (typeof request.url === 'string') {
    const last = request.url.split('/').pop();
    if (last === 'sync' || last === 'finalize' || last === 'customize') return last;
  }
  return 'finalizing' in request.body ? 'sync' : 'customize';
}

// A problem with the request: answered with status 500 and the message.
class BadRequest extends Error {}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Observed Pods: the values of children['Pod.v1'] (missing or null means none).
function observedPods(observed) {
  const group = isObject(observed.children) ? observed.children[POD_GROUP] : null;
  return isObject(group) ? Object.values(group) : [];
}

// Status from the observed Pods only, never the desired ones.
function status(observed) {
  const pods = observedPods(observed);
  const succeeded = pods.filter((pod) => isObject(pod.status) && pod.status.phase === 'Succeeded');
  return { pods: pods.length, succeeded: succeeded.length };
}

// spec.who, or "World" when it is absent, null or blank.
function who(parent) {
  const spec = parent.spec;
  if (spec === undefined || spec === null) return DEFAULT_WHO;
  if (!isObject(spec)) {
    throw new BadRequest(
      '`parent.spec` is not an object; a HelloWorld spec looks like {"who": "Your Name"}',
    );
  }
  const value = spec.who;
  if (value === undefined || value === null) return DEFAULT_WHO;
  if (typeof value !== 'string') {
    throw new BadRequest(
      '`parent.spec.who` is not a string; set it to the name to greet, e.g. "Your Name"',
    );
  }
  return value.trim() === '' ? DEFAULT_WHO : value;
}

// The one Pod the parent wants; metacontroller adds the labels and owner reference.
function desiredPod(parent) {
  const name = isObject(parent.metadata) ? parent.metadata.name : undefined;
  if (typeof name !== 'string' || name === '') {
    throw new BadRequest(
      '`parent.metadata.name` is missing or not a string; the parent must be a HelloWorld ' +
        'object as stored by the API server',
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'OnFailure',
      containers: [{ name: 'hello', image: 'busybox', command: ['echo', `Hello, ${who(parent)}!`] }],
    },
  };
}

function sync(observed) {
  return { status: status(observed), children: [desiredPod(observed.parent)] };
}

// No children, so metacontroller deletes the Pod; finalized once no Pod is observed.
function finalize(observed) {
  return {
    status: status(observed),
    children: [],
    finalized: observedPods(observed).length === 0,
  };
}

module.exports = async function (context) {
  const observed = context.request.body;
  if (!isObject(observed) || !isObject(observed.parent)) {
    return { status: 500, body: 'the request has no `parent` object; is this a CompositeController?' };
  }
  try {
    const hook = hookOf(context.request);
    let desired;
    if (hook === 'customize') {
      desired = { relatedResources: [] };
    } else if (hook === 'finalize' || observed.finalizing === true) {
      // A sync call with finalizing: true comes from a finalize hook pointed at sync.
      desired = finalize(observed);
    } else {
      desired = sync(observed);
    }
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: desired };
  } catch (e) {
    if (e instanceof BadRequest) return { status: 500, body: e.message };
    throw e;
  }
};
