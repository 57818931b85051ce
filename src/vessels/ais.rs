//! AIS over NMEA 0183 (`!AIVDM`/`!AIVDO`), the groundwork of issue #11: sentences checked
//! (checksum, fields), fragments reassembled by (count, sequence id, channel) with eviction of
//! those that never complete, the six-bit armour undone (fill bits honoured), and message
//! types 1, 2, 3 (class A position), 5 (static and voyage), 18, 19 (class B position) and 24
//! A/B (class B static) decoded, with "not available" values as `None`.

use std::collections::HashMap;

/// Why a line is not a usable sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SentenceError {
    #[error("not an AIVDM/AIVDO sentence")]
    NotAis,
    #[error("bad checksum")]
    Checksum,
    #[error("malformed sentence: {0}")]
    Malformed(&'static str),
}

/// One checked sentence (a fragment of a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub own: bool,
    pub count: u8,
    pub number: u8,
    pub seq: Option<u8>,
    pub channel: Option<char>,
    pub payload: String,
    pub fill: u8,
    /// The time of a tag block's `c:` field (Unix seconds), if the line has one.
    pub time_s: Option<i64>,
}

/// The `c:` time of a tag block `\c:1700000000*5A\` (its checksum checked), if any.
fn tag_time(tag: &str) -> Result<Option<i64>, SentenceError> {
    let (body, sum) = tag
        .rsplit_once('*')
        .ok_or(SentenceError::Malformed("tag block without checksum"))?;
    let want = sum
        .get(..2)
        .and_then(|h| u8::from_str_radix(h, 16).ok())
        .ok_or(SentenceError::Malformed("tag block checksum"))?;
    if body.bytes().fold(0u8, |a, b| a ^ b) != want {
        return Err(SentenceError::Checksum);
    }
    for field in body.split(',') {
        if let Some(t) = field.strip_prefix("c:") {
            let t: i64 = t
                .parse()
                .map_err(|_| SentenceError::Malformed("tag block time"))?;
            // Milliseconds are allowed by some receivers.
            return Ok(Some(if t > 100_000_000_000 { t / 1000 } else { t }));
        }
    }
    Ok(None)
}

/// Parses one line (an optional tag block `\…\` before the `!` is skipped).
pub fn parse_sentence(line: &str) -> Result<Sentence, SentenceError> {
    let line = line.trim();
    let start = line.find('!').ok_or(SentenceError::NotAis)?;
    let time_s = match line[..start].strip_prefix('\\') {
        Some(tag) => tag_time(tag.trim_end_matches('\\'))?,
        None => None,
    };
    let line = &line[start..];
    let (body, sum) = line[1..]
        .rsplit_once('*')
        .ok_or(SentenceError::Malformed("no checksum"))?;
    let want = u8::from_str_radix(
        sum.get(..2)
            .ok_or(SentenceError::Malformed("short checksum"))?,
        16,
    )
    .map_err(|_| SentenceError::Malformed("checksum is not hex"))?;
    if body.bytes().fold(0u8, |a, b| a ^ b) != want {
        return Err(SentenceError::Checksum);
    }
    let f: Vec<&str> = body.split(',').collect();
    if f.len() != 7 {
        return Err(SentenceError::Malformed("expected 7 fields"));
    }
    let own = match f[0].get(2..) {
        Some("VDM") => false,
        Some("VDO") => true,
        _ => return Err(SentenceError::NotAis),
    };
    let num = |s: &str, what| s.parse::<u8>().map_err(|_| SentenceError::Malformed(what));
    let count = num(f[1], "fragment count")?;
    let number = num(f[2], "fragment number")?;
    if count == 0 || count > 9 || number == 0 || number > count {
        return Err(SentenceError::Malformed("fragment numbers"));
    }
    let seq = if f[3].is_empty() {
        None
    } else {
        Some(num(f[3], "sequence id")?)
    };
    let channel = f[4].chars().next();
    let payload = f[5];
    if payload.is_empty()
        || !payload
            .bytes()
            .all(|b| (48..=87).contains(&b) || (96..=119).contains(&b))
    {
        return Err(SentenceError::Malformed("payload characters"));
    }
    let fill = num(f[6], "fill bits")?;
    if fill > 5 {
        return Err(SentenceError::Malformed("fill bits"));
    }
    Ok(Sentence {
        own,
        count,
        number,
        seq,
        channel,
        payload: payload.to_string(),
        fill,
        time_s,
    })
}

