# Sourced by tests/search_load.sh and tests/search_crash.sh: the pgbench scripts of the write
# load, one statement per transaction (one segment each); UPDATE and DELETE pick a random
# resource by its number n (a deleted one: nothing to do). Needs public.load_text and the
# sequence public.load_n from tests/search_corpus.sql.
#   write_scripts DIR SPEC   writes DIR/insert.sql, DIR/update.sql, DIR/delete.sql
write_scripts() {
  local dir=$1 spec=$2
  cat > "$dir/insert.sql" <<SQL
INSERT INTO api.$spec (title, body, n) VALUES ('load', public.load_text(8 + (random() * 12)::integer), nextval('public.load_n'));
SQL
  cat > "$dir/update.sql" <<SQL
UPDATE api.$spec SET body = public.load_text(8 + (random() * 12)::integer)
 WHERE n = (SELECT 1 + floor(random() * last_value)::integer FROM public.load_n);
SQL
  cat > "$dir/delete.sql" <<SQL
DELETE FROM api.$spec WHERE n = (SELECT 1 + floor(random() * last_value)::integer FROM public.load_n);
SQL
}
