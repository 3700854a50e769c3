-- A payment attempt is written, and committed, before the provider is asked ('pending'), and its
-- answer afterwards: a task that dies in between leaves a row to settle with the provider
-- (shop.app.db.payments), never a capture nobody knows of. An order has at most one attempt
-- without an answer at a time, and cannot be cancelled while it has one.
ALTER TABLE payment DROP CONSTRAINT payment_outcome_check;
ALTER TABLE payment ADD CONSTRAINT payment_outcome_check CHECK (outcome IN ('pending', 'authorised', 'declined'));
ALTER TABLE payment ADD COLUMN answered_at timestamptz;
UPDATE payment SET answered_at = created_at;
ALTER TABLE payment ADD CONSTRAINT payment_answered CHECK ((outcome = 'pending') = (answered_at IS NULL));
CREATE UNIQUE INDEX payment_pending_once ON payment (order_id) WHERE outcome = 'pending';
