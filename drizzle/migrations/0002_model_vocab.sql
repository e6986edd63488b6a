CREATE TABLE "model_vocab" (
	"model_id" uuid PRIMARY KEY NOT NULL,
	"content_hash" text NOT NULL,
	"pieces" text[] NOT NULL
);
--> statement-breakpoint
ALTER TABLE "model_vocab" ADD CONSTRAINT "model_vocab_model_id_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."model"("id") ON DELETE cascade ON UPDATE no action;