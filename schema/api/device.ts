import { z } from 'zod';
import { ApiToken } from './auth.ts';
import { IdOf, Timestamp } from './common.ts';

// Device-code login for the CLI (RFC 8628 semantics, ADR 0170): the CLI asks
// for a code pair, shows the user code, and polls with the device code while
// the user approves the user code in the dashboard, choosing the org the
// resulting API token acts in.

/** Letters that cannot be misread or spell much (RFC 8628 §6.1): 20^8 ≈ 2^34.6 codes. */
export const DEVICE_USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const DEVICE_USER_CODE_LENGTH = 8;

/** `BCDFGHJK` → `BCDF-GHJK`, as the CLI and the dashboard show it. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * A user code as a person types it: case, spaces and dashes do not matter. Parsed once into the
 * canonical 8 letters.
 */
export const DeviceUserCode = z
  .string()
  .max(32)
  .transform((raw) => raw.toUpperCase().replace(/[\s-]/g, ''))
  .pipe(
    z
      .string()
      .regex(
        new RegExp(`^[${DEVICE_USER_CODE_ALPHABET}]{${DEVICE_USER_CODE_LENGTH}}$`),
        'the 8-letter code the CLI shows, like BCDF-GHJK',
      ),
  );

/**
 * Text a client shows about itself on the approval page and in the token's name: no control
 * characters (ANSI escapes, newlines), no invisible or direction-override formatting characters
 * (U+202E can make the page read otherwise than it says), no line separators.
 */
const shownText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .regex(
      /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u,
      'printable characters only (no control or formatting characters)',
    );

/** What the CLI says about itself; shown to the approver as the client describes itself. */
export const DeviceClientInfo = z.strictObject({
  name: shownText(40).min(1).default('airlock CLI'),
  version: shownText(40).optional(),
  hostname: shownText(100).optional(),
  platform: shownText(40).optional(),
});

export const DeviceAuthorizationRequest = z
  .strictObject({ client: DeviceClientInfo.optional() })
  .meta({ id: 'DeviceAuthorizationRequest' });

export const DeviceAuthorization = z
  .object({
    /** Secret: the CLI polls with it. */
    deviceCode: z.string(),
    /** Shown to the user, who enters or confirms it in the dashboard (`XXXX-XXXX`). */
    userCode: z.string(),
    verificationUri: z.string(),
    /** The same page with the code filled in. */
    verificationUriComplete: z.string(),
    /** Seconds to wait between polls. */
    interval: z.number().int(),
    expiresIn: z.number().int(),
  })
  .meta({ id: 'DeviceAuthorization' });

export const DeviceTokenRequest = z
  .strictObject({ deviceCode: z.string().min(16).max(128) })
  .meta({ id: 'DeviceTokenRequest' });

/** RFC 8628 §3.5 outcomes other than success, in a 400 problem+json's `error`. */
export const DEVICE_TOKEN_ERRORS = [
  'authorization_pending',
  'slow_down',
  'access_denied',
  'expired_token',
  'invalid_grant',
] as const;
export type DeviceTokenErrorCode = (typeof DEVICE_TOKEN_ERRORS)[number];

export const DeviceTokenGranted = z
  .object({
    /** The API token (`alk_…`), in this response only. */
    token: z.string(),
    apiToken: ApiToken,
    orgId: IdOf('org'),
    email: z.string(),
  })
  .meta({ id: 'DeviceTokenGranted' });

export const DeviceUserCodeInput = z
  .strictObject({ userCode: DeviceUserCode })
  .meta({ id: 'DeviceUserCode' });

export const DeviceApproval = z
  .strictObject({ userCode: DeviceUserCode, orgId: z.string().min(1).max(64) })
  .meta({ id: 'DeviceApproval' });

/** What the approver sees before deciding: who asked, from where, when (code phishing defence). */
export const DeviceRequestInfo = z
  .object({
    userCode: z.string(),
    client: z.object({
      name: z.string(),
      version: z.string().nullable(),
      hostname: z.string().nullable(),
      platform: z.string().nullable(),
    }),
    /** The address the request came from, as the server saw it. */
    requestIp: z.string(),
    requestUserAgent: z.string().nullable(),
    /** The approver's own address now: a mismatch is worth a second look. */
    yourIp: z.string(),
    sameIp: z.boolean(),
    createdAt: Timestamp,
    expiresAt: Timestamp,
    /** What approving grants: an API token acting as the approver in the chosen org, for this long. */
    tokenExpiresInDays: z.number().int(),
  })
  .meta({ id: 'DeviceRequestInfo' });

export const DeviceDecision = z
  .object({ decision: z.enum(['approved', 'denied']), orgId: z.string().nullable() })
  .meta({ id: 'DeviceDecision' });

export type DeviceAuthorization = z.infer<typeof DeviceAuthorization>;
export type DeviceTokenGranted = z.infer<typeof DeviceTokenGranted>;
export type DeviceRequestInfo = z.infer<typeof DeviceRequestInfo>;
export type DeviceClientInfo = z.input<typeof DeviceClientInfo>;
