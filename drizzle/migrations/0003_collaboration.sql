CREATE TYPE "public"."evidence_kind" AS ENUM('activations', 'ablate', 'steer', 'dashboard');--> statement-breakpoint
CREATE TYPE "public"."hypothesis_status" AS ENUM('open', 'supported', 'refuted', 'inconclusive');--> statement-breakpoint
CREATE TYPE "public"."link_source" AS ENUM('comment', 'hypothesis', 'feature_page');--> statement-breakpoint
CREATE TYPE "public"."team_role" AS ENUM('viewer', 'editor', 'maintainer');--> statement-breakpoint
CREATE TYPE "public"."thread_kind" AS ENUM('feature', 'sae', 'hypothesis');--> statement-breakpoint
CREATE TYPE "public"."visibility" AS ENUM('public', 'team', 'private');--> statement-breakpoint
CREATE TYPE "public"."watch_kind" AS ENUM('feature', 'sae', 'hypothesis');--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"actor_id" text,
	"action" text NOT NULL,
	"target_kind" text NOT NULL,
	"target_id" text NOT NULL,
	"detail" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "comment_revision" (
	"comment_id" uuid NOT NULL,
	"revision" integer NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "comment_revision_comment_id_revision_pk" PRIMARY KEY("comment_id","revision")
);
--> statement-breakpoint
CREATE TABLE "comment" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"thread_kind" "thread_kind" NOT NULL,
	"sae_id" uuid,
	"feature_index" integer,
	"hypothesis_id" uuid,
	"parent_id" uuid,
	"author_id" text,
	"body" text NOT NULL,
	"revision" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"edited_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"deleted_by" text
);
--> statement-breakpoint
CREATE TABLE "evidence" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"hypothesis_id" uuid NOT NULL,
	"kind" "evidence_kind" NOT NULL,
	"sae_id" uuid,
	"feature_index" integer,
	"job_id" uuid,
	"params" jsonb NOT NULL,
	"result" jsonb NOT NULL,
	"provenance" jsonb NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"added_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "evidence_rerun" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"evidence_id" uuid NOT NULL,
	"job_id" uuid,
	"agrees" boolean,
	"comparison" jsonb,
	"requested_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feature_link" (
	"source_kind" "link_source" NOT NULL,
	"source_id" text NOT NULL,
	"model_slug" text NOT NULL,
	"sae_slug" text NOT NULL,
	"index" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_link_source_kind_source_id_model_slug_sae_slug_index_pk" PRIMARY KEY("source_kind","source_id","model_slug","sae_slug","index")
);
--> statement-breakpoint
CREATE TABLE "hypothesis" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"model_id" uuid NOT NULL,
	"statement" text NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"status" "hypothesis_status" DEFAULT 'open' NOT NULL,
	"status_changed_by" text,
	"status_changed_at" timestamp with time zone,
	"author_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hypothesis_feature" (
	"hypothesis_id" uuid NOT NULL,
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	CONSTRAINT "hypothesis_feature_hypothesis_id_sae_id_index_pk" PRIMARY KEY("hypothesis_id","sae_id","index")
);
--> statement-breakpoint
CREATE TABLE "hypothesis_status_change" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"hypothesis_id" uuid NOT NULL,
	"status" "hypothesis_status" NOT NULL,
	"note" text DEFAULT '' NOT NULL,
	"user_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hypothesis_vote" (
	"hypothesis_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"value" smallint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hypothesis_vote_hypothesis_id_user_id_pk" PRIMARY KEY("hypothesis_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "label_proposal" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"label" text NOT NULL,
	"author_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "label_proposal_text" UNIQUE("sae_id","index","label")
);
--> statement-breakpoint
CREATE TABLE "label_vote" (
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"user_id" text NOT NULL,
	"proposal_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "label_vote_sae_id_index_user_id_pk" PRIMARY KEY("sae_id","index","user_id")
);
--> statement-breakpoint
CREATE TABLE "notification" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"actor_id" text,
	"summary" text NOT NULL,
	"url" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"read_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "resource_access" (
	"kind" text NOT NULL,
	"resource_id" uuid NOT NULL,
	"team_id" uuid,
	"owner_id" text,
	"visibility" "visibility" DEFAULT 'public' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "resource_access_kind_resource_id_pk" PRIMARY KEY("kind","resource_id")
);
--> statement-breakpoint
CREATE TABLE "team_member" (
	"team_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"role" "team_role" DEFAULT 'viewer' NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "team_member_team_id_user_id_pk" PRIMARY KEY("team_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "team" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "team_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "watch" (
	"user_id" text NOT NULL,
	"kind" "watch_kind" NOT NULL,
	"target_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watch_user_id_kind_target_id_pk" PRIMARY KEY("user_id","kind","target_id")
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "comment_revision" ADD CONSTRAINT "comment_revision_comment_id_comment_id_fk" FOREIGN KEY ("comment_id") REFERENCES "public"."comment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "comment" ADD CONSTRAINT "comment_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "comment" ADD CONSTRAINT "comment_hypothesis_id_hypothesis_id_fk" FOREIGN KEY ("hypothesis_id") REFERENCES "public"."hypothesis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "comment" ADD CONSTRAINT "comment_author_id_user_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "comment" ADD CONSTRAINT "comment_deleted_by_user_id_fk" FOREIGN KEY ("deleted_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_hypothesis_id_hypothesis_id_fk" FOREIGN KEY ("hypothesis_id") REFERENCES "public"."hypothesis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_job_id_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_added_by_user_id_fk" FOREIGN KEY ("added_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_rerun" ADD CONSTRAINT "evidence_rerun_evidence_id_evidence_id_fk" FOREIGN KEY ("evidence_id") REFERENCES "public"."evidence"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_rerun" ADD CONSTRAINT "evidence_rerun_job_id_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence_rerun" ADD CONSTRAINT "evidence_rerun_requested_by_user_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis" ADD CONSTRAINT "hypothesis_model_id_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."model"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis" ADD CONSTRAINT "hypothesis_status_changed_by_user_id_fk" FOREIGN KEY ("status_changed_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis" ADD CONSTRAINT "hypothesis_author_id_user_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis_feature" ADD CONSTRAINT "hypothesis_feature_hypothesis_id_hypothesis_id_fk" FOREIGN KEY ("hypothesis_id") REFERENCES "public"."hypothesis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis_feature" ADD CONSTRAINT "hypothesis_feature_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis_status_change" ADD CONSTRAINT "hypothesis_status_change_hypothesis_id_hypothesis_id_fk" FOREIGN KEY ("hypothesis_id") REFERENCES "public"."hypothesis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis_status_change" ADD CONSTRAINT "hypothesis_status_change_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis_vote" ADD CONSTRAINT "hypothesis_vote_hypothesis_id_hypothesis_id_fk" FOREIGN KEY ("hypothesis_id") REFERENCES "public"."hypothesis"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hypothesis_vote" ADD CONSTRAINT "hypothesis_vote_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_proposal" ADD CONSTRAINT "label_proposal_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_proposal" ADD CONSTRAINT "label_proposal_author_id_user_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_vote" ADD CONSTRAINT "label_vote_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_vote" ADD CONSTRAINT "label_vote_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_vote" ADD CONSTRAINT "label_vote_proposal_id_label_proposal_id_fk" FOREIGN KEY ("proposal_id") REFERENCES "public"."label_proposal"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification" ADD CONSTRAINT "notification_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification" ADD CONSTRAINT "notification_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resource_access" ADD CONSTRAINT "resource_access_team_id_team_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."team"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resource_access" ADD CONSTRAINT "resource_access_owner_id_user_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_member" ADD CONSTRAINT "team_member_team_id_team_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."team"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_member" ADD CONSTRAINT "team_member_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "watch" ADD CONSTRAINT "watch_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_created_idx" ON "audit_log" USING btree ("created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "comment_feature_idx" ON "comment" USING btree ("sae_id","feature_index","created_at");--> statement-breakpoint
CREATE INDEX "comment_hypothesis_idx" ON "comment" USING btree ("hypothesis_id","created_at");--> statement-breakpoint
CREATE INDEX "comment_author_idx" ON "comment" USING btree ("author_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "evidence_hypothesis_idx" ON "evidence" USING btree ("hypothesis_id","created_at");--> statement-breakpoint
CREATE INDEX "evidence_rerun_evidence_idx" ON "evidence_rerun" USING btree ("evidence_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "feature_link_target_idx" ON "feature_link" USING btree ("model_slug","sae_slug","index");--> statement-breakpoint
CREATE INDEX "hypothesis_status_idx" ON "hypothesis" USING btree ("status","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "hypothesis_author_idx" ON "hypothesis" USING btree ("author_id");--> statement-breakpoint
CREATE INDEX "hypothesis_feature_feature_idx" ON "hypothesis_feature" USING btree ("sae_id","index");--> statement-breakpoint
CREATE INDEX "hypothesis_status_change_idx" ON "hypothesis_status_change" USING btree ("hypothesis_id","created_at");--> statement-breakpoint
CREATE INDEX "label_vote_proposal_idx" ON "label_vote" USING btree ("proposal_id");--> statement-breakpoint
CREATE INDEX "notification_user_idx" ON "notification" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notification_unread_idx" ON "notification" USING btree ("user_id") WHERE "notification"."read_at" is null;--> statement-breakpoint
CREATE INDEX "team_member_user_idx" ON "team_member" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "watch_target_idx" ON "watch" USING btree ("kind","target_id");--> statement-breakpoint
CREATE INDEX "job_user_created_idx" ON "job" USING btree ("user_id","created_at" DESC NULLS LAST);