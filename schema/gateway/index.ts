export * from './audit.ts';
export * from './broker.ts';
export * from './ingress.ts';
export * from './session.ts';
