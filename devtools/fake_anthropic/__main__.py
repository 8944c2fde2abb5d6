"""Run the fake provider: ``python -m devtools.fake_anthropic --port 0``. It prints
``Fake Anthropic API listening on http://127.0.0.1:<port>`` once it accepts calls."""

import argparse
import os
import sys

from .server import make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.fake_anthropic")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port the OS picks")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("FAKE_ANTHROPIC_API_KEY") or None,
        help="the one key accepted (x-api-key or Bearer); default: any non-empty key",
    )
    options = parser.parse_args(argv)
    server = make_server(options.host, options.port, options.api_key)
    host, port = server.server_address[:2]
    print(f"Fake Anthropic API listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
