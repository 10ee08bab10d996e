export * from './fake-consul.js';
export * from './fake-consul-bin.js';
