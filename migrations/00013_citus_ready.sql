-- +goose Up
-- Citus-ready keys (owned by internal/db; checked by
-- TestTenantKeysIncludeTenantID). The convention for every tenant table,
-- that is every table with a tenant_id column except tenants and api_keys:
--   - tenant_id uuid NOT NULL is the first key column:
--     PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, ...);
--   - a foreign key to another tenant table pairs tenant_id with tenant_id:
--     FOREIGN KEY (tenant_id, x_id) REFERENCES x (tenant_id, id);
--   - a foreign key to tenants is FOREIGN KEY (tenant_id) REFERENCES tenants (id);
--   - no ON DELETE SET NULL / SET DEFAULT and no ON UPDATE CASCADE on a key with tenant_id.
-- Then `cairn migrate up` on a database with the citus extension can
-- distribute every tenant table by tenant_id, co-located, without
-- dropping a key (db.CitusStatements). The keys of migrations 00001-00009
-- already follow it; this migration records the two reference tables.
COMMENT ON TABLE tenants IS 'Citus reference table (copied to every node)';
COMMENT ON TABLE api_keys IS 'Citus reference table (copied to every node); looked up by key hash without a tenant';

-- +goose Down
COMMENT ON TABLE api_keys IS NULL;
COMMENT ON TABLE tenants IS NULL;
