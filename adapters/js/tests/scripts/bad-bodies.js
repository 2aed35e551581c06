// The body comes from the request's `kind` field, to test each bad body in one script.
const bodies = {
  array: [],
  null: null,
  missing: undefined,
  number: 5,
  notJson: 'not json',
  jsonArray: '[1]',
};
module.exports = async (context) => {
  const kind = context.request.body.kind;
  if (kind === 'bare') return { children: [] };
  return { status: 200, body: bodies[kind] };
};
