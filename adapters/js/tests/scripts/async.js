// An async function, as metacontroller's examples write hooks.
module.exports = async function (context) {
  const observed = context.request.body;
  const name = await Promise.resolve(observed.parent.metadata.name);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
    body: { children: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }] },
  };
};
