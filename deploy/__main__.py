"""The container's entrypoint (and `dev.py prod`'s):

python -m deploy                  serve: nginx in front of gunicorn (deploy/launch.py)
python -m deploy serve ADDRESS    the same, on ADDRESS (HOST:PORT) instead of BIND/PORT
python -m deploy migrate [ARGS]   apply migrations, once however many instances start at once
python -m deploy healthcheck      exit 0 when the front answers /healthz (the HEALTHCHECK)
python -m deploy COMMAND [ARGS]   anything else runs as given (a shell, manage.py, gunicorn)
"""

import os
import sys
import urllib.request

from deploy.launch import MIGRATE, ROOT, probe_url, serve


def healthcheck() -> int:
    try:
        with urllib.request.urlopen(probe_url(os.environ), timeout=2) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


def main(argv: list[str]) -> int:
    command, *args = argv or ["serve"]
    if command == "serve":
        return serve(args[0] if args else None)
    if command == "healthcheck":
        return healthcheck()
    if command == "migrate":
        os.chdir(ROOT)
        os.execv(MIGRATE[0], [*MIGRATE, *args])
    os.execvp(command, [command, *args])
    return 1  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
