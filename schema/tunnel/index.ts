export * from './codec.ts';
export * from './messages.ts';
