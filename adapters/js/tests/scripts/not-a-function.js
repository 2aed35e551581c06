module.exports = { sync: async () => ({ status: 200, body: {} }) };
