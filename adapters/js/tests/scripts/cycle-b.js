exports.sawA = require('./cycle-a').early;
