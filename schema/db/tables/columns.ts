import { text, timestamp } from 'drizzle-orm/pg-core';

/** Prefixed text primary key (see schema/ids.ts). */
export const pk = () => text('id').primaryKey();
export const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const createdAt = () => at('created_at').notNull().defaultNow();
export const updatedAt = () => at('updated_at').notNull().defaultNow();
