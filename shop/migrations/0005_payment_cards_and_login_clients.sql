-- Issue 14: what the shop keeps to hold under attack.
--
-- A payment's Idempotency-Key is one payment: sent again with another card it is refused. The shop
-- stores no card number, so a card is compared by what it may keep of one (PCI DSS): its last four
-- digits, already stored, and its expiry. Attempts made before this migration have none (NULL).
ALTER TABLE payment ADD COLUMN card_expiry_month smallint CHECK (card_expiry_month BETWEEN 1 AND 12);
ALTER TABLE payment ADD COLUMN card_expiry_year smallint CHECK (card_expiry_year BETWEEN 2000 AND 2100);
CREATE INDEX payment_idempotency_key ON payment (idempotency_key);

-- The addresses each e-mail last logged in from successfully (shop.app.db.accounts): a login from
-- one of them is not held back by failures from elsewhere, so that a stranger's guesses never lock
-- the owner out (OWASP's device cookies, by address). Kept 30 days after the last success.
CREATE TABLE login_known_client (
    email         text NOT NULL,
    client_ip     text NOT NULL,
    last_login_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, client_ip)
);
CREATE INDEX login_known_client_last_login ON login_known_client (last_login_at);
-- The app reads it at each login, records a success (an upsert) and forgets old rows (housekeeping).
-- The ETL never reads it: it holds e-mail addresses.
GRANT SELECT, INSERT, UPDATE, DELETE ON login_known_client TO shop_app;

-- The per (e-mail, address) delay reads a pair's failures; the other two indexes serve the other limits.
CREATE INDEX login_failure_pair ON login_failure (email, client_ip, failed_at);
