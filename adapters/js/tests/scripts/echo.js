// Answers with the parent's name: the smallest nodejs-server hook.
module.exports = async (context) => ({
  status: 200,
  body: { children: [], status: { seen: context.request.body.parent.metadata.name } },
});
