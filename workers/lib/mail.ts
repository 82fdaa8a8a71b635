import type { Config } from '@airlock/config';
import type { Logger } from './log.ts';

// Outgoing mail (login codes, invites). `http` posts Resend-compatible JSON
// ({from, to, subject, text}) with a Bearer key — production, local dev and
// tests all use it (locally against the mail sink). `console` prints the
// message and exists for development only: config refuses it in production.

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export class MailError extends Error {}

const TIMEOUT_MS = 10_000;

export function createMailer(config: Config, log: Logger): Mailer {
  const mail = config.mail;
  const from = `${mail.from_name} <${mail.from}>`;
  if (mail.provider === 'console') {
    return {
      async send(message) {
        // Development only: this prints the message body (login codes included) on purpose.
        console.log(`[mail] to ${message.to}: ${message.subject}\n${message.text}`);
      },
    };
  }
  const endpoint = mail.http_endpoint;
  const key = mail.http_api_key;
  if (endpoint === undefined || key === undefined)
    throw new MailError('mail.http_endpoint and http_api_key are required');
  return {
    async send(message) {
      let response: Response;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ from, to: [message.to], subject: message.subject, text: message.text }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        log.warn('mail delivery failed', { reason: error instanceof Error ? error.name : 'unknown' });
        throw new MailError('the mail service did not answer');
      }
      if (!response.ok) {
        await response.body?.cancel();
        log.warn('mail delivery refused', { status: response.status });
        throw new MailError(`the mail service answered ${response.status}`);
      }
      await response.body?.cancel();
    },
  };
}
