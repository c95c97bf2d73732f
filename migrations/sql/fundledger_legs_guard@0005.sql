
    CREATE OR REPLACE FUNCTION fundledger_legs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
        SELECT n.entry_id INTO bad FROM new_legs n JOIN journal_entries e ON e.id = n.entry_id
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'fundledger: entry % is already posted; no leg can be added to it',
                bad.entry_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT n.currency AS leg, a.currency AS account, a.closed_at, a.is_control, a.code
        INTO bad FROM new_legs n JOIN accounts a ON a.id = n.account_id
        WHERE a.currency <> n.currency OR a.closed_at IS NOT NULL OR a.is_control LIMIT 1;
        IF FOUND THEN
            IF bad.leg <> bad.account THEN
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
    