// pod-name-label, a DecoratorController sync hook in the form jsonnetd serves: every Pod
// that carries the `pod-name-label` annotation gets a label, under the key the annotation
// names, holding the Pod's own name. A Pod without the annotation is left as it is.
// Mirrors the `pod-name-label` hook of examples/service-per-pod.
local annotation = 'pod-name-label';
local blank = ' \t\n\r';

function(request)
  local pod = request.object;
  local metadata = if std.objectHas(pod, 'metadata') && pod.metadata != null then pod.metadata else {};
  local name = if std.objectHas(metadata, 'name') && metadata.name != null then metadata.name else '';
  local annotations =
    if std.objectHas(metadata, 'annotations') && metadata.annotations != null then metadata.annotations else {};
  local key = if std.objectHas(annotations, annotation) then annotations[annotation] else null;
  if key == null then
    { attachments: [] }
  else if !std.isString(key) then
    error 'Pod %s: annotation `%s` must be a string' % [name, annotation]
  else if std.stripChars(key, blank) == '' then
    error 'Pod %s: annotation `%s` is empty; set it to the key of the label that should hold the Pod\'s name, such as "pod-name"' % [name, annotation]
  else if name == '' then
    error "the Pod has no `metadata.name`; the request's `object` must be a Pod as stored by the API server"
  else
    { labels: { [std.stripChars(key, blank)]: name }, attachments: [] }
