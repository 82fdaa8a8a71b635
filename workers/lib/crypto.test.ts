import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { describe, expect, it } from 'vitest';
import { SealError, Sealer } from './crypto.ts';

const base = configFromWorkerEnv(env).integrations;
const key = (fill: number) => btoa(String.fromCharCode(...new Uint8Array(32).fill(fill)));

describe('Sealer (AES-256-GCM, versioned master keys)', () => {
  it('round-trips and never stores the plaintext', async () => {
    const sealer = new Sealer(base);
    const sealed = await sealer.seal('sk-live-very-secret', 'con_1');
    expect(sealed.keyVersion).toBe(base.active_master_key_version);
    expect(sealed.ciphertext).not.toContain('very-secret');
    expect(atob(sealed.ciphertext)).not.toContain('very-secret');
    expect(await sealer.open(sealed, 'con_1')).toBe('sk-live-very-secret');
  });

  it('uses a fresh nonce every time', async () => {
    const sealer = new Sealer(base);
    const a = await sealer.seal('same', 'con_1');
    const b = await sealer.seal('same', 'con_1');
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('rejects a tampered ciphertext and a ciphertext moved to another row', async () => {
    const sealer = new Sealer(base);
    const sealed = await sealer.seal('secret', 'con_1');
    const bytes = Uint8Array.from(atob(sealed.ciphertext), (c) => c.charCodeAt(0));
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const tampered = { ...sealed, ciphertext: btoa(String.fromCharCode(...bytes)) };
    await expect(sealer.open(tampered, 'con_1')).rejects.toMatchObject({ code: 'tampered' });
    await expect(sealer.open(sealed, 'con_2')).rejects.toBeInstanceOf(SealError);
  });

  it('opens old versions after rotation and reseals them with the active key', async () => {
    const v1 = new Sealer({ active_master_key_version: 1, master_keys: { '1': key(1) } });
    const sealed = await v1.seal('rotate me', 'con_r');
    const v2 = new Sealer({ active_master_key_version: 2, master_keys: { '1': key(1), '2': key(2) } });
    expect(await v2.open(sealed, 'con_r')).toBe('rotate me');
    const resealed = await v2.reseal(sealed, 'con_r');
    expect(resealed.keyVersion).toBe(2);
    expect(await v2.open(resealed, 'con_r')).toBe('rotate me');
    expect(await v2.reseal(resealed, 'con_r')).toBe(resealed);
    const v2only = new Sealer({ active_master_key_version: 2, master_keys: { '2': key(2) } });
    expect(await v2only.open(resealed, 'con_r')).toBe('rotate me');
    await expect(v2only.open(sealed, 'con_r')).rejects.toMatchObject({ code: 'unknown_key_version' });
  });
});
