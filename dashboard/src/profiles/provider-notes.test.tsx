import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderNote } from './provider-notes.tsx';

// Next to the provider choice, what that provider's isolation does not stop (ADR 0160).

afterEach(cleanup);

describe('provider notes', () => {
  it('say what E2B does not stop, and that Modal is not available yet', () => {
    render(<ProviderNote provider="e2b" />);
    const note = screen.getByRole('status').textContent ?? '';
    expect(note).toMatch(/DNS lookups/);
    expect(note).toMatch(/domain fronting/);
    cleanup();
    render(<ProviderNote provider="modal" />);
    expect(screen.getByRole('status').textContent).toMatch(/not available/);
  });

  it('add nothing for Docker, whose sandboxes have no network at all', () => {
    const { container } = render(<ProviderNote provider="docker" />);
    expect(container.textContent).toBe('');
  });
});
