-- The shop database: what the shop needs to sell, and what the nightly ETL reads to learn.
-- Personal data (email, names, phone, address) lives in customer_contact, which the ETL never reads.

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE customer (
    customer_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Segmentation: the only customer attributes the analyses see.
    birth_year      smallint CHECK (birth_year BETWEEN 1900 AND 2100),
    gender          text CHECK (gender IN ('female', 'male', 'other', 'undisclosed')),
    country         char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    region          text,
    is_seller       boolean NOT NULL DEFAULT false,
    -- Staff and load-test accounts: kept out of every analysis.
    is_test_account boolean NOT NULL DEFAULT false,
    signed_up_at    timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customer_contact (
    customer_id   bigint PRIMARY KEY REFERENCES customer (customer_id) ON DELETE CASCADE,
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND position('@' IN email) > 1),
    password_hash text NOT NULL,
    display_name  text,
    phone         text,
    address       text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product (
    product_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id   bigint NOT NULL REFERENCES customer (customer_id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text,
    category    text NOT NULL,
    price       numeric(10, 2) NOT NULL CHECK (price >= 0),
    currency    char(3) NOT NULL DEFAULT 'USD',
    stock       integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    is_listed   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per order line: what was bought, by whom, for how much, and where the order stands.
CREATE TABLE purchase (
    purchase_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id        uuid NOT NULL,
    customer_id     bigint NOT NULL REFERENCES customer (customer_id),
    product_id      bigint NOT NULL REFERENCES product (product_id),
    quantity        integer NOT NULL CHECK (quantity > 0),
    unit_price      numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    currency        char(3) NOT NULL DEFAULT 'USD',
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    ordered_at      timestamptz NOT NULL DEFAULT now(),
    paid_at         timestamptz CHECK (paid_at IS NULL OR paid_at >= ordered_at),
    -- A double click must never pay twice: one key per checkout attempt.
    idempotency_key text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, product_id),
    CHECK (status NOT IN ('paid', 'shipped', 'delivered') OR paid_at IS NOT NULL)
);

CREATE TABLE review (
    review_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A review belongs to a purchase: only buyers review, once per order line.
    purchase_id bigint NOT NULL UNIQUE REFERENCES purchase (purchase_id),
    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body        text CHECK (length(body) <= 5000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The nightly ETL extracts incrementally by updated_at; the shop lists and filters products.
CREATE INDEX customer_updated_at ON customer (updated_at);
CREATE INDEX product_updated_at ON product (updated_at);
CREATE INDEX product_listing ON product (category, created_at DESC) WHERE is_listed;
CREATE INDEX purchase_updated_at ON purchase (updated_at);
CREATE INDEX purchase_customer ON purchase (customer_id, ordered_at DESC);
CREATE UNIQUE INDEX purchase_idempotency ON purchase (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX review_updated_at ON review (updated_at);

CREATE TRIGGER customer_updated_at BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER customer_contact_updated_at BEFORE UPDATE ON customer_contact FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER product_updated_at BEFORE UPDATE ON product FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER purchase_updated_at BEFORE UPDATE ON purchase FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER review_updated_at BEFORE UPDATE ON review FOR EACH ROW EXECUTE FUNCTION set_updated_at();
