-- +goose Up
-- Term statistics without triggers (owned by textsearch/termstats).
--
-- The statement-level triggers of 00004 read transition tables, which
-- Citus cannot run ("executor could not find named tuplestore"). Writers
-- of chunks now count the statistics in Go and append them as deltas in
-- the same transaction as the chunks (deletes append negative ones):
-- rows are only ever inserted, so concurrent ingests and deletes of the
-- same terms never wait for or overwrite each other. Readers sum
-- term_stats + term_stat_deltas (tenant_text_stats +
-- tenant_text_stat_deltas); termstats.Compact folds a tenant's deltas
-- into the summary tables in one transaction.
DROP TRIGGER chunks_stats_delete ON chunks;
DROP TRIGGER chunks_stats_insert ON chunks;
DROP FUNCTION chunks_stats_delete();
DROP FUNCTION chunks_stats_insert();

CREATE TABLE term_stat_deltas (
    tenant_id uuid NOT NULL,
    term      text NOT NULL,
    df        bigint NOT NULL
);
CREATE INDEX term_stat_deltas_term ON term_stat_deltas (tenant_id, term);

CREATE TABLE tenant_text_stat_deltas (
    tenant_id uuid NOT NULL,
    chunks    bigint NOT NULL,
    tokens    bigint NOT NULL
);
CREATE INDEX tenant_text_stat_deltas_tenant ON tenant_text_stat_deltas (tenant_id);

-- +goose Down
INSERT INTO term_stats AS s (tenant_id, term, df)
SELECT tenant_id, term, sum(df) FROM term_stat_deltas GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (tenant_id, term) DO UPDATE SET df = s.df + excluded.df;
INSERT INTO tenant_text_stats AS s (tenant_id, chunks, tokens)
SELECT tenant_id, sum(chunks), sum(tokens) FROM tenant_text_stat_deltas GROUP BY 1 ORDER BY 1
ON CONFLICT (tenant_id) DO UPDATE SET chunks = s.chunks + excluded.chunks, tokens = s.tokens + excluded.tokens;
DROP TABLE tenant_text_stat_deltas;
DROP TABLE term_stat_deltas;

-- +goose StatementBegin
CREATE FUNCTION chunks_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO term_stats AS s (tenant_id, term, df)
    SELECT n.tenant_id, u.lexeme, count(*)
    FROM new_rows n, unnest(n.tsv) u
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (tenant_id, term) DO UPDATE SET df = s.df + excluded.df;
    INSERT INTO tenant_text_stats AS s (tenant_id, chunks, tokens)
    SELECT n.tenant_id, count(*), coalesce(sum(length(n.tsv)), 0)
    FROM new_rows n
    GROUP BY 1
    ORDER BY 1
    ON CONFLICT (tenant_id) DO UPDATE SET chunks = s.chunks + excluded.chunks, tokens = s.tokens + excluded.tokens;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION chunks_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE term_stats s SET df = s.df - o.df
    FROM (SELECT d.tenant_id, u.lexeme AS term, count(*) AS df
          FROM old_rows d, unnest(d.tsv) u GROUP BY 1, 2 ORDER BY 1, 2) o
    WHERE s.tenant_id = o.tenant_id AND s.term = o.term;
    UPDATE tenant_text_stats s SET chunks = s.chunks - o.chunks, tokens = s.tokens - o.tokens
    FROM (SELECT d.tenant_id, count(*) AS chunks,
                 coalesce(sum(length(d.tsv)), 0) AS tokens
          FROM old_rows d GROUP BY 1) o
    WHERE s.tenant_id = o.tenant_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER chunks_stats_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_insert();
CREATE TRIGGER chunks_stats_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_delete();
