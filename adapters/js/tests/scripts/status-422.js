module.exports = async () => ({ status: 422, body: { reason: 'parent.spec.replicas is negative' } });
