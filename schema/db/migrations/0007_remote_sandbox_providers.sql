ALTER TABLE "profile_versions" ADD COLUMN "provider_connection_id" text;--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "sandbox_ref" text;--> statement-breakpoint
ALTER TABLE "profile_versions" ADD CONSTRAINT "profile_versions_provider_connection_id_connections_id_fk" FOREIGN KEY ("provider_connection_id") REFERENCES "public"."connections"("id") ON DELETE restrict ON UPDATE no action;