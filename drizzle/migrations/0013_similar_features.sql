CREATE TYPE "public"."similarity_kind" AS ENUM('decoder', 'encoder');--> statement-breakpoint
CREATE TABLE "similar_feature" (
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"kind" "similarity_kind" NOT NULL,
	"other_sae_id" uuid NOT NULL,
	"other_index" integer NOT NULL,
	"cosine" real NOT NULL,
	"rank" smallint NOT NULL,
	CONSTRAINT "similar_feature_sae_id_index_kind_other_sae_id_rank_pk" PRIMARY KEY("sae_id","index","kind","other_sae_id","rank")
);
--> statement-breakpoint
ALTER TABLE "similar_feature" ADD CONSTRAINT "similar_feature_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "similar_feature" ADD CONSTRAINT "similar_feature_other_sae_id_sae_id_fk" FOREIGN KEY ("other_sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "similar_feature_other_sae_idx" ON "similar_feature" USING btree ("other_sae_id");