// drizzle-kit settings: `pnpm db:generate` writes a new migration into
// schema/db/migrations after a change to schema/db/tables.
export default {
  dialect: 'postgresql',
  schema: './schema/db/tables/*.ts',
  out: './schema/db/migrations',
  casing: 'snake_case',
  strict: true,
  verbose: false,
};