/// Fragments of one message are keyed by (count, sequence id, channel).
type FragmentKey = (u8, Option<u8>, Option<char>);

/// Collects the fragments of multi-sentence messages.
#[derive(Default)]
pub struct Reassembler {
    pending: HashMap<FragmentKey, (Vec<Sentence>, u64)>,
    /// Fragments dropped because their message never completed.
    pub evicted: u64,
}

/// Fragments older than this many sentences are given up.
const MAX_AGE: u64 = 1000;

impl Reassembler {
    /// Adds a sentence; the whole payload (and its fill bits) when a message is complete.
    /// `tick` counts sentences (the age of fragments is measured in it).
    pub fn push(&mut self, s: Sentence, tick: u64) -> Option<(String, u8)> {
        if s.count == 1 {
            return Some((s.payload, s.fill));
        }
        let key = (s.count, s.seq, s.channel);
        if s.number == 1 {
            if let Some((old, _)) = self.pending.remove(&key) {
                self.evicted += old.len() as u64;
            }
            self.pending.insert(key, (vec![s], tick));
        } else {
            let Some((frags, _)) = self.pending.get_mut(&key) else {
                self.evicted += 1;
                return None;
            };
            if frags.last().map(|f| f.number + 1) != Some(s.number) {
                let (old, _) = self.pending.remove(&key).unwrap_or_default();
                self.evicted += old.len() as u64 + 1;
                return None;
            }
            frags.push(s);
            if frags.len() == key.0 as usize {
                let (frags, _) = self.pending.remove(&key)?;
                let fill = frags.last().map_or(0, |f| f.fill);
                return Some((frags.into_iter().map(|f| f.payload).collect(), fill));
            }
        }
        if self.pending.len() > 64 || tick.is_multiple_of(64) {
            let before: usize = self.pending.values().map(|(f, _)| f.len()).sum();
            self.pending
                .retain(|_, (_, t)| tick.saturating_sub(*t) <= MAX_AGE);
            let after: usize = self.pending.values().map(|(f, _)| f.len()).sum();
            self.evicted += (before - after) as u64;
        }
        None
    }
}

/// The bits of an armoured payload.
pub struct Bits {
    bits: Vec<u8>,
}

impl Bits {
    pub fn new(payload: &str, fill: u8) -> Bits {
        let mut bits = Vec::with_capacity(payload.len() * 6);
        for b in payload.bytes() {
            let mut v = b - 48;
            if v > 40 {
                v -= 8;
            }
            for k in (0..6).rev() {
                bits.push((v >> k) & 1);
            }
        }
        bits.truncate(bits.len().saturating_sub(fill as usize));
        Bits { bits }
    }

    pub fn len(&self) -> usize {
        self.bits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    pub fn uint(&self, start: usize, n: usize) -> u64 {
        (start..start + n).fold(0, |a, i| {
            (a << 1) | self.bits.get(i).copied().unwrap_or(0) as u64
        })
    }

    pub fn int(&self, start: usize, n: usize) -> i64 {
        let v = self.uint(start, n) as i64;
        if n > 0 && v >> (n - 1) & 1 == 1 {
            v - (1 << n)
        } else {
            v
        }
    }

    /// Six-bit ASCII text, trailing `@` and spaces removed.
    pub fn text(&self, start: usize, n: usize) -> String {
        let s: String = (0..n / 6)
            .map(|i| {
                let c = self.uint(start + i * 6, 6) as u8;
                (if c < 32 { c + 64 } else { c }) as char
            })
            .collect();
        s.trim_end_matches(['@', ' ']).to_string()
    }
}

/// A position report (types 1, 2, 3, 18, 19).
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub msg_type: u8,
    pub mmsi: u32,
    /// Navigational status (class A; 15 = not defined).
    pub status: Option<u8>,
    pub speed_kn: Option<f64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub course: Option<f64>,
    pub heading: Option<u16>,
    pub second: u8,
}

