CREATE TABLE "explainer_pace" (
	"endpoint" text PRIMARY KEY NOT NULL,
	"next_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- Only a pace: losing it in a crash costs nothing (the next request finds the endpoint free), so no WAL and no fsync
-- for the row every explainer request moves.
ALTER TABLE "explainer_pace" SET UNLOGGED;
