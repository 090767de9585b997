-- +goose Up
-- Keep a chunk's embedding in its heap row (storage MAIN) rather than in
-- TOAST, where pgvector's type puts it by default once a row passes 2 kB
-- (content, search_terms and tsv push it there): an exact scan of a small
-- tenant (retrieval's ExactBelow) then reads one heap page per few rows
-- instead of three TOAST buffers per row (10,000 rows: 2,500 buffers and
-- 11 ms instead of 32,000 buffers and 33 ms). The text columns are the
-- ones moved to TOAST instead. Applies to rows written from now on.
-- Owned by the retrieval package (numbered after main's 00006).
ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN;

-- +goose Down
ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL;
