export * from './constants';
export * from './varnum';
export * from './payload';
export * from './buffer-pool';
export * from './encoder';
export * from './decoder';
