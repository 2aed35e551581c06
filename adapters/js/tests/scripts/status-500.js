// metacontroller's examples answer errors this way.
module.exports = async function (context) {
  try {
    context.request.body.parent.spec.missing.field;
  } catch (e) {
    return { status: 500, body: e.stack };
  }
  return { status: 200, body: {} };
};
