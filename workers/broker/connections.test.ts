import { describe, expect, it } from 'vitest';
import { stringField } from './connections.ts';

// A stored credential or config is parsed JSON, and the field names asked for
// may come from a profile's route: own fields only, never an inherited one.

describe('stored credential fields', () => {
  it('reads own fields only', () => {
    const credential = JSON.parse('{"api_key": "k", "__proto__": {"toString": "inherited?"}}') as Record<
      string,
      unknown
    >;
    expect(stringField(credential, 'api_key')).toBe('k');
    expect(stringField(credential, 'toString')).toBeUndefined();
    expect(stringField(credential, 'constructor')).toBeUndefined();
    expect(stringField({}, 'valueOf')).toBeUndefined();
  });
});
