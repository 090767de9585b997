-- +goose Up
-- Retrieval (owned by the retrieval package).
--
-- Term statistics for the text leg's BM25 score: document frequency per
-- (tenant, lexeme) and chunk/length totals per tenant (a chunk's length is
-- its number of distinct lexemes, length(tsv), cheap to read at query
-- time). Maintained by statement-level triggers on chunks, so COPY pays
-- once per statement, not per row. They count every stored chunk, older
-- versions included: an approximation that keeps the statistics cheap;
-- IDF moves little.
CREATE TABLE term_stats (
    tenant_id uuid NOT NULL,
    term      text NOT NULL,
    df        bigint NOT NULL,
    PRIMARY KEY (tenant_id, term)
);

CREATE TABLE tenant_text_stats (
    tenant_id uuid PRIMARY KEY,
    chunks    bigint NOT NULL,
    tokens    bigint NOT NULL
);

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

-- +goose Down
DROP TRIGGER chunks_stats_delete ON chunks;
DROP TRIGGER chunks_stats_insert ON chunks;
DROP FUNCTION chunks_stats_delete();
DROP FUNCTION chunks_stats_insert();
DROP TABLE tenant_text_stats;
DROP TABLE term_stats;
