CREATE TYPE "public"."delivery_source" AS ENUM('github', 'slack', 'generic', 'schedule', 'redelivery', 'test');--> statement-breakpoint
CREATE TYPE "public"."report_status" AS ENUM('pending', 'sent', 'failed', 'skipped');--> statement-breakpoint
CREATE TYPE "public"."turn_status" AS ENUM('queued', 'running', 'succeeded', 'failed');--> statement-breakpoint
ALTER TYPE "public"."delivery_status" ADD VALUE 'deduped' BEFORE 'ignored';--> statement-breakpoint
ALTER TYPE "public"."delivery_status" ADD VALUE 'filtered' BEFORE 'ignored';--> statement-breakpoint
ALTER TYPE "public"."delivery_status" ADD VALUE 'rejected' BEFORE 'failed';--> statement-breakpoint
CREATE TABLE "session_turns" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"n" integer NOT NULL,
	"prompt" text NOT NULL,
	"status" "turn_status" DEFAULT 'queued' NOT NULL,
	"source_key" text,
	"delivery_id" text,
	"output" text DEFAULT '' NOT NULL,
	"answer" text,
	"exit_code" integer,
	"pushed" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "trigger_conversations" (
	"id" text PRIMARY KEY NOT NULL,
	"trigger_id" text NOT NULL,
	"org_id" text NOT NULL,
	"thread_key" text NOT NULL,
	"session_id" text,
	"claimed_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_message_at" timestamp with time zone
);
--> statement-breakpoint
DROP INDEX "trigger_deliveries_delivery_key";--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ALTER COLUMN "delivery_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "conversational" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "source" "delivery_source" NOT NULL;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "claims_delivery_id" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "summary" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "payload" jsonb;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "rendered_prompt" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "session_id" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "turn" integer;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "duplicate_of" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "redelivery_of" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "attributed_to" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "attribution_note" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "report_status" "report_status";--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "report_detail" text;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "reported_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "trigger_deliveries" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "previous_secret_ciphertext" text;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "previous_secret_nonce" text;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "previous_secret_key_version" integer;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "previous_secret_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "next_run_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "consecutive_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "triggers" ADD COLUMN "paused_reason" text;--> statement-breakpoint
ALTER TABLE "session_turns" ADD CONSTRAINT "session_turns_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_conversations" ADD CONSTRAINT "trigger_conversations_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_conversations" ADD CONSTRAINT "trigger_conversations_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "session_turns_n_key" ON "session_turns" USING btree ("session_id","n");--> statement-breakpoint
CREATE UNIQUE INDEX "session_turns_source_key" ON "session_turns" USING btree ("session_id","source_key");--> statement-breakpoint
CREATE UNIQUE INDEX "trigger_conversations_thread_key" ON "trigger_conversations" USING btree ("trigger_id","thread_key");--> statement-breakpoint
CREATE INDEX "trigger_deliveries_trigger_idx" ON "trigger_deliveries" USING btree ("trigger_id","created_at","id");--> statement-breakpoint
CREATE INDEX "trigger_deliveries_received_idx" ON "trigger_deliveries" USING btree ("created_at") WHERE "trigger_deliveries"."status" = 'received';--> statement-breakpoint
CREATE INDEX "triggers_due_idx" ON "triggers" USING btree ("next_run_at") WHERE "triggers"."kind" = 'schedule' and "triggers"."enabled";--> statement-breakpoint
CREATE UNIQUE INDEX "trigger_deliveries_delivery_key" ON "trigger_deliveries" USING btree ("trigger_id","delivery_id") WHERE "trigger_deliveries"."claims_delivery_id";