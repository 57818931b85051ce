#!/usr/bin/env python3
"""AIS oracle fixture: NMEA sentences encoded by pyais, and what pyais decodes back.

Writes, in the same order (multi-sentence messages on consecutive lines):
  tests/data/ais/pyais.nmea   the sentences, one per line;
  tests/data/ais/pyais.jsonl  one JSON object per message: pyais's own decoding of those
                              sentences, normalised to the schema onemap's decoder
                              (src/vessels/ais.rs) is checked against.

Deterministic (random.Random(11)); re-running gives byte-identical files. Needs pyais 3.3.1:
  python3 -m venv .onemap/pyvenv && .onemap/pyvenv/bin/pip install pyais==3.3.1
  .onemap/pyvenv/bin/python scripts/ais-fixture.py
"""

import collections
import json
import pathlib
import random

import pyais
from pyais.messages import ShipType
from pyais.stream import IterMessages

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "ais"

rng = random.Random(11)

# ---------------------------------------------------------------------------------------------
# Vessels around Putian (Meizhou Bay, Xinghua Bay): MID 412/413, Chinese style names and calls.
# ---------------------------------------------------------------------------------------------

PREFIXES = ["MIN PU YU", "MIN SHI YU", "XING HUA WAN", "MEI ZHOU WAN", "PU TIAN HAI YUN",
            "HAI XIA", "ZHONG GU FU ZHOU", "FU YUAN YU", "XIN HAI", "HUA XIN", "MIN JIANG",
            "DONG FANG XING", "HAI XUN", "MEI HUA"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Ship types that pyais's ShipType enum keeps as they are (types 5 and 19 pass through it; a
# reserved code such as 26 would be rewritten to its range's representative, 25).
CLASS_A_TYPES = [30, 31, 52, 60, 69, 70, 79, 80, 89, 90, 99]
CLASS_B_TYPES = [30, 36, 37, 52, 90]
assert all(int(ShipType.from_value(v)) == v for v in CLASS_A_TYPES + CLASS_B_TYPES + [0, 50, 89])


def vessel_name():
    name = f"{rng.choice(PREFIXES)} {rng.randrange(1, 99999)}"
    return name[:20]


def call_sign():
    return "B" + "".join(rng.choice(LETTERS) for _ in range(3)) + str(rng.randrange(10))


def make_fleet(n, class_a):
    fleet = []
    mmsis = set()
    while len(fleet) < n:
        mmsi = rng.choice((412, 413)) * 1_000_000 + rng.randrange(1_000_000)
        if mmsi in mmsis:
            continue
        mmsis.add(mmsi)
        fleet.append({
            "mmsi": mmsi,
            "class_a": class_a,
            "name": vessel_name(),
            "callsign": call_sign(),
            "ship_type": rng.choice(CLASS_A_TYPES if class_a else CLASS_B_TYPES),
            "to_bow": rng.randrange(5, 150) if class_a else rng.randrange(3, 20),
            "to_stern": rng.randrange(3, 60) if class_a else rng.randrange(2, 10),
            "lon": rng.uniform(118.9, 119.4),
            "lat": rng.uniform(24.9, 25.6),
        })
    return fleet


FLEET_A = make_fleet(40, class_a=True)
FLEET_B = make_fleet(30, class_a=False)


def step(v):
    """Moves a vessel a little (kept inside the Putian box)."""
    v["lon"] = min(119.4, max(118.9, v["lon"] + rng.uniform(-0.01, 0.01)))
    v["lat"] = min(25.6, max(24.9, v["lat"] + rng.uniform(-0.01, 0.01)))
    return v["lon"], v["lat"]


def tenths(lo, hi):
    """A value with one decimal, drawn as an integer number of tenths."""
    return rng.randrange(int(lo * 10), int(hi * 10) + 1) / 10


# ---------------------------------------------------------------------------------------------
# Messages to encode: random traffic, then hand-picked edge cases, shuffled together.
# Each entry is (pyais data dict, NMEA options).
# ---------------------------------------------------------------------------------------------


def position_a(v, msg_type):
    lon, lat = step(v)
    return {
        "type": msg_type, "mmsi": v["mmsi"], "status": rng.choice([0, 0, 0, 1, 5, 7, 8, 15]),
        "speed": tenths(0, 18), "accuracy": rng.random() < 0.5, "lon": lon, "lat": lat,
        "course": tenths(0, 359.9), "heading": rng.randrange(360) if rng.random() < 0.9 else 511,
        "second": rng.randrange(60),
    }


def position_b(v, msg_type):
    lon, lat = step(v)
    data = {
        "type": msg_type, "mmsi": v["mmsi"], "speed": tenths(0, 12), "lon": lon, "lat": lat,
        "course": tenths(0, 359.9), "heading": rng.randrange(360) if rng.random() < 0.5 else 511,
        "second": rng.randrange(60), "cs": True,
    }
    if msg_type == 19:
        data.update(shipname=v["name"], ship_type=v["ship_type"],
                    to_bow=v["to_bow"], to_stern=v["to_stern"], to_port=2, to_starboard=2)
    return data


def static_5(v):
    return {
        "type": 5, "mmsi": v["mmsi"], "ais_version": 0, "imo": rng.randrange(9_000_000, 9_999_999),
        "callsign": v["callsign"], "shipname": v["name"], "ship_type": v["ship_type"],
        "to_bow": v["to_bow"], "to_stern": v["to_stern"], "to_port": 5, "to_starboard": 5,
        "epfd": 1, "month": rng.randrange(1, 13), "day": rng.randrange(1, 29),
        "hour": rng.randrange(24), "minute": rng.randrange(60), "draught": tenths(1, 12),
        "destination": rng.choice(["PUTIAN", "XIUYU", "MEIZHOU BAY", "FUZHOU", "XIAMEN"]),
    }


def static_24(v, part):
    if part == 0:
        return {"type": 24, "mmsi": v["mmsi"], "partno": 0, "shipname": v["name"]}
    return {
        "type": 24, "mmsi": v["mmsi"], "partno": 1, "ship_type": v["ship_type"],
        "vendorid": "SRT", "callsign": v["callsign"], "to_bow": v["to_bow"],
        "to_stern": v["to_stern"], "to_port": 1, "to_starboard": 2,
    }


def random_traffic():
    """Class A: types 1/2/3 and 5; class B: types 18/19 and 24 A/B."""
    plan = [(1, 115), (2, 20), (3, 40), (5, 45), (18, 75), (19, 18), ("24A", 32), ("24B", 32)]
    out = []
    for kind, count in plan:
        for _ in range(count):
            if kind in (1, 2, 3):
                out.append(position_a(rng.choice(FLEET_A), kind))
            elif kind == 5:
                out.append(static_5(rng.choice(FLEET_A)))
            elif kind in (18, 19):
                out.append(position_b(rng.choice(FLEET_B), kind))
            else:
                out.append(static_24(rng.choice(FLEET_B), 0 if kind == "24A" else 1))
    return out


def edge_cases():
    a, b = FLEET_A[0], FLEET_B[0]
    na = {"lon": 181, "lat": 91}  # position not available
    cases = [
        # Everything "not available" at once: lon 181, lat 91, speed 1023 raw, course 3600,
        # heading 511.
        dict(position_a(a, 1), **na, speed=102.3, course=360.0, heading=511),
        dict(position_a(a, 3), **na),
        dict(position_b(b, 18), **na, heading=511),
        dict(position_b(b, 19), **na, speed=102.3, course=360.0, heading=511),
        # One field not available at a time.
        dict(position_a(a, 1), speed=102.3),
        dict(position_a(a, 2), course=360.0),
        dict(position_a(a, 3), heading=511),
        dict(position_b(b, 18), speed=102.3),
        dict(position_b(b, 18), course=360.0),
        # Largest available values.
        dict(position_a(a, 1), speed=102.2, course=359.9, heading=359),
        dict(position_b(b, 18), speed=102.2, course=359.9, heading=359),
        dict(position_a(a, 1), status=15),
        # Zeros and the corners of the world.
        dict(position_a(a, 1), lon=0.0, lat=0.0, speed=0.0, course=0.0, heading=0, status=0),
        dict(position_a(a, 3), lon=180.0, lat=90.0),
        dict(position_a(a, 1), lon=-180.0, lat=-90.0),
        dict(position_b(b, 18), lon=-0.000002, lat=-0.000001),
        # West and south (negative lon/lat), east and south.
        dict(position_a(a, 1), mmsi=366123456, lon=-122.419417, lat=37.774929),
        dict(position_a(a, 1), mmsi=710001234, lon=-43.172896, lat=-22.906847),
        dict(position_b(b, 18), mmsi=503123450, lon=151.209296, lat=-33.868820),
        dict(position_b(b, 19), mmsi=725000777, lon=-71.627340, lat=-33.047238,
             shipname="VALPARAISO PILOT", ship_type=50),
        dict(position_a(a, 3), mmsi=232004567, lon=-0.127758, lat=51.507351),
        # MMSI extremes.
        dict(position_a(a, 1), mmsi=1),
        dict(position_b(b, 18), mmsi=999_999_999),
        # Type 5: fishing vessel with dimensions; a 20 character name (no '@' padding); a name
        # longer than 20 (truncated by the encoder); lower case (upper-cased by the encoder);
        # trailing spaces before the '@' padding; nothing known (empty texts, ship type 0,
        # no dimensions); the largest dimensions.
        dict(static_5(a), shipname="MIN PU YU 61234", callsign="BZPT7", ship_type=30,
             to_bow=24, to_stern=9),
        dict(static_5(a), shipname="PU TIAN HAI YUN 1688", callsign="BQAB7"),
        dict(static_5(a), shipname="ZHONG GU FU ZHOU HAO 12", callsign="BVKM3XY"),
        dict(static_5(a), shipname="xing hua wan 8", callsign="bxhw8"),
        dict(static_5(a), shipname="FU YUAN YU 7   ", callsign="BF7 "),
        dict(static_5(a), shipname="", callsign="", ship_type=0, to_bow=0, to_stern=0),
        dict(static_5(a), to_bow=511, to_stern=511, ship_type=89),
        # Type 24: part A with a 20 character name, a short one, an empty one, one padded with
        # spaces; part B with nothing known.
        dict(static_24(b, 0), shipname="HAI XIA KUAI YUN 168"),
        dict(static_24(b, 0), shipname="MEI HUA 3"),
        dict(static_24(b, 0), shipname=""),
        dict(static_24(b, 0), shipname="HAI XUN 06          "),
        dict(static_24(b, 1), ship_type=37, callsign="BYAC9", to_bow=8, to_stern=4),
        dict(static_24(b, 1), ship_type=0, callsign="", to_bow=0, to_stern=0, to_port=0,
             to_starboard=0),
    ]
    return cases


def nmea_options(i):
    """Channel, talker sentence (a few own-ship VDO) and sequence id for multi-part messages."""
    return {
        "radio_channel": rng.choice("AB"),
        "sentence_type": "VDO" if rng.random() < 0.04 else "VDM",
        "seq_id": i % 10,
    }


# ---------------------------------------------------------------------------------------------
# Normalisation of pyais's decoded messages to the fixture schema.
# ---------------------------------------------------------------------------------------------


def text(value):
    value = (value or "").rstrip("@ ")
    return value or None


def normalise(msg, sentences):
    def get(name):
        return getattr(msg, name, None)

    t = msg.msg_type
    lon, lat = get("lon"), get("lat")
    speed, course, heading = get("speed"), get("course"), get("heading")
    ship_type = get("ship_type")
    bow, stern = get("to_bow"), get("to_stern")
    length = (bow or 0) + (stern or 0)  # both 0 (or absent) = not available
    return {
        "type": t,
        "mmsi": msg.mmsi,
        "sentences": sentences,
        "lon": None if lon is None or lon == 181 else lon,
        "lat": None if lat is None or lat == 91 else lat,
        "speed_kn": None if speed is None or speed == 102.3 else speed,
        "course": None if course is None or course >= 360 else course,
        "heading": None if heading is None or heading >= 360 else heading,
        "status": int(msg.status) if t in (1, 2, 3) else None,
        "name": text(get("shipname")),
        "call_sign": text(get("callsign")),
        "ship_type": int(ship_type) if ship_type else None,  # 0 = not available
        "length_m": length if length else None,
        "part": msg.partno if t == 24 else None,
    }


def check(data, row):
    """Sanity check pyais's round trip against what was asked for (catches a library change)."""
    assert row["type"] == data["type"] and row["mmsi"] == data["mmsi"], (data, row)
    if "lon" in data and data["lon"] != 181:
        # Half a 1/600000 degree step, plus pyais's rounding to 6 decimals.
        tol = 0.5 / 600_000 + 0.5e-6 + 1e-12
        assert abs(row["lon"] - data["lon"]) <= tol, (data, row)
        assert abs(row["lat"] - data["lat"]) <= tol, (data, row)
    if "speed" in data and data["speed"] != 102.3:
        assert row["speed_kn"] == data["speed"], (data, row)
    if "course" in data and data["course"] != 360:
        assert row["course"] == data["course"], (data, row)


def main():
    if pyais.__version__ != "3.3.1":
        print(f"warning: pyais {pyais.__version__}, the fixture was made with 3.3.1")
    messages = random_traffic() + edge_cases()
    rng.shuffle(messages)

    lines, counts = [], []
    for i, data in enumerate(messages):
        # pyais picks the class by `type` but takes the type bits from `msg_type`, whose default
        # is 1 for the MessageType1 subclasses: without it, types 2 and 3 would go out as 1.
        data["msg_type"] = data["type"]
        sentences = pyais.encode_dict(data, talker_id="AI", **nmea_options(i))
        lines.extend(sentences)
        counts.append(len(sentences))

    # Decode the sentences back as a reader of the file would, reassembling multi-part ones.
    decoded = [m.decode() for m in IterMessages(line.encode() for line in lines)]
    assert len(decoded) == len(messages), (len(decoded), len(messages))
    rows = [normalise(m, n) for m, n in zip(decoded, counts)]
    for data, row in zip(messages, rows):
        check(data, row)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pyais.nmea").write_text("".join(line + "\n" for line in lines))
    (OUT / "pyais.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))

    kinds = collections.Counter(
        f"24{'AB'[r['part']]}" if r["type"] == 24 else str(r["type"]) for r in rows)
    order = sorted(kinds, key=lambda k: (int(k.rstrip("AB")), k))
    positions = [r for r in rows if r["type"] in (1, 2, 3, 18, 19)]
    absent = {k: sum(r[k] is None for r in positions) for k in ("lon", "speed_kn", "course", "heading")}
    print(f"pyais {pyais.__version__}: {len(rows)} messages, {len(lines)} sentences "
          f"-> tests/data/ais/pyais.{{nmea,jsonl}}")
    print("  by type: " + ", ".join(f"{k}: {kinds[k]}" for k in order))
    print("  positions not available: " + ", ".join(f"{k} {n}" for k, n in absent.items()))

if __name__ == "__main__":
    main()
