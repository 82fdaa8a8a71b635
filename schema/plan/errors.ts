// Coded errors of the plan compiler and the profile checks. The API maps them
// to problem+json (422 for a draft's issues, 409 when a published version can
// no longer compile, e.g. a connection was revoked).

export const PlanErrorCode = {
  VERSION_NOT_PUBLISHED: 'VERSION_NOT_PUBLISHED',
  CONNECTION_MISSING: 'CONNECTION_MISSING',
  CONNECTION_NOT_ACTIVE: 'CONNECTION_NOT_ACTIVE',
  UNKNOWN_INTEGRATION: 'UNKNOWN_INTEGRATION',
  INVALID_CONNECTION_CONFIG: 'INVALID_CONNECTION_CONFIG',
  KIND_MISMATCH: 'KIND_MISMATCH',
  MODEL_CONNECTION_REQUIRED: 'MODEL_CONNECTION_REQUIRED',
  RUNTIME_INCOMPATIBLE: 'RUNTIME_INCOMPATIBLE',
  GIT_CONNECTION_REQUIRED: 'GIT_CONNECTION_REQUIRED',
  DUPLICATE_BINDING: 'DUPLICATE_BINDING',
  ROUTE_CONFLICT: 'ROUTE_CONFLICT',
  PASSTHROUGH_CONFLICT: 'PASSTHROUGH_CONFLICT',
  ENV_CONFLICT: 'ENV_CONFLICT',
  WORKSPACE_CONFLICT: 'WORKSPACE_CONFLICT',
  INVALID_HOST: 'INVALID_HOST',
  INVALID_AGENT_VERSION: 'INVALID_AGENT_VERSION',
  INVALID_ENV: 'INVALID_ENV',
  RESERVED_ENV: 'RESERVED_ENV',
  SECRET_IN_PLAIN_ENV: 'SECRET_IN_PLAIN_ENV',
  INSECURE_UPSTREAM: 'INSECURE_UPSTREAM',
} as const;
export type PlanErrorCode = (typeof PlanErrorCode)[keyof typeof PlanErrorCode];

export interface PlanIssue {
  readonly code: PlanErrorCode;
  /** Dotted path of the profile-version field at fault, e.g. `modelConnectionId`, `repositories.0`. */
  readonly path: string;
  readonly message: string;
}

export class PlanCompileError extends Error {
  readonly code: PlanErrorCode;
  readonly issues: readonly PlanIssue[];
  constructor(issues: readonly [PlanIssue, ...PlanIssue[]]) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'PlanCompileError';
    this.code = issues[0].code;
    this.issues = issues;
  }
}
