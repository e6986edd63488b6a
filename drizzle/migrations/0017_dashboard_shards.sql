CREATE TYPE "public"."dashboard_shard_status" AS ENUM('queued', 'running', 'done', 'failed');--> statement-breakpoint
CREATE TABLE "dashboard_shard" (
	"run_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"first" integer NOT NULL,
	"count" integer NOT NULL,
	"computes_evals" boolean NOT NULL,
	"status" "dashboard_shard_status" DEFAULT 'queued' NOT NULL,
	"worker_id" text,
	"tokens_done" bigint DEFAULT 0 NOT NULL,
	"tokens_total" bigint DEFAULT 0 NOT NULL,
	"tokens_per_second" double precision DEFAULT 0 NOT NULL,
	"phase" text,
	"evals" jsonb,
	"timings" jsonb,
	"error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dashboard_shard_run_id_index_pk" PRIMARY KEY("run_id","index")
);
--> statement-breakpoint
ALTER TABLE "dashboard_shard" ADD CONSTRAINT "dashboard_shard_run_id_dashboard_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."dashboard_run"("id") ON DELETE cascade ON UPDATE no action;