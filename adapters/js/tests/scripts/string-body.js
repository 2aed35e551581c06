// A body that is already JSON text is sent as it is.
module.exports = async () => ({ status: 200, body: '{ "children" : [ ] , "z": 1 }' });
