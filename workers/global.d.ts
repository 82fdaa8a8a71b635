// Tells `cloudflare:workers` (env, exports) what this Worker's bindings and
// main module are, for handlers and for the tests that run inside workerd.
import type { Env as AirlockEnv } from './lib/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends AirlockEnv {}
    interface GlobalProps {
      mainModule: typeof import('./index.ts');
    }
  }
}
