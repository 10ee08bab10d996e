export * from './cluster-keys.js';
export * from './cluster-secret.js';
export * from './derive-keys.js';
export * from './message-auth.js';
export * from './sealed-value.js';
export * from './secret-file.js';
export * from './security-mode.js';
