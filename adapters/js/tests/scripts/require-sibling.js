// Requires a sibling file (without extension), a JSON file and a folder's index.js;
// the helpers require each other by paths relative to themselves.
const util = require('./util');
const settings = require('./settings.json');
const lib = require('./lib');
module.exports = async function (context) {
  return {
    status: 200,
    body: {
      children: [],
      status: {
        greeting: util.greet(context.request.body.parent.metadata.name),
        replicas: settings.replicas,
        label: lib.label(),
        sameModule: require('./util.js') === util,
        thisIsExports: util.thisIsExports,
        dirname: __dirname === module.path,
      },
    },
  };
};
