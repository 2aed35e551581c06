module.exports = async function (context) {
  await null;
  throw new Error('rejected on purpose');
};
