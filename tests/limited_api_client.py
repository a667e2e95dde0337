"""A client of the test API for ``run:`` branches, in the way any language would do it.

Usage: python limited_api_client.py URL [TOKENS]

Prints the API's JSON reply and a usage signal. On a 429 it prints a rate-limit signal
with the server's Retry-After on stderr and exits 75.
"""

import json
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = sys.argv[1]
    tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    request = urllib.request.Request(url, headers={"X-Tokens": str(tokens)})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read().decode()
    except urllib.error.HTTPError as error:
        if error.code != 429:
            raise
        after = float(error.headers.get("Retry-After", "1"))
        signal = {"rate_limited": {"retry_after": after}}
        print("::fanout::", json.dumps(signal), file=sys.stderr, flush=True)
        print("429 Too Many Requests", file=sys.stderr)
        return 75
    print("::fanout::", json.dumps({"usage": {"input_tokens": tokens}}), file=sys.stderr)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
