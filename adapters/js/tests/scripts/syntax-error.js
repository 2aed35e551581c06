// A syntax error on line 3.
module.exports = async function (context) {
  let x = ;
};
