// a requires b, which requires a back and sees a's exports so far (node's behaviour).
exports.early = 'set before requiring b';
const b = require('./cycle-b');
module.exports = async () => ({ status: 200, body: { children: [], status: { b: b.sawA } } });
