
CREATE OR REPLACE FUNCTION fundledger_entries_seal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    -- Per new entry, its legs looked up by index: how many, and whether each currency sums
    -- to zero.
    SELECT e.id, coalesce(sum(c.legs), 0) AS legs INTO bad
    FROM new_entries e LEFT JOIN LATERAL (
        SELECT count(*) AS legs, sum(l.amount_minor) AS total
        FROM journal_legs l WHERE l.entry_id = e.id GROUP BY l.currency
    ) c ON true
    GROUP BY e.id
    HAVING coalesce(sum(c.legs), 0) < 2 OR coalesce(bool_or(c.total <> 0), false)
    ORDER BY coalesce(sum(c.legs), 0) < 2 DESC, e.id LIMIT 1;
    IF FOUND AND bad.legs < 2 THEN
        RAISE EXCEPTION 'fundledger: entry % needs at least two legs', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'fundledger: entry % does not balance', bad.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Per month booked in: whether its latest event closed it.
    SELECT m.booking_date INTO bad FROM (
        SELECT to_char(booking_date, 'YYYY-MM') AS month, min(booking_date) AS booking_date
        FROM new_entries GROUP BY 1
    ) m
    WHERE (
        SELECT p.action FROM period_events p WHERE p.month = m.month ORDER BY p.id DESC LIMIT 1
    ) = 'close'
    ORDER BY m.booking_date LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'fundledger: the month of booking date % is closed', bad.booking_date
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$
