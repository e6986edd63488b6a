ALTER TYPE "public"."example_kind" ADD VALUE 'random';--> statement-breakpoint
ALTER TABLE "feature" ADD COLUMN "bos_count" bigint;--> statement-breakpoint
ALTER TABLE "feature" ADD COLUMN "bos_excluded" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "feature" ADD COLUMN "logit_fold_ln" boolean DEFAULT false NOT NULL;