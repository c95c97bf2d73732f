
CREATE OR REPLACE FUNCTION fundledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    -- One pass over the legs of the range, as 0007's; each entry's row is looked up by its
    -- key (a scalar subquery, which the planner cannot turn into a scan of all entries).
    SELECT l.entry_id,
           (SELECT e.id FROM journal_entries e WHERE e.id = l.entry_id) IS NULL AS orphan
    INTO bad
    FROM journal_legs l
    WHERE l.entry_id BETWEEN NEW.first_entry_id AND NEW.last_entry_id
    GROUP BY l.entry_id, l.currency
    HAVING sum(l.amount_minor) <> 0
        OR (SELECT e.id FROM journal_entries e WHERE e.id = l.entry_id) IS NULL
    ORDER BY 2 DESC, l.entry_id LIMIT 1;
    IF FOUND AND bad.orphan THEN
        RAISE EXCEPTION 'fundledger: legs of entry % were written without their entry',
            bad.entry_id USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'fundledger: entry % does not balance at commit', bad.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    DELETE FROM journal_commit_checks WHERE id = NEW.id;
    RETURN NULL;
END $$
