import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { Tabs } from './tabs.tsx';

// The profile page's tabs, as a keyboard user meets them (WAI-ARIA tabs pattern).

afterEach(cleanup);

function Example() {
  const [selected, setSelected] = useState<'draft' | 'versions' | 'triggers'>('draft');
  return (
    <Tabs
      label="Profile"
      selected={selected}
      onSelect={setSelected}
      tabs={[
        { key: 'draft', label: 'Draft' },
        { key: 'versions', label: 'Versions' },
        { key: 'triggers', label: 'Triggers' },
      ]}
    >
      <p>{selected} panel</p>
    </Tabs>
  );
}

describe('tabs', () => {
  it('move with arrow keys, Home and End, keep one tab stop, and label the panel', async () => {
    const user = userEvent.setup();
    render(<Example />);
    const tab = (name: string) => screen.getByRole('tab', { name });
    expect(tab('Draft').getAttribute('aria-selected')).toBe('true');
    expect([tab('Draft'), tab('Versions'), tab('Triggers')].map((t) => t.tabIndex)).toEqual([0, -1, -1]);
    await user.click(tab('Draft'));
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement).toBe(tab('Versions'));
    expect(screen.getByRole('tabpanel', { name: 'Versions' }).textContent).toBe('versions panel');
    await user.keyboard('{End}');
    expect(tab('Triggers').getAttribute('aria-selected')).toBe('true');
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement).toBe(tab('Draft'));
    await user.keyboard('{ArrowLeft}');
    expect(document.activeElement).toBe(tab('Triggers'));
    await user.keyboard('{Home}');
    expect(screen.getByRole('tabpanel').textContent).toBe('draft panel');
  });
});
