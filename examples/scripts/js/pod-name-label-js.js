// pod-name-label, a DecoratorController sync hook in the style of metacontroller's nodejs
// server: every Pod that carries the `pod-name-label` annotation gets a label, under the
// key the annotation names, holding the Pod's own name. A Pod without the annotation is
// left as it is. Mirrors the `pod-name-label` hook of examples/service-per-pod.
const ANNOTATION = 'pod-name-label';

module.exports = async function (context) {
  const pod = context.request.body.object || {};
  const metadata = pod.metadata || {};
  const name = metadata.name || '';
  const key = (metadata.annotations || {})[ANNOTATION];
  if (key === undefined || key === null) {
    return { status: 200, body: { attachments: [] } };
  }
  if (typeof key !== 'string') {
    return { status: 500, body: `Pod ${name}: annotation \`${ANNOTATION}\` must be a string` };
  }
  if (key.trim() === '') {
    return {
      status: 500,
      body: `Pod ${name}: annotation \`${ANNOTATION}\` is empty; set it to the key of the label ` +
        'that should hold the Pod\'s name, such as "pod-name"',
    };
  }
  if (name === '') {
    return {
      status: 500,
      body: "the Pod has no `metadata.name`; the request's `object` must be a Pod as stored by the API server",
    };
  }
  return { status: 200, body: { labels: { [key.trim()]: name }, attachments: [] } };
};
