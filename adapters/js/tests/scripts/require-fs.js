const fs = require('fs');
module.exports = async () => ({ status: 200, body: { children: [] } });
