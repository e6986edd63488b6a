DROP INDEX "feature_sae_density_idx";--> statement-breakpoint
ALTER TABLE "feature_example" ADD COLUMN "max_token" integer;--> statement-breakpoint
CREATE INDEX "feature_example_max_token_idx" ON "feature_example" USING btree ("max_token","run_id","feature_index","max_act") WHERE "feature_example"."kind" = 'top';--> statement-breakpoint
CREATE INDEX "feature_page_labelled_idx" ON "feature_page" USING btree ("sae_id","index") WHERE "feature_page"."label" <> '';--> statement-breakpoint
CREATE INDEX "feature_run_max_act_idx" ON "feature" USING btree ("run_id","max_act","index");--> statement-breakpoint
CREATE INDEX "feature_run_encoder_bias_idx" ON "feature" USING btree ("run_id","encoder_bias","index");--> statement-breakpoint
CREATE INDEX "feature_run_de_cos_idx" ON "feature" USING btree ("run_id","de_cos","index");--> statement-breakpoint
CREATE INDEX "feature_logit_top_idx" ON "feature" USING gin ("logit_top" jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "feature_sae_density_idx" ON "feature" USING btree ("run_id","density","index");