// An explicit Promise with a chain of reactions, and what the context carries.
module.exports = function (context) {
  return new Promise((resolve) => resolve(context.request))
    .then((request) => ({
      method: request.method,
      url: request.url,
      contentType: request.headers['content-type'],
      finalizing: request.body.finalizing,
    }))
    .then((seen) => ({ status: 200, body: { children: [], status: seen } }));
};
