ALTER TABLE "corpus_context" DROP CONSTRAINT "corpus_context_corpus_id_corpus_id_fk";
--> statement-breakpoint
ALTER TABLE "feature_example" DROP CONSTRAINT "feature_example_run_id_dashboard_run_id_fk";
--> statement-breakpoint
-- The two foreign keys just dropped (feature_example.run_id → dashboard_run, corpus_context.corpus_id → corpus) ran a
-- query for every row inserted, which in an import's COPY (a million examples and as many contexts) cost PostgreSQL
-- more than storing the rows. These statement-level triggers keep what the keys gave, a query per statement: an
-- inserted row's parent must exist and stays locked (FOR KEY SHARE, as a key locks it) until the insert commits, and
-- deleting a parent deletes its rows.
CREATE FUNCTION lexicon_parent_exists() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: the column of the inserted rows, and the table whose id it holds
DECLARE missing uuid;
BEGIN
  EXECUTE format('SELECT 1 FROM %I WHERE id IN (SELECT DISTINCT %I FROM new_rows) FOR KEY SHARE', TG_ARGV[1], TG_ARGV[0]);
  EXECUTE format('SELECT n.k FROM (SELECT DISTINCT %I AS k FROM new_rows) n WHERE NOT EXISTS (SELECT 1 FROM %I p WHERE p.id = n.k) LIMIT 1', TG_ARGV[0], TG_ARGV[1])
    INTO missing;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'insert or update on table "%" violates its reference to "%"', TG_TABLE_NAME, TG_ARGV[1]
      USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (%s)=(%s) is not present in table "%s".', TG_ARGV[0], missing, TG_ARGV[1]);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION lexicon_delete_children() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: the table whose rows hold the deleted rows' ids, and its column that does
BEGIN
  EXECUTE format('DELETE FROM %I WHERE %I IN (SELECT id FROM old_rows)', TG_ARGV[0], TG_ARGV[1]);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER feature_example_run_exists AFTER INSERT ON feature_example REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lexicon_parent_exists('run_id', 'dashboard_run');
--> statement-breakpoint
CREATE TRIGGER feature_example_run_exists_update AFTER UPDATE ON feature_example REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lexicon_parent_exists('run_id', 'dashboard_run');
--> statement-breakpoint
CREATE TRIGGER dashboard_run_delete_examples AFTER DELETE ON dashboard_run REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lexicon_delete_children('feature_example', 'run_id');
--> statement-breakpoint
CREATE TRIGGER corpus_context_corpus_exists AFTER INSERT ON corpus_context REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lexicon_parent_exists('corpus_id', 'corpus');
--> statement-breakpoint
CREATE TRIGGER corpus_context_corpus_exists_update AFTER UPDATE ON corpus_context REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lexicon_parent_exists('corpus_id', 'corpus');
--> statement-breakpoint
CREATE TRIGGER corpus_delete_contexts AFTER DELETE ON corpus REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lexicon_delete_children('corpus_context', 'corpus_id');
