-- The example specs `make up` registers. Registering an identical spec again is a no-op,
-- so this file can run on every `make up`. Run from the repository root:
--   psql -v ON_ERROR_STOP=1 -f examples/register.sql
\set author `cat examples/author.json`
\set article `cat examples/article.json`
SELECT specstar.register_spec('author', :'author');
SELECT specstar.register_spec('article', :'article', '{"events": {"feed": true}}');
-- a job queue (docs/jobs.md): enqueue with POST /notification, work with examples/job_worker.py
SELECT specstar.register_spec('notification',
  '{"type": "object", "title": "Notification", "properties": {"to": {"type": "string", "minLength": 3}, "subject": {"type": "string", "minLength": 1}}, "required": ["to", "subject"]}',
  '{"job": {"max_attempts": 3, "lease": "30s", "result_schema": {"type": "object"}}}');
