
    CREATE OR REPLACE FUNCTION fundledger_entries_seal() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
        SELECT e.id INTO bad FROM new_entries e
        WHERE (SELECT count(*) FROM journal_legs l WHERE l.entry_id = e.id) < 2 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % needs at least two legs', bad.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT l.entry_id AS id INTO bad FROM journal_legs l JOIN new_entries e ON e.id = l.entry_id
        GROUP BY l.entry_id, l.currency HAVING sum(l.amount_minor) <> 0 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % does not balance', bad.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT e.id, e.booking_date INTO bad FROM new_entries e
        WHERE (
            SELECT p.action FROM period_events p
            WHERE p.month = to_char(e.booking_date, 'YYYY-MM')
            ORDER BY p.id DESC LIMIT 1
        ) = 'close' LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: the month of booking date % is closed', bad.booking_date
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$
    