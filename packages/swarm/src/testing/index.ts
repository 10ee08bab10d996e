export * from './fake-docker-api.js';
