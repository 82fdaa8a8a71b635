import { describe, expect, it } from 'vitest';
import { parseGithub } from './sources/github.ts';
import { githubSample } from './sources/samples.ts';
import { renderPrompt, templateProblem } from './template.ts';
import { templateVariables } from './variables.ts';

// A prompt injection in an issue body aimed at the template engine, and
// templates that try to reach outside their data: event values are printed as
// text, never rendered again; no partials, no prototype walks, bounded output.

function issueWithBody(body: string) {
  const payload = githubSample('issues.opened', { repository: 'acme/widgets' })?.payload as {
    issue: { body: string };
  };
  payload.issue.body = body;
  const parsed = parseGithub('issues', payload);
  if (parsed.ok !== true) throw new Error('sample does not parse');
  return templateVariables(
    { id: 'trg_x', name: 't', kind: 'webhook' },
    { deliveryId: 'd', receivedAt: new Date(0) },
    parsed.value,
    null,
  );
}

describe('prompt templates against hostile events', () => {
  it('print Liquid found in an issue body as text', async () => {
    const body = "{{ trigger.id }} {% for x in (1..100000000) %}x{% endfor %} {% include 'secrets' %}";
    const out = await renderPrompt('Fix: {{ issue.body }}', issueWithBody(body));
    expect(out).toEqual({ ok: true, prompt: `Fix: ${body}` });
  });

  it('cannot walk prototypes or read what the variables do not hold', async () => {
    const out = await renderPrompt(
      '[{{ issue.constructor }}][{{ issue.__proto__ }}][{{ issue.body.length }}][{{ env }}][{{ secrets }}]',
      issueWithBody('abc'),
    );
    expect(out).toEqual({ ok: true, prompt: '[][][3][][]' });
  });

  it('refuse partials and unknown filters, and stop runaway templates', async () => {
    expect(templateProblem("{% include 'x' %}")).toBeNull(); // parses…
    expect((await renderPrompt("{% include 'x' %}", {})).ok).toBe(false); // …but finds nothing to include
    expect((await renderPrompt('{{ x | evil }}', {})).ok).toBe(false);
    const bomb = await renderPrompt('{% for i in (1..100000000) %}{{ i }}{% endfor %}', {});
    expect(bomb.ok).toBe(false);
    const long = await renderPrompt('{{ issue.body }}', issueWithBody('y'.repeat(16_000)));
    expect(long.ok && long.prompt.length).toBeLessThanOrEqual(32_768);
  });
});
