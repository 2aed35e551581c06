exports.greet = (name) => `Hello, ${name}!`;
// At a module's top level, `this` is its exports, as in node.
exports.thisIsExports = this === exports;
