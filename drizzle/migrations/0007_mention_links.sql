-- Comments' stored HTML now links @mentions of real accounts (server/comments.ts renderComment). Rows written before
-- lose their HTML here, so that each renders again, with its mention links, on first read.
UPDATE "comment" SET "body_html" = NULL WHERE "body" LIKE '%@%';--> statement-breakpoint
UPDATE "comment_revision" SET "body_html" = NULL WHERE "body" LIKE '%@%';
