#!/usr/bin/env node
'use strict';
module.exports = async () => ({ status: 200, body: { children: [], status: { strict: (function () { return this === undefined; })() } } });
