// Logs through every console method, then answers.
console.log('loading %s', 'console.js');
module.exports = async function (context) {
  console.log('log line', { n: 1 });
  console.info('info line');
  console.debug('debug line');
  console.warn('warn line');
  console.error('error line', new Error('shown with its stack'));
  return { status: 200, body: { children: [] } };
};
