
    CREATE OR REPLACE FUNCTION fundledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint;
    BEGIN
        SELECT l.entry_id INTO bad
        FROM journal_legs l
        WHERE l.entry_id BETWEEN NEW.first_entry_id AND NEW.last_entry_id
        GROUP BY l.entry_id, l.currency HAVING sum(l.amount_minor) <> 0
        ORDER BY l.entry_id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance at commit', bad
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        DELETE FROM journal_commit_checks WHERE id = NEW.id;
        RETURN NULL;
    END $$
    