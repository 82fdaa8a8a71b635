// Request and response schemas of the control-plane API, shared by the Worker
// (which validates with them and lists them in the OpenAPI document) and the
// dashboard (which types its calls with them).
export * from './problem.ts';
