module.exports = async () => {
  try {
    require('./no-such-file');
  } catch (e) {
    return { status: 200, body: { children: [], status: { code: e.code, message: e.message } } };
  }
};
