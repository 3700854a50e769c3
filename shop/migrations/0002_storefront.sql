-- What the storefront needs besides the tables the nightly ETL reads: sessions, login
-- throttling, carts, orders with their payments, product images; and the indexes behind the
-- product list. Nothing here changes a column the ETL reads.

-- Search over a product's name, description and category, with no extension to install.
ALTER TABLE product ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', name || ' ' || coalesce(description, '') || ' ' || category)
) STORED;
CREATE INDEX product_search ON product USING gin (search) WHERE is_listed;
-- The list pages newest first, by keyset (created_at, product_id): with and without a category.
CREATE INDEX product_newest ON product (created_at DESC, product_id DESC) WHERE is_listed;
CREATE INDEX product_category_newest ON product (category, created_at DESC, product_id DESC) WHERE is_listed;
CREATE INDEX product_seller ON product (seller_id, created_at DESC);

-- Images live in S3 (uploaded straight there with a presigned POST); the database keeps their keys.
CREATE TABLE product_image (
    product_id   bigint NOT NULL REFERENCES product (product_id) ON DELETE CASCADE,
    position     smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
    s3_key       text NOT NULL UNIQUE,
    content_type text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, position)
);

-- The cookie carries a random token; only its SHA-256 is stored, so a copy of this table logs nobody in.
CREATE TABLE shop_session (
    token_hash  bytea PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customer (customer_id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX shop_session_customer ON shop_session (customer_id);
CREATE INDEX shop_session_expires ON shop_session (expires_at);

-- Failed logins, per e-mail and per address, for the login rate limit (shared by every app task).
CREATE TABLE login_failure (
    email     text NOT NULL,
    client_ip text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failure_email ON login_failure (email, failed_at);
CREATE INDEX login_failure_client ON login_failure (client_ip, failed_at);

CREATE TABLE cart_item (
    customer_id bigint NOT NULL REFERENCES customer (customer_id) ON DELETE CASCADE,
    product_id  bigint NOT NULL REFERENCES product (product_id) ON DELETE CASCADE,
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, product_id)
);

-- An order groups purchase lines (purchase.order_id). One per checkout attempt: the same
-- idempotency key from the same customer is the same order, so a double click orders once.
-- (No foreign key from purchase: the synthetic history has order lines without orders.)
CREATE TABLE customer_order (
    order_id        uuid PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES customer (customer_id),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 100),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'cancelled')),
    total           numeric(12, 2) NOT NULL CHECK (total >= 0),
    currency        char(3) NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX customer_order_customer ON customer_order (customer_id, created_at DESC);

-- Every payment attempt and what the provider answered. The same key on the same order is the
-- same attempt (replayed, never re-sent to the provider); an order is authorised at most once.
CREATE TABLE payment (
    payment_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES customer_order (order_id),
    idempotency_key    text NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 100),
    provider           text NOT NULL,
    provider_reference text,
    outcome            text NOT NULL CHECK (outcome IN ('authorised', 'declined')),
    decline_reason     text,
    amount             numeric(12, 2) NOT NULL,
    currency           char(3) NOT NULL,
    card_last4         char(4) NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, idempotency_key)
);
CREATE UNIQUE INDEX payment_authorised_once ON payment (order_id) WHERE outcome = 'authorised';

CREATE INDEX purchase_order ON purchase (order_id);

CREATE TRIGGER customer_order_updated_at BEFORE UPDATE ON customer_order FOR EACH ROW EXECUTE FUNCTION set_updated_at();
