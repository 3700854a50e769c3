-- Issue 14: an account logs in only once its e-mail is confirmed (OWASP's authentication cheat sheet).
--
-- A sign-up is a request until the link mailed to its address is followed: its token's SHA-256 (the
-- token itself only in the mail), the account it would make (the password's argon2 hash among it),
-- and when it expires. An e-mail may have several (each sign-up's own token and password); the one
-- confirmed makes the customer and the others go. Housekeeping forgets the expired ones.
CREATE TABLE signup_request (
    token_hash    bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    email         text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    password_hash text NOT NULL,
    display_name  text,
    country       char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    birth_year    smallint CHECK (birth_year BETWEEN 1900 AND 2100),
    gender        text CHECK (gender IN ('female', 'male', 'other', 'undisclosed')),
    is_seller     boolean NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX signup_request_email ON signup_request (email);
CREATE INDEX signup_request_expires ON signup_request (expires_at);

-- Each sign-up accepted from a client address, for the per-address limit (shop.app.db.accounts).
CREATE TABLE signup_attempt (
    client_ip    text NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signup_attempt_client ON signup_attempt (client_ip, attempted_at);
CREATE INDEX signup_attempt_at ON signup_attempt (attempted_at);

-- The app writes, reads and forgets both (housekeeping too). The ETL never reads them: they hold
-- e-mail addresses, password hashes and client addresses.
GRANT SELECT, INSERT, DELETE ON signup_request TO shop_app;
GRANT SELECT, INSERT, DELETE ON signup_attempt TO shop_app;
