
    CREATE OR REPLACE FUNCTION fundledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM journal_legs WHERE entry_id = NEW.id
            GROUP BY currency HAVING sum(amount_minor) <> 0
        ) THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance at commit', NEW.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    