CREATE TABLE "sae_decoder_row" (
	"sae_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"vector" "bytea" NOT NULL,
	CONSTRAINT "sae_decoder_row_sae_id_index_pk" PRIMARY KEY("sae_id","index")
);
--> statement-breakpoint
ALTER TABLE "sae_decoder_row" ADD CONSTRAINT "sae_decoder_row_sae_id_sae_id_fk" FOREIGN KEY ("sae_id") REFERENCES "public"."sae"("id") ON DELETE cascade ON UPDATE no action;