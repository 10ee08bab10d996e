/** Version printed by `cluster-lab --version`. */
export const VERSION = '0.1.0';
