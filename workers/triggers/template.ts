import { Liquid } from 'liquidjs';

// Prompt templates are Liquid (`{{ issue.title }}`, `{% if comment %}…{% endif %}`,
// filters such as `truncate`): an interpreter with no code execution, no file
// access (no partials) and limits on parse size, render time and memory. Event
// values are data: a payload holding `{{ … }}` or `{% … %}` is printed as
// text, never rendered again (ADR 0140).

/** Sessions accept prompts up to this many characters. */
export const PROMPT_MAX = 32_768;

const engine = new Liquid({
  strictFilters: true,
  strictVariables: false,
  ownPropertyOnly: true,
  jsTruthy: false,
  // No partials: `{% include %}`, `{% render %}` and layouts find nothing.
  templates: {},
  relativeReference: false,
  parseLimit: 16_384,
  renderLimit: 200,
  memoryLimit: 8 * 1024 * 1024,
});

export type Rendered =
  | { readonly ok: true; readonly prompt: string }
  | { readonly ok: false; readonly error: string };

/** Render `template` against `variables`; errors are values (a bad template is the trigger's problem). */
export async function renderPrompt(template: string, variables: Record<string, unknown>): Promise<Rendered> {
  let out: string;
  try {
    out = String(await engine.parseAndRender(template, variables));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Liquid's messages quote the template line, never the variables' values.
    return { ok: false, error: `template: ${message.split('\n')[0]?.slice(0, 300) ?? 'failed'}` };
  }
  const prompt = out.trim();
  if (prompt === '') return { ok: false, error: 'template: rendered an empty prompt' };
  return {
    ok: true,
    prompt:
      prompt.length > PROMPT_MAX
        ? `${prompt.slice(0, PROMPT_MAX - 40)}\n…(prompt cut at ${PROMPT_MAX} characters)`
        : prompt,
  };
}

/** Check a template parses (for create and update); null when it does. */
export function templateProblem(template: string): string | null {
  try {
    engine.parse(template);
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.split('\n')[0]?.slice(0, 300) ?? 'the template does not parse';
  }
}
