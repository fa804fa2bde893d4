"""``python -m bot.healthcheck [URL]``: exit 0 when ``/readyz`` answers 200 (the
container's HEALTHCHECK; standard library only, so it starts in milliseconds).

Without URL it asks ``http://127.0.0.1:$COMMANDCENTER_METRICS_PORT/readyz`` when
that port is set (a worker), else ``http://127.0.0.1:$PORT/readyz`` (the web face).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def default_url(env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    port = env.get("COMMANDCENTER_METRICS_PORT") or env.get("PORT") or "8000"
    return f"http://127.0.0.1:{port}/readyz"


def check(url: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200, f"{response.status} {response.read(300).decode()}"
    except urllib.error.HTTPError as err:
        return False, f"{err.code} {err.read(300).decode(errors='replace')}"
    except (OSError, ValueError) as err:
        return False, f"{type(err).__name__}: {err}"


def main(argv: list[str]) -> int:
    url = argv[0] if argv else default_url()
    ok, detail = check(url)
    print(f"{url}: {detail}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
