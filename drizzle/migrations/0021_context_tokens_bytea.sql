-- Replaces the generated `ALTER COLUMN "tokens" SET DATA TYPE "undefined"."bytea"` (drizzle-kit misnames a custom
-- type, and int4[] has no cast to bytea): a context's token ids become little-endian int32 bytes, as
-- feature_example.acts holds float32s, which an import's COPY stores at about half PostgreSQL's cost of an int4[]
-- (server/context-tokens.ts). int4send gives an id's big-endian bytes (negative ids, −1 padding and an imported
-- run's own pieces, in two's complement), reversed here; a USING expression may hold no subquery, hence the function.
CREATE FUNCTION lexicon_int4_le_bytes(ids int4[]) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT coalesce(string_agg(substr(b, 4, 1) || substr(b, 3, 1) || substr(b, 2, 1) || substr(b, 1, 1), ''::bytea ORDER BY o), ''::bytea)
    FROM unnest(ids) WITH ORDINALITY AS u(id, o), int4send(u.id) AS b
$$;
--> statement-breakpoint
ALTER TABLE "corpus_context" ALTER COLUMN "tokens" SET DATA TYPE bytea USING lexicon_int4_le_bytes("tokens");
--> statement-breakpoint
DROP FUNCTION lexicon_int4_le_bytes(int4[]);
