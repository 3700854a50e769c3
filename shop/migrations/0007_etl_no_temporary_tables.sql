-- Review 17: the ETL's login writes nothing into the shop database, not even temporary tables.
-- PostgreSQL gives PUBLIC the TEMPORARY privilege on every database; neither shop role needs it
-- (the app and the extract only read and write the shop's own tables), so PUBLIC loses it here.
-- The database's owner runs the migrations (in AWS the RDS master user, who owns the database).
--
-- Not revocable here, and so not revoked: PUBLIC's EXECUTE on the large-object functions
-- (lo_from_bytea, lo_create) and on the advisory-lock functions. They belong to the bootstrap
-- superuser (rdsadmin on RDS), whom no migration can act as; docs/shop.md says so, and
-- tests/functional/test_etl_attack17.py keeps both as known faults.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END;
$$;
