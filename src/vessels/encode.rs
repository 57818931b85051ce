//! AIS encoding: what the simulator sends and the benchmark decodes. Payloads are built bit by
//! bit, armoured six bits to a character and cut into `!AIVDM` sentences with their checksum
//! (and a tag block carrying the time). Decoding them is `ais`'s job; the tests check the two
//! against sentences made by pyais.

/// A payload under construction.
#[derive(Default)]
struct BitWriter {
    bits: Vec<u8>,
}

impl BitWriter {
    fn uint(&mut self, v: u64, n: usize) -> &mut Self {
        for i in (0..n).rev() {
            self.bits.push(((v >> i) & 1) as u8);
        }
        self
    }

    fn int(&mut self, v: i64, n: usize) -> &mut Self {
        self.uint((v as u64) & ((1u64 << n) - 1), n)
    }

    /// Six-bit ASCII, padded with `@`.
    fn text(&mut self, s: &str, chars: usize) -> &mut Self {
        let mut codes = s.bytes().map(|b| {
            let b = b.to_ascii_uppercase();
            match b {
                64..=95 => (b - 64) as u64,
                32..=63 => b as u64,
                _ => 0,
            }
        });
        for _ in 0..chars {
            self.uint(codes.next().unwrap_or(0), 6);
        }
        self
    }

    /// The armoured payload and its fill bits.
    fn armour(&self) -> (String, u8) {
        let fill = (6 - self.bits.len() % 6) % 6;
        let mut out = String::with_capacity(self.bits.len() / 6 + 1);
        for chunk in self.bits.chunks(6) {
            let mut v = 0u8;
            for i in 0..6 {
                v = (v << 1) | chunk.get(i).copied().unwrap_or(0);
            }
            out.push((if v < 40 { v + 48 } else { v + 56 }) as char);
        }
        (out, fill as u8)
    }
}

/// A position to encode.
#[derive(Debug, Clone, Copy)]
pub struct PositionReport {
    pub mmsi: u32,
    /// True for class B (type 18), false for class A (type 1).
    pub class_b: bool,
    /// Navigational status (class A): 0 under way, 1 at anchor, 5 moored, 7 fishing.
    pub status: u8,
    pub lon: f64,
    pub lat: f64,
    pub speed_kn: f64,
    pub course: f64,
    pub heading: Option<u16>,
    pub second: u8,
}

fn lon_raw(lon: f64) -> i64 {
    (lon * 600_000.0).round() as i64
}

/// The payload of a type 1 or type 18 report.
pub fn position_payload(p: &PositionReport) -> (String, u8) {
    let mut w = BitWriter::default();
    let speed = (p.speed_kn * 10.0).round().clamp(0.0, 1022.0) as u64;
    let course = (p.course.rem_euclid(360.0) * 10.0).round() as u64 % 3600;
    let heading = p.heading.map_or(511, |h| (h % 360) as u64);
    if p.class_b {
        w.uint(18, 6).uint(0, 2).uint(p.mmsi as u64, 30).uint(0, 8);
        w.uint(speed, 10).uint(0, 1);
        w.int(lon_raw(p.lon), 28).int(lon_raw(p.lat), 27);
        w.uint(course, 12).uint(heading, 9).uint(p.second as u64, 6);
        w.uint(0, 2)
            .uint(1, 1)
            .uint(0, 1)
            .uint(1, 1)
            .uint(1, 1)
            .uint(1, 1);
        w.uint(0, 1).uint(0, 1).uint(0, 20);
    } else {
        w.uint(1, 6)
            .uint(0, 2)
            .uint(p.mmsi as u64, 30)
            .uint(p.status as u64, 4);
        w.int(-128, 8).uint(speed, 10).uint(0, 1);
        w.int(lon_raw(p.lon), 28).int(lon_raw(p.lat), 27);
        w.uint(course, 12).uint(heading, 9).uint(p.second as u64, 6);
        w.uint(0, 2).uint(0, 3).uint(0, 1).uint(0, 19);
    }
    w.armour()
}

/// Static data to encode.
#[derive(Debug, Clone)]
pub struct StaticReport {
    pub mmsi: u32,
    pub name: String,
    pub call_sign: String,
    pub ship_type: u8,
    pub length_m: u16,
}

/// The payload of a type 5 message (424 bits: two sentences).
pub fn static_a_payload(s: &StaticReport) -> (String, u8) {
    let mut w = BitWriter::default();
    w.uint(5, 6)
        .uint(0, 2)
        .uint(s.mmsi as u64, 30)
        .uint(0, 2)
        .uint(0, 30);
    w.text(&s.call_sign, 7)
        .text(&s.name, 20)
        .uint(s.ship_type as u64, 8);
    let bow = (s.length_m / 2) as u64;
    w.uint(bow, 9)
        .uint(s.length_m as u64 - bow, 9)
        .uint(3, 6)
        .uint(3, 6);
    w.uint(1, 4)
        .uint(0, 4)
        .uint(0, 5)
        .uint(0, 5)
        .uint(0, 6)
        .uint(0, 8);
    w.text("", 20).uint(0, 1).uint(0, 1);
    w.armour()
}

