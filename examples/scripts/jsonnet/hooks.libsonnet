// Helpers shared by the example hooks in this directory (imported by relative path,
// which hookserver and jsonnetd resolve against the importing file's directory).
//
// They read metacontroller's requests the way the Rust SDK (metahook) reads them, so
// the hooks answer exactly as their Rust ports: a missing or null field counts as absent,
// a missing or null children/attachments map or group counts as empty.
{
  // The characters Rust's `str::trim` removes (Unicode White_Space).
  local whitespace =
    '\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005'
    + '\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000',

  trim(text):: std.stripChars(text, whitespace),

  // The value at `path` (a list of field names) in `value`; null when a step is missing
  // or not an object.
  get(value, path)::
    if std.length(path) == 0 then value
    else if std.isObject(value) && std.objectHas(value, path[0]) then
      self.get(value[path[0]], path[1:])
    else null,

  // The string at `path`, or null when it is missing or not a string.
  getString(value, path)::
    local found = self.get(value, path);
    if std.isString(found) then found else null,

  // `value` with `path` set to `new`, creating (or replacing non-object) parents, as the
  // Rust SDK's `Object::set` does.
  set(value, path, new)::
    if std.length(path) == 0 then new
    else
      local base = if std.isObject(value) then value else {};
      local old = if std.objectHas(base, path[0]) then base[path[0]] else null;
      base + { [path[0]]: $.set(old, path[1:], new) },

  // The objects of one exact type key (`Pod.v1`) of a children or attachments map, in the
  // order of their keys.
  group(map, typeKey)::
    local objects =
      if std.isObject(map) && std.objectHas(map, typeKey) then map[typeKey] else null;
    if std.isObject(objects) then [objects[key] for key in std.objectFields(objects)]
    else [],

  // The objects of `kind` whatever their API version (type keys `Kind.version`).
  ofKind(map, kind)::
    if !std.isObject(map) then []
    else std.flattenArrays([
      self.group(map, key)
      for key in std.objectFields(map)
      if std.length(std.findSubstr('.', key)) > 0 && std.split(key, '.')[0] == kind
    ]),

  // A JSON value as the Rust ports print it in messages (compact JSON).
  json(value):: std.manifestJsonMinified(value),

  // A string quoted as Rust's `{:?}` quotes it (for plain text: JSON quoting).
  quote(text):: std.escapeStringJson(text),

  // Whether metacontroller called the hook while the parent is being deleted. A script is
  // served for one URL and cannot see which hook it serves, so it decides from the
  // request, as metacontroller's own Jsonnet examples do.
  finalizing(request):: std.objectHas(request, 'finalizing') && request.finalizing == true,

  // Whether the request is a customize request: metacontroller sends customize hooks only
  // `controller` and `parent`, while sync and finalize requests always carry `children`
  // (or `attachments`) and `finalizing`.
  isCustomize(request)::
    !std.objectHas(request, 'finalizing')
    && !std.objectHas(request, 'children')
    && !std.objectHas(request, 'attachments'),

  // Whether `text` is a non-empty run of ASCII digits.
  isDigits(text)::
    std.length(text) > 0 && std.all([c >= '0' && c <= '9' for c in std.stringChars(text)]),
}
