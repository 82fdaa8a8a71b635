CREATE TABLE "sandbox_secrets" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"ciphertext" text NOT NULL,
	"nonce" text NOT NULL,
	"key_version" integer NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "profile_versions" ADD COLUMN "agent_version" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "profile_versions" ADD COLUMN "agent_instructions" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "profile_versions" ADD COLUMN "env_vars" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "agent_version" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "agent_runtime" "agent_runtime";--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "agent_version" text;--> statement-breakpoint
ALTER TABLE "sandbox_secrets" ADD CONSTRAINT "sandbox_secrets_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sandbox_secrets" ADD CONSTRAINT "sandbox_secrets_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sandbox_secrets_org_idx" ON "sandbox_secrets" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "sandbox_secrets_key_version_idx" ON "sandbox_secrets" USING btree ("key_version");--> statement-breakpoint
-- Versions written before CLI versions were recorded get the versions Airlock verified when
-- this shipped (ADR 0150), so every version names the CLI its next build installs. Published
-- versions are frozen; the immutability trigger steps aside for this one update only.
ALTER TABLE "profile_versions" DISABLE TRIGGER "profile_versions_published_immutable";--> statement-breakpoint
UPDATE "profile_versions" SET "agent_version" = CASE "agent_runtime" WHEN 'codex' THEN '0.169.0' WHEN 'opencode' THEN '1.18.33' WHEN 'claude-code' THEN '2.1.328' END WHERE "agent_version" = '';--> statement-breakpoint
ALTER TABLE "profile_versions" ENABLE TRIGGER "profile_versions_published_immutable";
