// metacontroller's "Hello, World!" CompositeController in Jsonnet: the same answers as the
// Rust port in examples/hello-world (sync, finalize and customize).
//
// Every HelloWorld parent gets one Pod, named after it, that prints `Hello, <spec.who>!`.
// While the parent is being deleted, the hook asks for no Pod and reports `finalized`
// once none is left. The status counts the observed Pods and those that succeeded.
//
// One script answers every hook URL, so it tells them apart by the request: `finalizing`
// selects finalize, and a request without `children` and `finalizing` is a customize
// request.
local hooks = import 'hooks.libsonnet';

local defaultWho = 'World';

// `spec.who`, or "World" when the spec or `who` is absent, null or blank.
local who(parent) =
  local spec = hooks.get(parent, ['spec']);
  if spec == null then defaultWho
  else if !std.isObject(spec) then
    error '`parent.spec` is not an object; a HelloWorld spec looks like {"who": "Your Name"}'
  else
    local who = hooks.get(spec, ['who']);
    if who == null then defaultWho
    else if !std.isString(who) then
      error '`parent.spec.who` is not a string; set it to the name to greet, e.g. "Your Name"'
    else if hooks.trim(who) == '' then defaultWho
    else who;

// The one Pod the parent wants; metacontroller adds the owner reference and labels.
local desiredPod(parent) =
  local name = hooks.getString(parent, ['metadata', 'name']);
  if name == null || name == '' then
    error '`parent.metadata.name` is missing or not a string; the parent must be a '
          + 'HelloWorld object as stored by the API server'
  else {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: name },
    spec: {
      restartPolicy: 'OnFailure',
      containers: [{
        name: 'hello',
        image: 'busybox',
        command: ['echo', 'Hello, %s!' % who(parent)],
      }],
    },
  };

function(request)
  if hooks.isCustomize(request) then
    // This controller needs no related resources.
    { relatedResources: [] }
  else
    local pods = hooks.group(hooks.get(request, ['children']), 'Pod.v1');
    local status = {
      pods: std.length(pods),
      succeeded: std.length([p for p in pods if hooks.getString(p, ['status', 'phase']) == 'Succeeded']),
    };
    if hooks.finalizing(request) then
      { status: status, children: [], finalized: std.length(pods) == 0 }
    else
      { status: status, children: [desiredPod(request.parent)] }
