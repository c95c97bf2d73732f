
CREATE OR REPLACE FUNCTION fundledger_legs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    -- Each entry looked up by its key (a scalar subquery: a plan cached while the journal was
    -- small can never become a scan of all entries).
    SELECT n.entry_id INTO bad
    FROM (SELECT DISTINCT entry_id FROM new_legs) n
    WHERE (SELECT e.id FROM journal_entries e WHERE e.id = n.entry_id) IS NOT NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'fundledger: entry % is already posted; no leg can be added to it',
            bad.entry_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT n.account_id, n.currency AS leg, a.id, a.currency AS account, a.closed_at,
           a.is_control, a.code
    INTO bad
    FROM (SELECT DISTINCT account_id, currency FROM new_legs) n
    LEFT JOIN accounts a ON a.id = n.account_id
    WHERE a.id IS NULL OR a.currency <> n.currency OR a.closed_at IS NOT NULL OR a.is_control
    ORDER BY a.id IS NULL DESC LIMIT 1;
    IF FOUND THEN
        IF bad.id IS NULL THEN
            RAISE EXCEPTION 'fundledger: account id % does not exist; a leg needs an account '
                'of the chart', bad.account_id USING ERRCODE = 'foreign_key_violation';
        ELSIF bad.leg <> bad.account THEN
            RAISE EXCEPTION 'fundledger: leg currency % differs from its account currency %',
                bad.leg, bad.account USING ERRCODE = 'integrity_constraint_violation';
        ELSIF bad.closed_at IS NOT NULL THEN
            RAISE EXCEPTION 'fundledger: account % is closed', bad.code
                USING ERRCODE = 'integrity_constraint_violation';
        ELSE
            RAISE EXCEPTION 'fundledger: control account % takes no direct postings',
                bad.code USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$
