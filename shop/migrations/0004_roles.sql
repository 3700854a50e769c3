-- The shop's own database roles: the app tier logs in as shop_app, the nightly ETL's extract as
-- shop_etl; neither owns anything, neither may change the schema. Migrations run as the owner
-- (the RDS master user, in AWS a task of its own: docs/shop.md, "Database roles and credentials").
--
-- Roles belong to the whole PostgreSQL cluster, grants to each object: the roles are created
-- once (whoever comes first; the tests migrate a schema per test, in parallel), the grants are on
-- the tables of the schema being migrated (unqualified names follow its search_path).
--
-- The rule for later migrations: a migration that creates a table grants shop_app what the app
-- does with it (and shop_etl SELECT on any column the extract reads), in the same file.
-- tests/functional/shop/test_shop_database_roles.py fails on a table without a decision.

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['shop_app', 'shop_etl'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                -- No password: in AWS they log in with IAM tokens (rds_iam below); locally trust auth.
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another migration (another schema's) created it a moment ago
            END;
        END IF;
        -- RDS: IAM database authentication (a 15-minute token instead of a password, so no
        -- password to rotate). The role exists on RDS only.
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam')
           AND NOT pg_has_role(role_name, 'rds_iam', 'MEMBER') THEN
            EXECUTE format('GRANT rds_iam TO %I', role_name);
        END IF;
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO shop_app, shop_etl', current_schema());
END;
$$;

-- shop_app: only what the app tier's code (shop/app/db/) does, table by table. UPDATE where it
-- locks rows FOR UPDATE / FOR NO KEY UPDATE too (PostgreSQL asks for it). Identity columns draw
-- from their sequences without a grant; USAGE below is for any nextval the code may call.
GRANT SELECT, INSERT, UPDATE ON customer TO shop_app;            -- sign-up; the checkout's per-customer row lock
GRANT SELECT, INSERT ON customer_contact TO shop_app;            -- sign-up, login, display names
GRANT SELECT, INSERT, UPDATE ON product TO shop_app;             -- sellers' products, stock
GRANT SELECT, INSERT ON product_image TO shop_app;
GRANT SELECT, INSERT, UPDATE ON purchase TO shop_app;            -- order lines and their status
GRANT SELECT, INSERT ON review TO shop_app;
GRANT SELECT, INSERT, DELETE ON shop_session TO shop_app;        -- login, logout, expiry
GRANT SELECT, INSERT, DELETE ON login_failure TO shop_app;       -- the login limit, and forgetting
GRANT SELECT, INSERT, UPDATE, DELETE ON cart_item TO shop_app;
GRANT SELECT, INSERT, UPDATE ON customer_order TO shop_app;
GRANT SELECT, INSERT, UPDATE ON payment TO shop_app;
GRANT SELECT ON schema_migrations TO shop_app;                   -- readiness: is the schema current?
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO shop_app', current_schema());
END;
$$;

-- shop_etl: SELECT on the columns the nightly extract reads (glue/shoplake_etl/tables.py), and
-- product names for the curated product dimension; never customer_contact, sessions or payments.
GRANT SELECT (customer_id, birth_year, gender, country, region, is_test_account, signed_up_at, updated_at)
    ON customer TO shop_etl;
GRANT SELECT (product_id, name, category, price, currency, created_at, updated_at) ON product TO shop_etl;
GRANT SELECT (purchase_id, order_id, customer_id, product_id, quantity, unit_price, currency, status,
              ordered_at, paid_at, updated_at)
    ON purchase TO shop_etl;
GRANT SELECT (review_id, purchase_id, rating, body, created_at, updated_at) ON review TO shop_etl;
