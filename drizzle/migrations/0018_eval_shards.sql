CREATE TYPE "public"."dashboard_shard_kind" AS ENUM('features', 'evals', 'mean-ablation');--> statement-breakpoint
ALTER TABLE "dashboard_shard" ADD COLUMN "kind" "dashboard_shard_kind" DEFAULT 'features' NOT NULL;--> statement-breakpoint
ALTER TABLE "dashboard_shard" ADD COLUMN "context_first" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "dashboard_shard" ADD COLUMN "context_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "dashboard_shard" DROP COLUMN "computes_evals";