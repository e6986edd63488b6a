CREATE TABLE "sign_in_failure" (
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_failure_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	CONSTRAINT "sign_in_failure_kind_key_pk" PRIMARY KEY("kind","key")
);
--> statement-breakpoint
CREATE TABLE "team_invitation" (
	"team_id" uuid NOT NULL,
	"email" text NOT NULL,
	"role" "team_role" DEFAULT 'viewer' NOT NULL,
	"invited_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "team_invitation_team_id_email_pk" PRIMARY KEY("team_id","email")
);
--> statement-breakpoint
ALTER TABLE "user" ADD COLUMN "handle" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "team_invitation" ADD CONSTRAINT "team_invitation_team_id_team_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."team"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_invitation" ADD CONSTRAINT "team_invitation_invited_by_user_id_fk" FOREIGN KEY ("invited_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sign_in_failure_last_idx" ON "sign_in_failure" USING btree ("last_failure_at");--> statement-breakpoint
CREATE INDEX "team_invitation_email_idx" ON "team_invitation" USING btree ("email");--> statement-breakpoint
-- @handles: a base from a name or an email's local part (lower case, the characters a mention matches), then the
-- first free one of base, base2, base3… Sign-up (server/users.ts) picks its own base (accents folded) and asks
-- lexicon_free_handle; the trigger covers inserts that give none (OAuth accounts from the adapter).
CREATE FUNCTION lexicon_handle_base(src text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE b text := lower(coalesce(src, ''));
BEGIN
  b := regexp_replace(b, '[^a-z0-9._-]+', '', 'g');
  b := regexp_replace(b, '^[._-]+', '');
  b := left(b, 30);
  b := regexp_replace(b, '[.-]+$', '');
  RETURN b;
END $$;--> statement-breakpoint
CREATE FUNCTION lexicon_free_handle(base text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  b text := coalesce(nullif(base, ''), 'user');
  candidate text := b;
  n int := 1;
BEGIN
  WHILE EXISTS (SELECT 1 FROM "user" WHERE handle = candidate) LOOP
    n := n + 1;
    candidate := b || n::text;
  END LOOP;
  RETURN candidate;
END $$;--> statement-breakpoint
CREATE FUNCTION lexicon_user_handle_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.handle IS NULL OR NEW.handle = '' THEN
    NEW.handle := lexicon_free_handle(coalesce(nullif(lexicon_handle_base(NEW.name), ''), nullif(lexicon_handle_base(split_part(NEW.email, '@', 1)), ''), 'user'));
  END IF;
  RETURN NEW;
END $$;--> statement-breakpoint
CREATE TRIGGER user_handle_default BEFORE INSERT ON "user" FOR EACH ROW EXECUTE FUNCTION lexicon_user_handle_default();--> statement-breakpoint
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT id, name, email FROM "user" ORDER BY created_at, id LOOP
    UPDATE "user"
       SET handle = lexicon_free_handle(coalesce(nullif(lexicon_handle_base(r.name), ''), nullif(lexicon_handle_base(split_part(r.email, '@', 1)), ''), 'user'))
     WHERE id = r.id;
  END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "user" ADD CONSTRAINT "user_handle_format" CHECK (handle ~ '^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9_])?$');--> statement-breakpoint
CREATE UNIQUE INDEX "user_handle_idx" ON "user" USING btree ("handle");
