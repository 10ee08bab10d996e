export * from './busybox-image.js';
export * from './cleanup-stale.js';
export * from './create-lab.js';
export * from './destroy-lab.js';
export * from './dockerd.js';
export * from './fault-injection.js';
export * from './host-snapshot.js';
export * from './lab.js';
export * from './lab-node.js';
export * from './lab-paths.js';
export * from './lab-state.js';
export * from './open-lab.js';
export * from './vm/run-in-vm.js';
export * from './vm/vm-image.js';

/** Version of this package. */
export const VERSION = '0.1.0';
