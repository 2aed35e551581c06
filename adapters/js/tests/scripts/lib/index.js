// Resolved from lib/, so '../settings.json' is the file beside the entry script.
const settings = require('../settings.json');
module.exports = { label: () => settings.label };