/// Static data (types 5, 19, 24).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Static {
    pub mmsi: u32,
    pub name: Option<String>,
    pub call_sign: Option<String>,
    pub ship_type: Option<u8>,
    /// Bow + stern, metres.
    pub length_m: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Position(Position),
    Static(Static),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message type {0} is not decoded")]
    Unsupported(u8),
    #[error("message type {0} has {1} bits, too few")]
    Short(u8, usize),
}

fn lon_lat(b: &Bits, lon_at: usize, lat_at: usize) -> (Option<f64>, Option<f64>) {
    let lon = b.int(lon_at, 28) as f64 / 600_000.0;
    let lat = b.int(lat_at, 27) as f64 / 600_000.0;
    let ok = (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
    if ok {
        (Some(lon), Some(lat))
    } else {
        (None, None)
    }
}

fn speed(raw: u64) -> Option<f64> {
    (raw != 1023).then_some(raw as f64 / 10.0)
}

fn course(raw: u64) -> Option<f64> {
    (raw < 3600).then_some(raw as f64 / 10.0)
}

fn heading(raw: u64) -> Option<u16> {
    (raw < 360).then_some(raw as u16)
}

fn text(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Decodes a reassembled payload.
pub fn decode(payload: &str, fill: u8) -> Result<Message, DecodeError> {
    let b = Bits::new(payload, fill);
    let t = b.uint(0, 6) as u8;
    let need = |n: usize| {
        if b.len() < n {
            Err(DecodeError::Short(t, b.len()))
        } else {
            Ok(())
        }
    };
    let mmsi = b.uint(8, 30) as u32;
    match t {
        1..=3 => {
            need(168)?;
            let (lon, lat) = lon_lat(&b, 61, 89);
            Ok(Message::Position(Position {
                msg_type: t,
                mmsi,
                status: Some(b.uint(38, 4) as u8),
                speed_kn: speed(b.uint(50, 10)),
                lon,
                lat,
                course: course(b.uint(116, 12)),
                heading: heading(b.uint(128, 9)),
                second: b.uint(137, 6) as u8,
            }))
        }
        18 | 19 => {
            need(if t == 18 { 168 } else { 312 })?;
            let (lon, lat) = lon_lat(&b, 57, 85);
            Ok(Message::Position(Position {
                msg_type: t,
                mmsi,
                status: None,
                speed_kn: speed(b.uint(46, 10)),
                lon,
                lat,
                course: course(b.uint(112, 12)),
                heading: heading(b.uint(124, 9)),
                second: b.uint(133, 6) as u8,
            }))
        }
        5 => {
            // 424 bits as specified; 420 and 422 are common truncations.
            need(420)?;
            Ok(Message::Static(Static {
                mmsi,
                call_sign: text(b.text(70, 42)),
                name: text(b.text(112, 120)),
                ship_type: Some(b.uint(232, 8) as u8).filter(|v| *v != 0),
                length_m: Some((b.uint(240, 9) + b.uint(249, 9)) as u16).filter(|v| *v != 0),
            }))
        }
        24 => {
            need(160)?;
            if b.uint(38, 2) == 0 {
                Ok(Message::Static(Static {
                    mmsi,
                    name: text(b.text(40, 120)),
                    ..Default::default()
                }))
            } else {
                need(162)?;
                Ok(Message::Static(Static {
                    mmsi,
                    ship_type: Some(b.uint(40, 8) as u8).filter(|v| *v != 0),
                    call_sign: text(b.text(90, 42)),
                    length_m: Some((b.uint(132, 9) + b.uint(141, 9)) as u16).filter(|v| *v != 0),
                    ..Default::default()
                }))
            }
        }
        other => Err(DecodeError::Unsupported(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_a_position_from_the_gpsd_documentation() {
        let s = parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C").unwrap();
        let mut r = Reassembler::default();
        let (p, fill) = r.push(s, 1).unwrap();
        let Message::Position(m) = decode(&p, fill).unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.msg_type, m.mmsi, m.status, m.heading, m.second),
            (1, 477_553_000, Some(5), Some(181), 15)
        );
        assert_eq!(m.speed_kn, Some(0.0));
        assert_eq!(m.course, Some(51.0));
        assert!((m.lon.unwrap() + 122.345_833).abs() < 1e-6);
        assert!((m.lat.unwrap() - 47.582_833).abs() < 1e-6);
    }

    #[test]
    fn bad_lines_are_refused_with_a_reason() {
        assert_eq!(
            parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5D"),
            Err(SentenceError::Checksum)
        );
        assert_eq!(parse_sentence("$GPGGA,1,2"), Err(SentenceError::NotAis));
        assert!(parse_sentence("!AIVDM,1,1,,B,177KQJ50").is_err());
        assert!(parse_sentence("\u{0}\u{ff}garbage").is_err());
        // A tag block before the sentence is skipped.
        assert!(
            parse_sentence("\\s:rx1*72\\!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C").is_ok()
        );
        // Its time is read, its checksum checked.
        let s = parse_sentence(
            "\\s:rx1,c:1780000000*09\\!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C",
        );
        assert_eq!(s.unwrap().time_s, Some(1_780_000_000));
        assert_eq!(
            parse_sentence("\\c:1780000000*00\\!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C"),
            Err(SentenceError::Checksum)
        );
    }

    #[test]
    fn fragments_that_never_complete_are_evicted() {
        let frag = |n: u8, seq: u8| Sentence {
            own: false,
            count: 2,
            number: n,
            seq: Some(seq),
            channel: Some('A'),
            payload: "0".into(),
            fill: 0,
            time_s: None,
        };
        let mut r = Reassembler::default();
        assert!(r.push(frag(1, 1), 1).is_none());
        assert!(r.push(frag(2, 2), 2).is_none());
        assert_eq!(r.evicted, 1);
        assert_eq!(r.push(frag(2, 1), 3), Some(("00".to_string(), 0)));
        for t in 0..2000u64 {
            r.push(frag(1, (t % 10) as u8), t);
        }
        assert!(r.pending.len() <= 10);
    }

    #[test]
    fn not_available_values_become_none() {
        // A type 1 report with speed 1023, lon 181, lat 91, course 3600 and heading 511,
        // armoured by hand.
        let mut bits = [0u8; 168];
        let mut put = |start: usize, n: usize, v: i64| {
            for k in 0..n {
                bits[start + k] = ((v >> (n - 1 - k)) & 1) as u8;
            }
        };
        put(0, 6, 1);
        put(8, 30, 412_000_001);
        put(50, 10, 1023);
        put(61, 28, 181 * 600_000);
        put(89, 27, 91 * 600_000);
        put(116, 12, 3600);
        put(128, 9, 511);
        let payload: String = bits
            .chunks(6)
            .map(|c| {
                let v = c.iter().fold(0u8, |a, b| (a << 1) | b);
                (if v < 40 { v + 48 } else { v + 56 }) as char
            })
            .collect();
        let Message::Position(m) = decode(&payload, 0).unwrap() else {
            panic!()
        };
        assert_eq!(m.mmsi, 412_000_001);
        assert_eq!(
            (m.speed_kn, m.lon, m.lat, m.course, m.heading),
            (None, None, None, None, None)
        );
        assert_eq!(decode("0", 0), Err(DecodeError::Unsupported(0)));
        assert_eq!(decode("1", 0), Err(DecodeError::Short(1, 6)));
    }
}
