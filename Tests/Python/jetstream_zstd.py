"""Independent check of Jetstream's zstd compression, with the `zstandard`
package (the zstd reference library's Python binding) and `websockets`.

Usage:
  jetstream_zstd.py subscribe URL DICT COUNT
      Connects to URL (a /subscribe with compress=true or without, see
      --header), reads COUNT messages, requires each to be a binary
      message that decompresses with DICT, and prints each JSON on a line.
  jetstream_zstd.py compress DICT FILE
      Compresses each line of FILE with DICT, as Jetstream's server does,
      and prints each frame in hex on a line.
"""

import json
import sys

import zstandard
from websockets.sync.client import connect


def dictionary(path: str) -> zstandard.ZstdCompressionDict:
    with open(path, "rb") as f:
        return zstandard.ZstdCompressionDict(f.read())


def subscribe(url: str, dict_path: str, count: int) -> None:
    decompressor = zstandard.ZstdDecompressor(dict_data=dictionary(dict_path))
    with connect(url, open_timeout=10, max_size=16 << 20) as ws:
        for _ in range(count):
            message = ws.recv(timeout=30)
            if not isinstance(message, bytes):
                sys.exit(f"expected a binary (zstd) message, got text: {message[:200]}")
            text = decompressor.decompress(message).decode("utf-8")
            json.loads(text)  # must be JSON
            print(text, flush=True)


def compress(dict_path: str, file: str) -> None:
    compressor = zstandard.ZstdCompressor(level=3, dict_data=dictionary(dict_path))
    with open(file, "rb") as f:
        for line in f.read().splitlines():
            if line:
                print(compressor.compress(line).hex())


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "subscribe":
        subscribe(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "compress":
        compress(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")
