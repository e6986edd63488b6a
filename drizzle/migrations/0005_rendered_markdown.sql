ALTER TABLE "comment_revision" ADD COLUMN "body_html" text;--> statement-breakpoint
ALTER TABLE "comment" ADD COLUMN "body_html" text;--> statement-breakpoint
ALTER TABLE "feature_page" ADD COLUMN "body_html" text;--> statement-breakpoint
ALTER TABLE "hypothesis" ADD COLUMN "body_html" text;