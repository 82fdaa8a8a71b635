import type { z } from 'zod';
import type { CredentialSource } from '../plan/types.ts';

// The broker's RPC surface (a WorkerEntrypoint reached only through a service
// binding, ADR 0001). Plans carry connection ids; the broker turns them into
// credentials at request time. Results are values with codes, never thrown,
// and error messages never contain secret material.

export interface CredentialRequest {
  readonly orgId: string;
  readonly connectionId: string;
  readonly source: z.infer<typeof CredentialSource>;
  /** `secret`: which field of the credential object to use. */
  readonly field?: string | undefined;
  /** `github_app`: repositories (`owner/name` or `name`) the token is scoped to. */
  readonly repositories?: readonly string[] | undefined;
}

export const BROKER_ERRORS = [
  'CONNECTION_NOT_FOUND',
  'CONNECTION_NOT_ACTIVE',
  'CREDENTIAL_INVALID',
  'PROVIDER_REJECTED',
  'PROVIDER_UNREACHABLE',
  'MISCONFIGURED',
] as const;
export type BrokerErrorCode = (typeof BROKER_ERRORS)[number];

export type CredentialResult =
  | {
      readonly ok: true;
      readonly value: string;
      /** ms since the epoch; null when the credential does not expire (a stored secret). */
      readonly expiresAt: number | null;
    }
  | { readonly ok: false; readonly code: BrokerErrorCode; readonly message: string };

export interface SignRequest {
  readonly orgId: string;
  readonly namespace: string;
  /** SHA-512 of the message (SSHSIG hashes the message first; the payload never leaves the gateway). */
  readonly sha512: Uint8Array;
}

export type SignResult =
  | {
      readonly ok: true;
      /** `-----BEGIN SSH SIGNATURE-----` armored, as `ssh-keygen -Y sign` writes it. */
      readonly signature: string;
      readonly publicKey: string;
      readonly keyId: string;
    }
  | { readonly ok: false; readonly code: BrokerErrorCode; readonly message: string };

export interface SigningKeyInfo {
  readonly keyId: string;
  /** OpenSSH public key line (`ssh-ed25519 AAAA… airlock:org_…`). */
  readonly publicKey: string;
}

export interface BrokerRpc {
  resolve(request: CredentialRequest): Promise<CredentialResult>;
  /** Mint a fresh short-lived credential, uncached: only a connection's ConnectionTokens calls it. */
  mint(request: CredentialRequest): Promise<CredentialResult>;
  sign(request: SignRequest): Promise<SignResult>;
  signingKey(orgId: string): Promise<SigningKeyInfo>;
}
