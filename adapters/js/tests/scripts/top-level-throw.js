function init() {
  throw new Error('top level failed');
}
init();
module.exports = async () => ({ status: 200, body: {} });
