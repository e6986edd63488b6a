ALTER TYPE "public"."dashboard_shard_kind" ADD VALUE 'statistics';--> statement-breakpoint
ALTER TYPE "public"."dashboard_shard_kind" ADD VALUE 'examples';--> statement-breakpoint
ALTER TABLE "dashboard_shard" ADD COLUMN "part" "bytea";