import { z } from 'zod';
import { Email, IdOf, Name, Timestamp } from './common.ts';
import { ROLES } from './enums.ts';

export const Org = z
  .object({
    id: IdOf('org'),
    name: z.string(),
    slug: z.string(),
    createdAt: Timestamp,
    /** The caller's role in this org. */
    role: z.enum(ROLES),
  })
  .meta({ id: 'Org' });

export const Slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes (2-63)');

export const CreateOrg = z.strictObject({ name: Name, slug: Slug }).meta({ id: 'CreateOrg' });
export const UpdateOrg = z.strictObject({ name: Name }).meta({ id: 'UpdateOrg' });

export const Member = z
  .object({
    id: IdOf('mbr'),
    userId: IdOf('usr'),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(ROLES),
    createdAt: Timestamp,
  })
  .meta({ id: 'Member' });

export const UpdateMember = z.strictObject({ role: z.enum(ROLES) }).meta({ id: 'UpdateMember' });

export const Invite = z
  .object({
    id: IdOf('inv'),
    email: z.string(),
    role: z.enum(ROLES),
    invitedBy: z.string().nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'Invite' });

/** The invite is accepted when that address next logs in. */
export const CreateInvite = z
  .strictObject({ email: Email, role: z.enum(ROLES) })
  .meta({ id: 'CreateInvite' });

export type Org = z.infer<typeof Org>;
export type CreateOrg = z.infer<typeof CreateOrg>;
export type UpdateOrg = z.infer<typeof UpdateOrg>;
export type Member = z.infer<typeof Member>;
export type UpdateMember = z.infer<typeof UpdateMember>;
export type Invite = z.infer<typeof Invite>;
export type CreateInvite = z.infer<typeof CreateInvite>;
