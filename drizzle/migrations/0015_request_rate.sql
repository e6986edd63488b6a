CREATE TABLE "request_rate" (
	"key" text PRIMARY KEY NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"count" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "request_rate_window_idx" ON "request_rate" USING btree ("window_start");