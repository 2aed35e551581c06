// metacontroller's service-per-pod DecoratorController in Jsonnet: the same answers as the
// `service-per-pod` hook of the Rust port in examples/service-per-pod (its src/main.rs;
// the crate's other binary, `pod-name-label`, is a separate controller).
//
// sync: one Service per Pod of a StatefulSet annotated with `service-per-pod-label` (the
// Pod label that holds the Pod's name) and `service-per-pod-ports` (PORT:TARGET pairs).
// finalize (the StatefulSet is deleted or opts out): no Services, `finalized` once none is
// observed. The script sees no hook name; `finalizing` in the request selects finalize.
local hooks = import 'hooks.libsonnet';

local labelAnnotation = 'service-per-pod-label';
local portsAnnotation = 'service-per-pod-ports';

// `Kind namespace/name`, for messages.
local describe(object) =
  local kind = hooks.getString(object, ['kind']);
  local name = hooks.getString(object, ['metadata', 'name']);
  local namespace = hooks.getString(object, ['metadata', 'namespace']);
  (if kind == null || kind == '' then 'object' else kind) + ' '
  + (if namespace == null then '' else namespace + '/')
  + (if name == null then '' else name);

// An annotation that must be present, a string and not blank; returned trimmed.
local requiredAnnotation(object, key, expected) =
  local annotations = hooks.get(object, ['metadata', 'annotations']);
  local value = hooks.get(annotations, [key]);
  if value == null then
    error '%s: annotation `%s` is missing; set it to %s' % [describe(object), key, expected]
  else if !std.isString(value) then
    error '%s: annotation `%s` must be a string, got %s' % [describe(object), key, hooks.json(value)]
  else if hooks.trim(value) == '' then
    error '%s: annotation `%s` is empty; set it to %s' % [describe(object), key, expected]
  else hooks.trim(value);

// A port number from 1 to 65535 written in digits, or null.
local portNumber(text) =
  if !hooks.isDigits(text) then null
  else
    local number = std.parseInt(text);
    if number >= 1 && number <= 65535 then number else null;

// A container port name: 1 to 15 lowercase letters, digits and single inner hyphens, with
// at least one letter.
local isPortName(text) =
  local chars = std.stringChars(text);
  std.length(text) >= 1 && std.length(text) <= 15
  && std.all([(c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' for c in chars])
  && std.any([c >= 'a' && c <= 'z' for c in chars])
  && chars[0] != '-' && chars[std.length(chars) - 1] != '-'
  && std.length(std.findSubstr('--', text)) == 0;

// One `PORT[:TARGET]` entry: `{ port: <Service port> }` or `{ problem: <why> }`. (Errors are
// returned, not raised, so the caller can name the object first, as the Rust port does.)
local parsePort(entry) =
  local colon = std.findSubstr(':', entry);
  local portText = if std.length(colon) == 0 then entry else std.substr(entry, 0, colon[0]);
  local targetText = hooks.trim(
    if std.length(colon) == 0 then entry
    else std.substr(entry, colon[0] + 1, std.length(entry) - colon[0] - 1)
  );
  local port = portNumber(hooks.trim(portText));
  local targetNumber = portNumber(targetText);
  if port == null then
    { problem: '%s: the port must be a number from 1 to 65535' % hooks.quote(entry) }
  else if targetNumber == null && !isPortName(targetText) then
    {
      problem: '%s: the target port must be a number from 1 to 65535 or a container port name'
             % hooks.quote(entry),
    }
  else {
    port: {
      name: 'port-%d' % port,
      port: port,
      targetPort: if targetNumber != null then targetNumber else targetText,
    },
  };

// The `service-per-pod-ports` annotation: entries separated by commas, blank ones ignored,
// read in order up to the first problem. `{ ports: [...] }` or `{ problem: <why> }`.
local parsePorts(text) =
  local entries = [hooks.trim(e) for e in std.split(text, ',') if hooks.trim(e) != ''];
  local step(acc, entry) =
    if std.objectHas(acc, 'problem') then acc
    else
      local parsed = parsePort(entry);
      if std.objectHas(parsed, 'problem') then parsed
      else if std.member([p.port for p in acc.ports], parsed.port.port) then
        { problem: 'port %d is listed twice' % parsed.port.port }
      else { ports: acc.ports + [parsed.port] };
  local result = std.foldl(step, entries, { ports: [] });
  if std.objectHas(result, 'problem') then result
  else if std.length(result.ports) == 0 then
    { problem: 'lists no ports (%s); a Service needs at least one, such as "80:8080"' % hooks.quote(text) }
  else result;

// `spec.replicas`; missing or null is 1, the API server's default.
local replicas(statefulset) =
  local value = hooks.get(statefulset, ['spec', 'replicas']);
  if value == null then 1
  else if std.isNumber(value) && value >= 0 && value <= 2147483647 && std.floor(value) == value then
    value
  else
    error '%s: `spec.replicas` must be a whole number from 0 to 2147483647, got %s'
          % [describe(statefulset), hooks.json(value)];

// The Services the StatefulSet asks for.
local desiredServices(statefulset) =
  local name = hooks.getString(statefulset, ['metadata', 'name']);
  if name == null || name == '' then
    error 'the StatefulSet has no `metadata.name`; the request\'s `object` must be a '
          + 'StatefulSet as stored by the API server'
  else
    local labelKey = requiredAnnotation(
      statefulset, labelAnnotation, 'a Pod label key, such as "statefulset.kubernetes.io/pod-name"'
    );
    local portsText = requiredAnnotation(
      statefulset, portsAnnotation, 'comma-separated PORT:TARGET_PORT pairs, such as "80:8080,443:8443"'
    );
    local parsed = parsePorts(portsText);
    local ports =
      if std.objectHas(parsed, 'problem') then
        error '%s: annotation `%s`: %s' % [describe(statefulset), portsAnnotation, parsed.problem]
      else parsed.ports;
    local count = replicas(statefulset);
    // Report problems in the Rust port's order: label, ports, replicas.
    assert std.isString(labelKey) && std.isArray(ports) && std.isNumber(count);
    [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: pod, labels: { app: 'service-per-pod' } },
        spec: { selector: { [labelKey]: pod }, ports: ports },
      }
      for pod in ['%s-%d' % [name, index] for index in std.range(0, count - 1)]
    ];

function(request)
  // Hook version v2 requests may spell `object`/`attachments` as `parent`/`children`.
  local object = if std.objectHas(request, 'object') then request.object else request.parent;
  local attachments =
    if std.objectHas(request, 'attachments') then request.attachments
    else hooks.get(request, ['children']);
  if hooks.finalizing(request) then
    { attachments: [], finalized: std.length(hooks.ofKind(attachments, 'Service')) == 0 }
  else
    { attachments: desiredServices(object) }
