export { main, VERSION } from './program.js';
