-- The corpus of the search load and crash tests (tests/search_load.sh, tests/search_crash.sh):
-- the extension, a spec whose only searchable property is `body` (language simple), a fixed
-- vocabulary and functions that make text from it, and `preload` resources.
--
--   psql -v spec=NAME -v preload=N -f tests/search_corpus.sql
--
-- The vocabulary is 1100 ASCII words of two or three syllables, drawn with a skew (word i
-- about as often as 1/sqrt(i)) so that some words are in many resources and many in few.
-- Texts start with a capital, end with a full stop and use commas, hyphens and now and then
-- a number, so that the simple analyzer's work (split on anything not a letter or digit,
-- lowercase) matters; tests/search_oracle.sql does the same in SQL. The preload is the same
-- on every run (setseed); the loads that follow are random.
CREATE EXTENSION specstar;

SELECT specstar.register_spec(:'spec', jsonb_build_object(
  'type', 'object',
  'properties', jsonb_build_object(
    'title', jsonb_build_object('type', 'string'),
    'body', jsonb_build_object('type', 'string', 'x-search', true),
    'n', jsonb_build_object('type', 'integer', 'x-index', true)),
  'required', jsonb_build_array('body')),
  '{"search": {"language": "simple"}}') ->> 'name' AS registered;

-- numbers the resources (n), so that a load can pick a random one cheaply
CREATE SEQUENCE public.load_n;

CREATE TABLE public.load_vocab (i integer PRIMARY KEY, w text NOT NULL UNIQUE);
INSERT INTO public.load_vocab (i, w)
SELECT row_number() OVER (ORDER BY md5(w)), w
  FROM (SELECT s1 || s2 || s3 AS w
          FROM unnest('{ka,lo,mi,nu,pe,ra,so,ti,vu,ze}'::text[]) s1,
               unnest('{ba,de,fi,go,hu,ja,ke,li,mo,ny}'::text[]) s2,
               unnest('{ran,sel,tor,vin,wex,dal,gon,pim,qua,rus}'::text[]) s3
        UNION ALL
        SELECT s1 || s2
          FROM unnest('{ka,lo,mi,nu,pe,ra,so,ti,vu,ze}'::text[]) s1,
               unnest('{bo,du,fa,ge,hi,jo,ku,la,me,ni}'::text[]) s2) v;

-- word i of the vocabulary (1..1100)
CREATE FUNCTION public.load_word(i integer) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT w FROM public.load_vocab WHERE i = $1 $$;

-- a random text of `words` words
CREATE FUNCTION public.load_text(words integer) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(CASE WHEN x.g = 1 THEN initcap(v.w) ELSE v.w END
                    || CASE WHEN x.g = words THEN '.'
                            WHEN x.r < 0.08 THEN ', '
                            WHEN x.r < 0.12 THEN '-'
                            WHEN x.r < 0.14 THEN ' (' || (x.r * 1000)::integer || ') '
                            ELSE ' ' END, '' ORDER BY x.g)
    FROM (SELECT g, random() AS r, 1 + floor(1100 * random() ^ 2)::integer AS k
            FROM generate_series(1, words) g) x
    JOIN public.load_vocab v ON v.i = x.k
$$;

-- the preload, in statements of 200 resources (a segment each, merged as they come)
SELECT setseed(0.4242);
SELECT format('INSERT INTO api.%I (title, body, n) SELECT %L, public.load_text(8 + (random() * 12)::integer), nextval(%L) FROM generate_series(1, %s)',
              :'spec', 'preload', 'public.load_n', least(200, :preload - b * 200))
  FROM generate_series(0, ceil(:preload / 200.0)::integer - 1) b ORDER BY b
\gexec

