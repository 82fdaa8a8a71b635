// What the gateway suites' global setup provides (`inject('standIns')`). Types
// only, so workerd test code can import it without Node's types.

export interface StandIns {
  readonly upstreamHttp: string;
  readonly upstreamHttps: string;
  readonly oauth2: string;
  readonly github: {
    readonly url: string;
    readonly appId: string;
    readonly installationId: string;
    /** The App's key as GitHub hands it out (PKCS#1 PEM). */
    readonly privateKeyPem: string;
    /** A key GitHub does not know for this App. */
    readonly impostorPem: string;
    /** GET → `{ issuedTokens, requests }`. */
    readonly state: string;
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    standIns: StandIns;
  }
}
