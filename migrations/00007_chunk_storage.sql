-- +goose Up
-- Keep a chunk's embedding and tsvector in its heap row, and its content
-- and search terms in TOAST. By default pgvector's type is the first
-- value moved to TOAST once a row passes 2 kB, and the tsvector follows:
-- an exact vector scan of a small tenant (retrieval's ExactBelow) then
-- read three TOAST buffers a row, and the text leg detoasted every
-- candidate's tsvector. Measured on 12,000 XQuAD chunks: the exact scan
-- reads 5,100 buffers instead of 38,300, and 300 candidates' tsvectors
-- none beyond their heap pages instead of about 770; hydrating a hit's
-- content costs about three buffers more. Rows written from now on.
-- Owned by the retrieval package (numbered after main's 00006).
ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN, ALTER COLUMN tsv SET STORAGE MAIN;
ALTER TABLE chunks SET (toast_tuple_target = 3000);

-- +goose Down
ALTER TABLE chunks RESET (toast_tuple_target);
ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL, ALTER COLUMN tsv SET STORAGE EXTENDED;
