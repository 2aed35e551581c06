// metacontroller's CatSet (a StatefulSet clone run as a CompositeController) in Jsonnet:
// the same answers as the Rust port in examples/catset (sync and finalize).
//
// A CatSet owns Pods `<catset>-<ordinal>` and, per volume claim template, PVCs
// `<template>-<catset>-<ordinal>`:
// - Pods are created one at a time, in order: Pod N only once Pods 0..N-1 are Running
//   and Ready.
// - On scale down the highest surplus Pod goes, once Pods 0..replicas-1 are Ready; one
//   per sync.
// - PVCs exist for every ordinal below `spec.replicas` and are kept after a scale down.
// - Finalize (`finalizing` in the request) scales to zero the same way and reports
//   `finalized` once no Pod is left.
// - Status: `replicas` = observed Pods of the CatSet, `readyReplicas` = leading ordinals
//   that are Running and Ready.
//
// Jsonnet numbers are doubles: ordinals are exact up to 2^53, far beyond any real CatSet.
local hooks = import 'hooks.libsonnet';

local podType = 'Pod.v1';
local pvcType = 'PersistentVolumeClaim.v1';

// The ordinal in `name` when it is `<base>-<digits>` (leading zeros allowed), else null.
local claimOrdinal(base, name) =
  local prefix = base + '-';
  if !std.startsWith(name, prefix) then null
  else
    local digits = std.substr(name, std.length(prefix), std.length(name) - std.length(prefix));
    if hooks.isDigits(digits) then std.parseInt(digits) else null;

// The ordinal of a Pod named exactly `<catset>-<ordinal>` (no leading zeros), else null.
local podOrdinal(catset, name) =
  local ordinal = claimOrdinal(catset, name);
  if ordinal != null && name == '%s-%d' % [catset, ordinal] then ordinal else null;

// Phase Running, not being deleted, and condition Ready with status "True".
local isRunningAndReady(pod) =
  local conditions = hooks.get(pod, ['status', 'conditions']);
  local ready = if std.isArray(conditions) then [
    c
    for c in conditions
    if hooks.getString(c, ['type']) == 'Ready'
  ] else [];
  hooks.getString(pod, ['status', 'phase']) == 'Running'
  && hooks.get(pod, ['metadata', 'deletionTimestamp']) == null
  && std.length(ready) > 0 && hooks.getString(ready[0], ['status']) == 'True';

