CREATE TABLE "explainer_pace" (
	"endpoint" text PRIMARY KEY NOT NULL,
	"next_at" timestamp with time zone NOT NULL
);
