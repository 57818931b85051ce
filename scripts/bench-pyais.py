#!/usr/bin/env python3
"""Decoding throughput of pyais, the reference point for onemap's AIS decoder.

  .onemap/pyvenv/bin/python scripts/bench-pyais.py FILE [--repeat N]

Decodes every sentence of FILE (NMEA 0183, one sentence per line, multi-part messages
reassembled) the common way: pyais.stream.FileReaderStream, checksum checked, `.decode()` on each
message, lon/lat read from the position reports. One process, one core; messages are streamed, never kept, so a
file of millions of lines is fine. Runs N times (default 3) and prints one line of JSON with the
best run.
"""

import argparse
import json
import time

import pyais
from pyais.stream import FileReaderStream

POSITIONS = frozenset((1, 2, 3, 18, 19))


def count_sentences(path):
    """Lines that look like sentences (as FileReaderStream sees them); not timed."""
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if len(line) > 10 and line[:1] in (b"!", b"$", b"\\"):
                n += 1
    return n


def run(path):
    """One pass over the file: (messages, errors, positions, seconds).

    pyais's stream decodes sentences whose checksum is wrong unless asked; onemap refuses them,
    so they are checked here too (`is_valid` computes the checksum lazily) and counted as errors.
    """
    messages = errors = positions = 0
    start = time.perf_counter()
    with FileReaderStream(path) as stream:
        for nmea in stream:
            if not nmea.is_valid:
                errors += 1
                continue
            try:
                msg = nmea.decode()
            except Exception:  # unsupported type or malformed payload: skip it, as a reader would
                errors += 1
                continue
            messages += 1
            if msg.msg_type in POSITIONS and msg.lon is not None and msg.lat is not None:
                positions += 1
    return messages, errors, positions, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--repeat", type=int, default=3, metavar="N")
    args = parser.parse_args()

    sentences = count_sentences(args.file)
    best = None
    for _ in range(max(1, args.repeat)):
        result = run(args.file)
        if best is None or result[3] < best[3]:
            best = result
    messages, errors, positions, seconds = best
    print(json.dumps({
        "decoder": "pyais",
        "version": pyais.__version__,
        "sentences": sentences,
        "messages": messages,
        "errors": errors,
        "positions": positions,
        "seconds": round(seconds, 6),
        "sentences_per_s": round(sentences / seconds) if seconds > 0 else None,
    }))


if __name__ == "__main__":
    main()
