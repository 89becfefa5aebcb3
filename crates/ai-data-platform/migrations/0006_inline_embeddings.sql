-- Keep embeddings in the row. pgvector's default storage (EXTENDED) tries to
-- compress every 6 KB vector (random floats never compress) and then moves
-- it to the TOAST table: an extra heap row and index entry per insert and a
-- detour per read. PLAIN keeps it inline; a 1536-d vector fits a page next
-- to the other columns (text_content is still compressed or moved out when
-- large). Applies to rows written from now on; existing rows move on their
-- next update or a table rewrite (VACUUM FULL).
ALTER TABLE data_platform.text_embeddings ALTER COLUMN embedding SET STORAGE PLAIN;
