#!/usr/bin/env python3
"""PostgREST the way specstar runs it — one definition of the configuration for `make up`
(scripts/dev-up.sh), the HTTP tests and the benchmark — and starting/stopping the binary
installed in .tools/bin. Standard library only.

    scripts/postgrest.py conf DB PGPORT HTTP_PORT SECRET   prints the configuration
    scripts/postgrest.py start CONF LOG HTTP_PORT          starts it detached, prints its pid
"""
import os
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("POSTGREST", os.path.join(ROOT, ".tools", "bin", "postgrest"))


def conf(db, pg_port, http_port, secret):
    return f"""# written by scripts/postgrest.py: the development setup, not for production
db-uri = "postgres://authenticator:authenticator@127.0.0.1:{pg_port}/{db}"
db-schemas = "api"
db-anon-role = "web_anon"
db-channel-enabled = true
db-pre-request = "specstar.pre_request"
jwt-secret = "{secret}"
server-host = "127.0.0.1"
server-port = {http_port}
log-level = "error"
"""


def start(conf_path, log_path, http_port, timeout=20, detach=False):
    """Starts PostgREST in the background; returns once GET / answers."""
    log = open(log_path, "w")
    proc = subprocess.Popen([BINARY, conf_path], stdout=log, stderr=subprocess.STDOUT, start_new_session=detach)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError("PostgREST did not start:\n" + open(log_path).read())


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "conf":
        print(conf(*sys.argv[2:]), end="")
    elif len(sys.argv) == 5 and sys.argv[1] == "start":
        print(start(sys.argv[2], sys.argv[3], sys.argv[4], detach=True).pid)
    else:
        sys.exit(__doc__)
