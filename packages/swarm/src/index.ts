export * from './docker-api.js';
export * from './errors.js';
export * from './gateway-bridge.js';
export * from './labels.js';
export * from './manager-count.js';
export * from './store-keys.js';
export * from './swarm-join.js';
export * from './swarm-leave.js';
export * from './swarm-manager.js';
export * from './swarm-reconcile.js';
export * from './swarm-status.js';
export * from './token-sealing.js';

/** Version of this package. */
export const VERSION = '0.1.0';
