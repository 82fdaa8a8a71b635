export * from './assignments.ts';
export * from './control.ts';
export * from './messages.ts';
export * from './sandbox.ts';
