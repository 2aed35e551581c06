module.exports = function (context) {
  throw new TypeError('the hook broke on purpose');
};
