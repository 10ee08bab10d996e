export * from './fake-consul.js';
export * from './fake-consul-bin.js';
export * from './fake-consul-image.js';