// The parent's fields the hook uses, checked in the Rust port's order.
local catsetOf(parent) =
  local name = hooks.get(parent, ['metadata', 'name']);
  local spec = hooks.get(parent, ['spec']);
  local field(key) = if std.objectHas(spec, key) then spec[key] else null;
  if !std.isString(name) || name == '' then
    error '`parent.metadata.name` is missing or not a non-empty string; the parent must be '
          + 'a CatSet as stored by the API server'
  else if !std.isObject(spec) then
    error 'CatSet %s has no `spec` object; it needs at least `spec.template` (and usually '
          % hooks.quote(name) + '`spec.replicas`, `spec.serviceName`, `spec.selector`)'
  else
    local replicas = field('replicas');
    local serviceName = field('serviceName');
    local template = field('template');
    local claimsValue = field('volumeClaimTemplates');
    local checkedReplicas =
      if replicas == null then 1
      else if std.isNumber(replicas) && replicas >= 0 && std.floor(replicas) == replicas then replicas
      else error 'CatSet %s: `spec.replicas` must be a whole number of Pods, 0 or more, got %s'
                 % [hooks.quote(name), hooks.json(replicas)];
    local checkedService =
      if serviceName == null || std.isString(serviceName) then serviceName
      else error 'CatSet %s: `spec.serviceName` must be the name of the headless Service that '
                 % hooks.quote(name) + 'governs the Pods, got %s' % hooks.json(serviceName);
    local checkedTemplate =
      if template == null || std.isObject(template) then template
      else error 'CatSet %s: `spec.template` must be a Pod template object ({"metadata": ..., '
                 % hooks.quote(name) + '"spec": ...}), got %s' % hooks.json(template);
    local claims =
      if claimsValue == null then []
      else if !std.isArray(claimsValue) then
        error 'CatSet %s: `spec.volumeClaimTemplates` must be a list of PersistentVolumeClaim '
              % hooks.quote(name) + 'templates, got %s' % hooks.json(claimsValue)
      else std.foldl(
        function(seen, index)
          local claim = claimsValue[index];
          local claimName = hooks.getString(claim, ['metadata', 'name']);
          if claimName == null || claimName == '' || !std.isObject(claim) then
            error 'CatSet %s: `spec.volumeClaimTemplates[%d]` needs a `metadata.name`; it names '
                  % [hooks.quote(name), index]
                  + 'the Pod volume and the claims (<name>-%s-<ordinal>)' % name
          else if std.member([c.name for c in seen], claimName) then
            error 'CatSet %s: two `spec.volumeClaimTemplates` are named %s; each needs its own name'
                  % [hooks.quote(name), hooks.quote(claimName)]
          else seen + [{ name: claimName, template: claim }],
        std.range(0, std.length(claimsValue) - 1),
        []
      );
    local catset = {
      name: name,
      replicas: checkedReplicas,
      serviceName: checkedService,
      template: checkedTemplate,
      claims: claims,
    };
    // Metacontroller only sees objects matching the selector as children, so every
    // template must carry every `matchLabels` label.
    local matchLabels = hooks.get(field('selector'), ['matchLabels']);
    local templates =
      [{ path: 'spec.template', template: checkedTemplate }]
      + [
        { path: 'spec.volumeClaimTemplates[%d]' % i, template: claims[i].template }
        for i in std.range(0, std.length(claims) - 1)
      ];
    local mismatches = if !std.isObject(matchLabels) then [] else [
      local labels = hooks.get(t.template, ['metadata', 'labels']);
      local present = std.isObject(labels) && std.objectHas(labels, key);
      { path: t.path, key: key, have: if present then hooks.json(labels[key]) else 'missing' }
      for t in templates
      if t.template != null
      for key in std.objectFields(matchLabels)
      if !(std.isObject(hooks.get(t.template, ['metadata', 'labels']))
           && std.objectHas(t.template.metadata.labels, key)
           && t.template.metadata.labels[key] == matchLabels[key])
    ];
    assert std.isNumber(checkedReplicas) && (checkedService == null || std.isString(checkedService))
           && (checkedTemplate == null || std.isObject(checkedTemplate)) && std.isArray(claims);
    if std.length(mismatches) > 0 then
      local m = mismatches[0];
      error 'CatSet %s: `%s.metadata.labels` must include every label of ' % [hooks.quote(name), m.path]
            + '`spec.selector.matchLabels`, but %s is %s there and %s in the selector; '
              % [hooks.quote(m.key), m.have, hooks.json(matchLabels[m.key])]
            + 'metacontroller would never see the objects made from it as children'
    else catset;

// The desired Pod for `ordinal`: the template with name, hostname, subdomain and one
// volume per claim template (replacing a template volume of the same name).
local podFor(catset, ordinal) =
  local name = '%s-%d' % [catset.name, ordinal];
  local template = catset.template;
  if template == null then
    error 'CatSet %s has no `spec.template`; Pod %s is made from it'
          % [hooks.quote(catset.name), hooks.quote(name)]
  else if !std.isObject(hooks.get(template, ['spec'])) then
    error 'CatSet %s: `spec.template.spec` is missing or not an object; it is the spec of '
          % hooks.quote(catset.name) + 'every Pod (containers, ...)'
  else
    local named = hooks.set(hooks.set(hooks.set(hooks.set(
      template, ['apiVersion'], 'v1'), ['kind'], 'Pod'), ['metadata', 'name'], name),
      ['spec', 'hostname'], name);
    local served =
      if catset.serviceName == null then named
      else hooks.set(named, ['spec', 'subdomain'], catset.serviceName);
    if std.length(catset.claims) == 0 then served
    else
      local volumes = hooks.get(served, ['spec', 'volumes']);
      local templateVolumes =
        if volumes == null then []
        else if std.isArray(volumes) then volumes
        else error 'CatSet %s: `spec.template.spec.volumes` must be a list, got %s'
                   % [hooks.quote(catset.name), hooks.json(volumes)];
      local withClaims = std.foldl(
        function(list, claim)
          [v for v in list if hooks.getString(v, ['name']) != claim.name]
          + [{ name: claim.name, persistentVolumeClaim: { claimName: '%s-%s' % [claim.name, name] } }],
        catset.claims,
        templateVolumes
      );
      hooks.set(served, ['spec', 'volumes'], withClaims);

