module.exports = () => Promise.reject('a plain string reason');
