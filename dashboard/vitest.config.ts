import react from '@vitejs/plugin-react';
import { defineProject } from 'vitest/config';

// Component tests: real components in happy-dom with @testing-library/react;
// what they fetch or connect to is a real local server, never a mock.
export default defineProject({
  plugins: [react()],
  test: {
    name: 'dashboard',
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    testTimeout: 20_000,
  },
});
