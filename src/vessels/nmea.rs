//! One feed of NMEA lines (a TCP connection, the UDP socket, one HTTP body) turned into
//! positions and static reports: each feed has its own fragment reassembly, and every line
//! that cannot be used is counted by why.

use super::ais::{self, DecodeError, Message, Reassembler, SentenceError, Static};
use super::model::{Class, Fix, Source};

/// Lines longer than this are not NMEA (an AIVDM sentence is at most 82 characters; tag
/// blocks add some).
pub const MAX_LINE: usize = 512;

/// Why lines were not used, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LineCounts {
    pub lines: u64,
    pub sentences: u64,
    pub positions: u64,
    pub statics: u64,
    pub checksum: u64,
    pub malformed: u64,
    pub not_ais: u64,
    pub unsupported: u64,
    pub too_long: u64,
    /// Positions without a usable lon/lat (181/91).
    pub no_position: u64,
    /// Fragments of messages that never completed.
    pub fragments_dropped: u64,
}

impl LineCounts {
    pub fn add(&mut self, o: &LineCounts) {
        self.lines += o.lines;
        self.sentences += o.sentences;
        self.positions += o.positions;
        self.statics += o.statics;
        self.checksum += o.checksum;
        self.malformed += o.malformed;
        self.not_ais += o.not_ais;
        self.unsupported += o.unsupported;
        self.too_long += o.too_long;
        self.no_position += o.no_position;
        self.fragments_dropped += o.fragments_dropped;
    }
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BadLine {
    pub line: u64,
    pub code: &'static str,
    pub message: String,
}

/// The decoding state of one feed.
#[derive(Default)]
pub struct Feed {
    reassembler: Reassembler,
    pub counts: LineCounts,
    evicted_seen: u64,
}

/// What one line gave.
pub enum Decoded {
    Nothing,
    Position(Fix),
    Static(Static),
}

impl Feed {
    /// Decodes one line received at `now_ms` (a tag block's time wins).
    pub fn line(&mut self, line: &str, now_ms: i64) -> Result<Decoded, BadLine> {
        self.counts.lines += 1;
        let n = self.counts.lines;
        let bad = |code: &'static str, message: String| BadLine {
            line: n,
            code,
            message,
        };
        if line.len() > MAX_LINE {
            self.counts.too_long += 1;
            return Err(bad(
                "too_long",
                format!("行长 {} 字节，超过 {MAX_LINE} (line too long)", line.len()),
            ));
        }
        let s = match ais::parse_sentence(line) {
            Ok(s) => s,
            Err(e) => {
                let code = match e {
                    SentenceError::Checksum => {
                        self.counts.checksum += 1;
                        "checksum"
                    }
                    SentenceError::NotAis => {
                        self.counts.not_ais += 1;
                        "not_ais"
                    }
                    SentenceError::Malformed(_) => {
                        self.counts.malformed += 1;
                        "malformed"
                    }
                };
                return Err(bad(code, e.to_string()));
            }
        };
        self.counts.sentences += 1;
        let at_ms = s.time_s.map_or(now_ms, |t| t * 1000);
        let whole = self.reassembler.push(s, n);
        let evicted = self.reassembler.evicted;
        self.counts.fragments_dropped += evicted - self.evicted_seen;
        self.evicted_seen = evicted;
        let Some((payload, fill)) = whole else {
            return Ok(Decoded::Nothing);
        };
        match ais::decode(&payload, fill) {
            Ok(Message::Position(p)) => {
                let (Some(lon), Some(lat)) = (p.lon, p.lat) else {
                    self.counts.no_position += 1;
                    return Ok(Decoded::Nothing);
                };
                self.counts.positions += 1;
                Ok(Decoded::Position(Fix {
                    mmsi: p.mmsi,
                    at_ms,
                    lon,
                    lat,
                    speed_kn: p.speed_kn.map(|v| v as f32),
                    course: p.course.map(|v| v as f32),
                    heading: p.heading,
                    status: p.status,
                    class: Class::of_message(p.msg_type),
                    source: Source::Ais,
                }))
            }
            Ok(Message::Static(st)) => {
                self.counts.statics += 1;
                Ok(Decoded::Static(st))
            }
            Err(e) => {
                let code = match e {
                    DecodeError::Unsupported(_) => {
                        self.counts.unsupported += 1;
                        "unsupported"
                    }
                    DecodeError::Short(..) => {
                        self.counts.malformed += 1;
                        "malformed"
                    }
                };
                Err(bad(code, e.to_string()))
            }
        }
    }
}