/// The payloads of a type 24 part A (name) and part B (type, call sign, size).
pub fn static_b_payloads(s: &StaticReport) -> [(String, u8); 2] {
    let mut a = BitWriter::default();
    a.uint(24, 6).uint(0, 2).uint(s.mmsi as u64, 30).uint(0, 2);
    a.text(&s.name, 20);
    let mut b = BitWriter::default();
    b.uint(24, 6).uint(0, 2).uint(s.mmsi as u64, 30).uint(1, 2);
    b.uint(s.ship_type as u64, 8)
        .text("", 3)
        .uint(0, 4)
        .uint(0, 20);
    b.text(&s.call_sign, 7);
    let bow = (s.length_m / 2) as u64;
    b.uint(bow, 9)
        .uint(s.length_m as u64 - bow, 9)
        .uint(2, 6)
        .uint(2, 6);
    b.uint(1, 4).uint(0, 2);
    [a.armour(), b.armour()]
}

/// Cuts a payload into `!AIVDM` sentences (at most 60 characters each), every one prefixed
/// with a tag block carrying `time_s` when given. `seq` (0…9) keys multi-sentence messages.
pub fn sentences(
    payload: &(String, u8),
    channel: char,
    seq: u8,
    time_s: Option<i64>,
) -> Vec<String> {
    let (payload, fill) = payload;
    let chunks: Vec<&str> = payload
        .as_bytes()
        .chunks(60)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    let n = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let seq = if n > 1 {
                (seq % 10).to_string()
            } else {
                String::new()
            };
            let f = if i + 1 == n { *fill } else { 0 };
            let body = format!("AIVDM,{n},{},{seq},{channel},{chunk},{f}", i + 1);
            let line = format!("!{body}*{:02X}", checksum(&body));
            match time_s {
                Some(t) => {
                    let tag = format!("c:{t}");
                    format!("\\{tag}*{:02X}\\{line}", checksum(&tag))
                }
                None => line,
            }
        })
        .collect()
}

fn checksum(s: &str) -> u8 {
    s.bytes().fold(0, |a, b| a ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vessels::ais::{Message, Reassembler, decode, parse_sentence};

    fn roundtrip(lines: &[String]) -> Message {
        let mut r = Reassembler::default();
        let mut out = None;
        for (i, l) in lines.iter().enumerate() {
            let s = parse_sentence(l).unwrap();
            if let Some((p, f)) = r.push(s, i as u64) {
                out = Some(decode(&p, f).unwrap());
            }
        }
        out.expect("a whole message")
    }

    #[test]
    fn positions_and_statics_decode_back() {
        for class_b in [false, true] {
            let p = PositionReport {
                mmsi: 412_345_678,
                class_b,
                status: 7,
                lon: 119.123456,
                lat: -25.5,
                speed_kn: 4.3,
                course: 271.4,
                heading: Some(270),
                second: 17,
            };
            let lines = sentences(&position_payload(&p), 'A', 0, Some(1_780_000_000));
            assert_eq!(lines.len(), 1);
            assert_eq!(
                parse_sentence(&lines[0]).unwrap().time_s,
                Some(1_780_000_000)
            );
            let Message::Position(d) = roundtrip(&lines) else {
                panic!()
            };
            assert_eq!(d.mmsi, 412_345_678);
            assert!((d.lon.unwrap() - 119.123456).abs() < 1e-5);
            assert!((d.lat.unwrap() + 25.5).abs() < 1e-5);
            assert_eq!(d.speed_kn, Some(4.3));
            assert_eq!(d.course, Some(271.4));
            assert_eq!(d.heading, Some(270));
            assert_eq!(d.msg_type, if class_b { 18 } else { 1 });
        }
        let s = StaticReport {
            mmsi: 412_000_001,
            name: "MIN PU YU 01234".into(),
            call_sign: "BZ123".into(),
            ship_type: 30,
            length_m: 33,
        };
        let lines = sentences(&static_a_payload(&s), 'B', 3, None);
        assert_eq!(lines.len(), 2);
        let Message::Static(d) = roundtrip(&lines) else {
            panic!()
        };
        assert_eq!(d.name.as_deref(), Some("MIN PU YU 01234"));
        assert_eq!(d.call_sign.as_deref(), Some("BZ123"));
        assert_eq!((d.ship_type, d.length_m), (Some(30), Some(33)));
        for payload in static_b_payloads(&s) {
            let Message::Static(d) = roundtrip(&sentences(&payload, 'A', 0, None)) else {
                panic!()
            };
            assert_eq!(d.mmsi, 412_000_001);
        }
    }
}
