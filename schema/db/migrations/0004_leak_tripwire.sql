ALTER TYPE "public"."egress_decision" ADD VALUE 'leak_blocked';--> statement-breakpoint
ALTER TABLE "profile_versions" ADD COLUMN "stop_session_on_leak" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "leak_blocked_at" timestamp with time zone;