export * from './root.js';
