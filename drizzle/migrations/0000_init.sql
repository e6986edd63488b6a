CREATE TYPE "public"."architecture" AS ENUM('llama', 'gpt2');--> statement-breakpoint
CREATE TYPE "public"."dashboard_run_status" AS ENUM('running', 'complete', 'cancelled', 'failed');--> statement-breakpoint
CREATE TYPE "public"."example_kind" AS ENUM('top', 'interval');--> statement-breakpoint
CREATE TYPE "public"."job_status" AS ENUM('queued', 'running', 'done', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."role" AS ENUM('viewer', 'editor', 'admin');--> statement-breakpoint
CREATE TABLE "account" (
	"userId" text NOT NULL,
	"type" text NOT NULL,
	"provider" text NOT NULL,
	"providerAccountId" text NOT NULL,
	"refresh_token" text,
	"access_token" text,
	"expires_at" integer,
	"token_type" text,
	"scope" text,
	"id_token" text,
	"session_state" text,
	CONSTRAINT "account_provider_providerAccountId_pk" PRIMARY KEY("provider","providerAccountId")
);
--> statement-breakpoint
CREATE TABLE "corpus" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"model_id" uuid NOT NULL,
	"name" text NOT NULL,
	"context_size" integer NOT NULL,
	"prepend_bos" boolean NOT NULL,
	"content_hash" text NOT NULL,
	"n_contexts" integer NOT NULL,
	"n_tokens" bigint NOT NULL,
	"source" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "corpus_model_hash" UNIQUE("model_id","content_hash")
);
--> statement-breakpoint
CREATE TABLE "corpus_context" (
	"corpus_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"tokens" integer[] NOT NULL,
	CONSTRAINT "corpus_context_corpus_id_index_pk" PRIMARY KEY("corpus_id","index")
);
--> statement-breakpoint
CREATE TABLE "dashboard_run" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sae_id" uuid NOT NULL,
	"corpus_id" uuid NOT NULL,
	"job_id" uuid,
	"status" "dashboard_run_status" DEFAULT 'running' NOT NULL,
	"params" jsonb NOT NULL,
	"evals" jsonb,
	"timings" jsonb,
	"n_tokens" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "feature_example" (
	"run_id" uuid NOT NULL,
	"feature_index" integer NOT NULL,
	"kind" "example_kind" NOT NULL,
	"interval" smallint NOT NULL,
	"rank" smallint NOT NULL,
	"context_index" integer NOT NULL,
	"position" integer,
	"max_act" real NOT NULL,
	"max_pos" integer NOT NULL,
	"acts" "bytea" NOT NULL,
	"loss_delta" "bytea",
	CONSTRAINT "feature_example_run_id_feature_index_kind_interval_rank_pk" PRIMARY KEY("run_id","feature_index","kind","interval","rank")
);
--> statement-breakpoint
CREATE TABLE "feature_list_entry" (
	"list_id" uuid NOT NULL,
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"position" integer NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_list_entry_list_id_sae_id_index_pk" PRIMARY KEY("list_id","sae_id","index")
);
--> statement-breakpoint
CREATE TABLE "feature_list" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"owner_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feature_page" (
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"label" text DEFAULT '' NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"revision" integer DEFAULT 0 NOT NULL,
	"updated_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce(label, '')), 'A') || setweight(to_tsvector('english', coalesce(body, '')), 'B')) STORED,
	CONSTRAINT "feature_page_sae_id_index_pk" PRIMARY KEY("sae_id","index")
);
--> statement-breakpoint
CREATE TABLE "feature_revision" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"revision" integer NOT NULL,
	"label" text NOT NULL,
	"body" text NOT NULL,
	"summary" text DEFAULT '' NOT NULL,
	"author_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_revision_number" UNIQUE("sae_id","index","revision")
);
--> statement-breakpoint
CREATE TABLE "feature" (
	"run_id" uuid NOT NULL,
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"n_tokens" bigint NOT NULL,
	"nonzero_count" bigint NOT NULL,
	"density" double precision NOT NULL,
	"max_act" real NOT NULL,
	"mean_act" real NOT NULL,
	"mean_act_all" real NOT NULL,
	"histogram" jsonb NOT NULL,
	"intervals" jsonb NOT NULL,
	"logit_top" jsonb NOT NULL,
	"logit_bottom" jsonb NOT NULL,
	"logit_histogram" jsonb NOT NULL,
	"encoder_bias" real NOT NULL,
	"encoder_norm" real NOT NULL,
	"decoder_norm" real NOT NULL,
	"de_dot" real NOT NULL,
	"de_cos" real NOT NULL,
	CONSTRAINT "feature_run_id_index_pk" PRIMARY KEY("run_id","index")
);
--> statement-breakpoint
CREATE TABLE "job" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"status" "job_status" DEFAULT 'queued' NOT NULL,
	"params" jsonb NOT NULL,
	"progress" real DEFAULT 0 NOT NULL,
	"progress_detail" jsonb,
	"result" jsonb,
	"error" text,
	"provenance" jsonb,
	"user_id" text,
	"worker_id" text,
	"model_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "model" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"architecture" "architecture" NOT NULL,
	"path" text NOT NULL,
	"config" jsonb NOT NULL,
	"content_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "sae" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"model_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"hook_name" text NOT NULL,
	"architecture" text NOT NULL,
	"d_in" integer NOT NULL,
	"d_sae" integer NOT NULL,
	"cfg" jsonb NOT NULL,
	"path" text NOT NULL,
	"content_hash" text NOT NULL,
	"import_check" jsonb,
	"current_run_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sae_model_slug" UNIQUE("model_id","slug")
);
--> statement-breakpoint
CREATE TABLE "session" (
	"sessionToken" text PRIMARY KEY NOT NULL,
	"userId" text NOT NULL,
	"expires" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text,
	"email" text,
	"emailVerified" timestamp with time zone,
	"image" text,
	"password_hash" text,
	"role" "role" DEFAULT 'viewer' NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_email_unique" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "verificationToken" (
	"identifier" text NOT NULL,
	"token" text NOT NULL,
	"expires" timestamp with time zone NOT NULL,
	CONSTRAINT "verificationToken_identifier_token_pk" PRIMARY KEY("identifier","token")
);
--> statement-breakpoint
CREATE TABLE "worker" (
	"id" text PRIMARY KEY NOT NULL,
	"backend" text NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "account" ADD CONSTRAINT "account_userId_user_id_fk" FOREIGN KEY ("userId") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "corpus" ADD CONSTRAINT "corpus_model_id_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."model"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "corpus_context" ADD CONSTRAINT "corpus_context_corpus_id_corpus_id_fk" FOREIGN KEY ("corpus_id") REFERENCES "public"."corpus"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dashboard_run" ADD CONSTRAINT "dashboard_run_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dashboard_run" ADD CONSTRAINT "dashboard_run_corpus_id_corpus_id_fk" FOREIGN KEY ("corpus_id") REFERENCES "public"."corpus"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dashboard_run" ADD CONSTRAINT "dashboard_run_job_id_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_example" ADD CONSTRAINT "feature_example_run_id_dashboard_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."dashboard_run"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_list_entry" ADD CONSTRAINT "feature_list_entry_list_id_feature_list_id_fk" FOREIGN KEY ("list_id") REFERENCES "public"."feature_list"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_list_entry" ADD CONSTRAINT "feature_list_entry_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_list" ADD CONSTRAINT "feature_list_owner_id_user_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_page" ADD CONSTRAINT "feature_page_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_page" ADD CONSTRAINT "feature_page_updated_by_user_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_revision" ADD CONSTRAINT "feature_revision_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_revision" ADD CONSTRAINT "feature_revision_author_id_user_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature" ADD CONSTRAINT "feature_run_id_dashboard_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."dashboard_run"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature" ADD CONSTRAINT "feature_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job" ADD CONSTRAINT "job_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job" ADD CONSTRAINT "job_model_id_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."model"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sae" ADD CONSTRAINT "sae_model_id_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."model"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session" ADD CONSTRAINT "session_userId_user_id_fk" FOREIGN KEY ("userId") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dashboard_run_sae_idx" ON "dashboard_run" USING btree ("sae_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "feature_page_search_idx" ON "feature_page" USING gin ("search");--> statement-breakpoint
CREATE INDEX "feature_revision_recent_idx" ON "feature_revision" USING btree ("created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "feature_sae_density_idx" ON "feature" USING btree ("run_id","density");--> statement-breakpoint
CREATE INDEX "job_model_created_idx" ON "job" USING btree ("model_id","created_at" DESC NULLS LAST);