local claimObject(name, template) =
  hooks.set(hooks.set(hooks.set(template, ['apiVersion'], 'v1'), ['kind'], 'PersistentVolumeClaim'),
            ['metadata', 'name'], name);

// One PVC per claim template and ordinal below `replicas`, then the observed ones of higher
// ordinals (kept after a scale down), by ordinal.
local claimsFor(catset, replicas, observed) = std.flattenArrays([
  local base = '%s-%s' % [claim.name, catset.name];
  local retained = std.sort([
    { ordinal: claimOrdinal(base, pvcName), name: pvcName }
    for pvcName in [hooks.getString(pvc, ['metadata', 'name']) for pvc in observed]
    if pvcName != null && claimOrdinal(base, pvcName) != null && claimOrdinal(base, pvcName) >= replicas
  ], keyF=function(r) [r.ordinal, r.name]);
  [claimObject('%s-%d' % [base, ordinal], claim.template) for ordinal in std.range(0, replicas - 1)]
  + [claimObject(r.name, claim.template) for r in retained]
  for claim in catset.claims
]);

function(request)
  local catset = catsetOf(request.parent);
  local finalizing = hooks.finalizing(request);
  // While the CatSet is being deleted it is scaled down to zero.
  local replicas = if finalizing then 0 else catset.replicas;
  local children = hooks.get(request, ['children']);

  // Observed Pods of this CatSet, by ordinal (a later key wins, as in the Rust port).
  local observed = std.foldl(
    function(byOrdinal, pod)
      local podName = hooks.getString(pod, ['metadata', 'name']);
      local ordinal = podOrdinal(catset.name, if podName == null then '' else podName);
      if ordinal == null then byOrdinal else byOrdinal + { [std.toString(ordinal)]: pod },
    hooks.group(children, podType),
    {}
  );
  local observedOrdinals = std.set([std.parseInt(k) for k in std.objectFields(observed)]);
  local has(ordinal) = std.objectHas(observed, std.toString(ordinal));

  // How many leading ordinals are Running and Ready (never more than asked for). Only
  // observed Pods can be Ready, so at most as many as were observed are looked at.
  local candidates = std.min(replicas, std.length(observedOrdinals));
  local notReady = [
    n
    for n in std.range(0, candidates - 1)
    if !(has(n) && isRunningAndReady(observed[std.toString(n)]))
  ];
  local ready = if std.length(notReady) > 0 then notReady[0] else candidates;

  // Every existing Pod stays, plus the first missing one once all lower ordinals are Ready,
  // minus the highest surplus one once all wanted Pods are Ready.
  local withNext = if ready < replicas then std.setUnion(observedOrdinals, [ready]) else observedOrdinals;
  local highest = if std.length(withNext) > 0 then withNext[std.length(withNext) - 1] else null;
  local ordinals =
    if ready == replicas && highest != null && highest >= replicas then std.setDiff(withNext, [highest])
    else withNext;

  local pods = [podFor(catset, o) for o in std.reverse(ordinals)];
  local claims = claimsFor(catset, replicas, hooks.group(children, pvcType));
  {
    status: { replicas: std.length(observedOrdinals), readyReplicas: ready },
    children: pods + claims,
  } + (if finalizing then { finalized: std.length(observedOrdinals) == 0 } else {})
