module.exports = async () => {
  const _ = require('lodash');
  return { status: 200, body: { children: [] } };
};
