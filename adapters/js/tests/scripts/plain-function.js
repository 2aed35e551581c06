// Not async and no promise: the answer itself.
module.exports = (context) => ({ status: 200, body: { relatedResources: [] } });
