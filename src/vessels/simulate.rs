//! A seeded fishing fleet that sends real AIVDM sentences: boats berthed overnight near their
//! harbour, dawn departures through the fairway, trawling at 3–5 kn on grounds 10–30 km out,
//! returns in the afternoon; some boats stay in, a few go dark at sea, class B boats report
//! at their slower rates, and a sentence in 150 is corrupted. Times travel in tag blocks, so a
//! day can be replayed faster than real time. One boat leaves during a closure of its
//! harbour (`closure_plan`: whoever runs the simulator declares it).

use super::encode::{self, PositionReport, StaticReport};
use super::port::distance_m;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A boat of the simulated fleet.
#[derive(Debug, Clone)]
pub struct SimBoat {
    pub mmsi: u32,
    pub class_b: bool,
    pub name: String,
    pub call_sign: String,
    pub length_m: u16,
    pub harbour_id: i32,
    pub harbour: (f64, f64),
    pub fairway: (f64, f64),
}

const DAY: i64 = 86_400_000;
/// Beijing time is UTC+8.
const BEIJING: i64 = 8 * 3_600_000;
const TRANSIT_KN: f64 = 8.0;
const STATIC_EVERY: i64 = 360_000;

#[derive(Debug, Clone, Copy)]
struct Waypoint {
    at: i64,
    lon: f64,
    lat: f64,
}

/// One boat's day: where it is when.
struct Day {
    index: i64,
    waypoints: Vec<Waypoint>,
    /// Silent from this time on (dark at sea).
    dark_from: Option<i64>,
}

struct Boat {
    spec: SimBoat,
    berth: (f64, f64),
    bearing: f64,
    next_position: i64,
    next_static: i64,
    day: Option<Day>,
}

/// A closure the simulation plays against: harbour, from, to (Unix ms), and the boat that
/// leaves during it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosurePlan {
    pub harbour_id: i32,
    pub from_ms: i64,
    pub to_ms: i64,
    pub mmsi: u32,
}

pub struct Simulator {
    seed: u64,
    boats: Vec<Boat>,
    rng: ChaCha8Rng,
    seq: u8,
    closure: Option<ClosurePlan>,
    /// Sentences sent and corrupted on purpose.
    pub sent: u64,
    pub corrupted: u64,
}

fn offset(p: (f64, f64), bearing: f64, m: f64) -> (f64, f64) {
    super::demo::offset(p.0, p.1, bearing, m)
}

fn bearing_of(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dx = (b.0 - a.0) * a.1.to_radians().cos();
    let dy = b.1 - a.1;
    dx.atan2(dy).to_degrees().rem_euclid(360.0)
}

fn mix(seed: u64, a: u64, b: i64) -> u64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for v in [a, b as u64] {
        h = (h ^ v).wrapping_mul(0x1000_0000_01b3).rotate_left(29);
    }
    h
}

impl Simulator {
    /// The fleet from `start_ms` on.
    pub fn new(boats: Vec<SimBoat>, seed: u64, start_ms: i64) -> Simulator {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let boats: Vec<Boat> = boats
            .into_iter()
            .map(|spec| {
                let bearing = bearing_of(spec.harbour, spec.fairway);
                let berth = offset(
                    spec.harbour,
                    bearing + rng.random_range(-120.0..120.0),
                    rng.random_range(100.0..600.0),
                );
                Boat {
                    berth,
                    bearing,
                    // Every boat reports within its first ten seconds (a berthed one then
                    // every three minutes, one under way every ten or thirty seconds).
                    next_position: start_ms + rng.random_range(0..10_000),
                    next_static: start_ms + rng.random_range(0..STATIC_EVERY),
                    spec,
                    day: None,
                }
            })
            .collect();
        let mut sim = Simulator {
            seed,
            boats,
            rng,
            seq: 0,
            closure: None,
            sent: 0,
            corrupted: 0,
        };
        sim.closure = sim.plan_closure(start_ms);
        sim
    }

    pub fn boats(&self) -> usize {
        self.boats.len()
    }

    /// The closure to declare: the first departing boat of the first boat's harbour leaves an
    /// hour after its harbour closes (a typhoon warning), on the first day after the start.
    pub fn closure_plan(&self) -> Option<ClosurePlan> {
        self.closure
    }

    fn plan_closure(&mut self, start_ms: i64) -> Option<ClosurePlan> {
        let harbour = self.boats.first()?.spec.harbour_id;
        let seed = self.seed;
        let mut first: Option<(i64, u32)> = None;
        for b in self.boats.iter().filter(|b| b.spec.harbour_id == harbour) {
            let d = day_index(start_ms);
            for day in [d, d + 1] {
                let (stays, depart, _) = schedule(seed, b.spec.mmsi, day);
                if !stays && depart > start_ms && first.is_none_or(|(t, _)| depart < t) {
                    first = Some((depart, b.spec.mmsi));
                    break;
                }
            }
        }
        let (depart, mmsi) = first?;
        Some(ClosurePlan {
            harbour_id: harbour,
            from_ms: depart - 3_600_000,
            to_ms: depart + 8 * 3_600_000,
            mmsi,
        })
    }

    /// Every sentence due up to `now_ms`, in time order per boat.
    pub fn step(&mut self, now_ms: i64) -> Vec<String> {
        let mut out = Vec::new();
        let seed = self.seed;
        let closure = self.closure;
        for i in 0..self.boats.len() {
            loop {
                let b = &mut self.boats[i];
                let t = b.next_position.min(b.next_static);
                if t > now_ms {
                    break;
                }
                let day = day_index(t);
                if b.day.as_ref().is_none_or(|d| d.index != day) {
                    let planned = plan_day(seed, b, day, closure);
                    b.day = Some(planned);
                }
                let Some(d) = b.day.as_ref() else { break };
                let silent = d.dark_from.is_some_and(|f| t >= f);
                let (pos, speed, course) = where_at(&d.waypoints, b.berth, t);
                let second = ((t / 1000) % 60) as u8;
                let time_s = Some(t / 1000);
                if b.next_static <= b.next_position {
                    b.next_static += STATIC_EVERY;
                    if silent {
                        continue;
                    }
                    let s = StaticReport {
                        mmsi: b.spec.mmsi,
                        name: b.spec.name.clone(),
                        call_sign: b.spec.call_sign.clone(),
                        ship_type: 30,
                        length_m: b.spec.length_m,
                    };
                    let payloads = if b.spec.class_b {
                        encode::static_b_payloads(&s).to_vec()
                    } else {
                        vec![encode::static_a_payload(&s)]
                    };
                    self.seq = (self.seq + 1) % 10;
                    for p in payloads {
                        out.extend(encode::sentences(&p, 'B', self.seq, time_s));
                    }
                    continue;
                }
                let moving = speed > 0.5;
                let every = match (b.spec.class_b, moving) {
                    (_, false) => 180_000,
                    (false, true) => 10_000,
                    (true, true) => 30_000,
                };
                b.next_position += every;
                if silent {
                    continue;
                }
                let report = PositionReport {
                    mmsi: b.spec.mmsi,
                    class_b: b.spec.class_b,
                    status: if moving { 7 } else { 5 },
                    lon: pos.0,
                    lat: pos.1,
                    speed_kn: speed,
                    course,
                    heading: Some(course.round() as u16 % 360),
                    second,
                };
                out.extend(encode::sentences(
                    &encode::position_payload(&report),
                    if b.spec.class_b { 'B' } else { 'A' },
                    0,
                    time_s,
                ));
            }
        }
        self.sent += out.len() as u64;
        for line in out.iter_mut() {
            if self.rng.random_range(0..150) == 0 {
                self.corrupted += 1;
                *line = corrupt(line, &mut self.rng);
            }
        }
        out
    }
}

/// The Beijing day of a time.
fn day_index(t: i64) -> i64 {
    (t + BEIJING).div_euclid(DAY)
}

/// Whether the boat stays in on `day`, when it leaves, and how long it fishes (ms).
fn schedule(seed: u64, mmsi: u32, day: i64) -> (bool, i64, i64) {
    let mut r = ChaCha8Rng::seed_from_u64(mix(seed, mmsi as u64, day));
    let stays = r.random_bool(0.12);
    let depart = day * DAY - BEIJING + 4 * 3_600_000 + r.random_range(0..3 * 3_600_000);
    let fish = r.random_range(4 * 3_600_000..8 * 3_600_000);
    (stays, depart, fish)
}

fn plan_day(seed: u64, b: &Boat, day: i64, closure: Option<ClosurePlan>) -> Day {
    let (mut stays, depart, fish) = schedule(seed, b.spec.mmsi, day);
    let mut r = ChaCha8Rng::seed_from_u64(mix(seed ^ 0x5eed, b.spec.mmsi as u64, day));
    if closure.is_some_and(|c| c.mmsi == b.spec.mmsi && day_index(c.from_ms + 3_600_000) == day) {
        stays = false;
    }
    let mut wps = vec![Waypoint {
        at: day * DAY - BEIJING,
        lon: b.berth.0,
        lat: b.berth.1,
    }];
    if stays {
        return Day {
            index: day,
            waypoints: wps,
            dark_from: None,
        };
    }
    let go = |wps: &mut Vec<Waypoint>, to: (f64, f64), kn: f64| {
        let last = *wps.last().expect("a first waypoint");
        let m = distance_m(last.lon, last.lat, to.0, to.1);
        let at = last.at + (m / (kn * 1852.0) * 3_600_000.0) as i64;
        wps.push(Waypoint {
            at,
            lon: to.0,
            lat: to.1,
        });
    };
    wps.push(Waypoint {
        at: depart,
        lon: b.berth.0,
        lat: b.berth.1,
    });
    go(&mut wps, b.spec.fairway, TRANSIT_KN);
    let out_bearing = b.bearing + r.random_range(-35.0..35.0);
    let ground = offset(
        b.spec.fairway,
        out_bearing,
        r.random_range(10_000.0..30_000.0),
    );
    go(&mut wps, ground, TRANSIT_KN);
    let at_ground = wps.last().map_or(depart, |w| w.at);
    let until = at_ground + fish;
    let mut here = ground;
    while wps.last().is_some_and(|w| w.at < until) {
        let kn = r.random_range(3.0..5.0);
        let legs_m = kn * 1852.0 * r.random_range(0.5..1.0);
        // Wander, drifting back toward the ground's centre.
        let back = bearing_of(here, ground);
        let bearing = if distance_m(here.0, here.1, ground.0, ground.1) > 4000.0 {
            back + r.random_range(-40.0..40.0)
        } else {
            r.random_range(0.0..360.0)
        };
        here = offset(here, bearing, legs_m);
        go(&mut wps, here, kn);
    }
    go(&mut wps, b.spec.fairway, TRANSIT_KN);
    go(&mut wps, b.berth, TRANSIT_KN);
    // One boat-day in a hundred goes dark on the grounds.
    let dark_from = r.random_bool(0.01).then_some(at_ground + 1_800_000);
    Day {
        index: day,
        waypoints: wps,
        dark_from,
    }
}

/// Position, speed (kn) and course at `t`.
fn where_at(wps: &[Waypoint], berth: (f64, f64), t: i64) -> ((f64, f64), f64, f64) {
    for w in wps.windows(2) {
        let (a, b) = (w[0], w[1]);
        if t >= a.at && t < b.at {
            let f = (t - a.at) as f64 / (b.at - a.at).max(1) as f64;
            let pos = (a.lon + (b.lon - a.lon) * f, a.lat + (b.lat - a.lat) * f);
            let m = distance_m(a.lon, a.lat, b.lon, b.lat);
            let kn = m / 1852.0 / ((b.at - a.at) as f64 / 3_600_000.0);
            let course = bearing_of((a.lon, a.lat), (b.lon, b.lat));
            return (pos, if m < 1.0 { 0.0 } else { kn }, course);
        }
    }
    (berth, 0.0, 0.0)
}

/// A damaged copy of a line: a flipped payload character, a cut, or noise.
fn corrupt(line: &str, rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..3) {
        0 => {
            let mut b = line.as_bytes().to_vec();
            let i = b.len().saturating_sub(12);
            if let Some(c) = b.get_mut(i) {
                *c = if *c == b'0' { b'1' } else { b'0' };
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        1 => line[..line.len() / 2].to_string(),
        _ => (0..rng.random_range(5..60))
            .map(|_| rng.random_range(33u8..127) as char)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vessels::nmea::{Decoded, Feed};

    fn boats() -> Vec<SimBoat> {
        (0..20)
            .map(|i| SimBoat {
                mmsi: 412_400_001 + i,
                class_b: i % 5 == 0,
                name: format!("MIN PU YU {i:05}"),
                call_sign: format!("BZ{i}"),
                length_m: 30,
                harbour_id: 1 + (i % 2) as i32,
                harbour: (119.1, 25.4),
                fairway: (119.14, 25.39),
            })
            .collect()
    }

    #[test]
    fn a_day_replays_the_same_and_decodes() {
        let start = 1_780_000_000_000;
        let mut a = Simulator::new(boats(), 7, start);
        let mut b = Simulator::new(boats(), 7, start);
        let end = start + DAY;
        let (la, lb) = (a.step(end), b.step(end));
        assert_eq!(la, lb);
        assert!(a.closure_plan().is_some());
        let mut feed = Feed::default();
        let mut moving = 0;
        let mut positions = 0;
        for l in &la {
            if let Ok(Decoded::Position(f)) = feed.line(l, 0) {
                positions += 1;
                assert!(f.at_ms >= start && f.at_ms <= end);
                if f.speed_kn.is_some_and(|s| s > 2.0) {
                    moving += 1;
                }
            }
        }
        assert!(positions > 1000, "{positions}");
        assert!(moving > positions / 3, "{moving} of {positions}");
        let bad = feed.counts.checksum + feed.counts.malformed + feed.counts.not_ais;
        assert!(bad > 0 && bad < la.len() as u64 / 50, "{bad}");
    }
}

#[cfg(test)]
mod daytime {
    use super::*;

    #[test]
    fn at_ten_in_the_morning_most_boats_are_out_and_report_every_ten_seconds() {
        let boats: Vec<SimBoat> = (0..100)
            .map(|i| SimBoat {
                mmsi: 462_410_001 + i,
                class_b: false,
                name: "X".into(),
                call_sign: "Y".into(),
                length_m: 30,
                harbour_id: 1,
                harbour: (119.1, 25.4),
                fairway: (119.14, 25.39),
            })
            .collect();
        let ten = 1_780_000_000_000i64.div_euclid(DAY) * DAY - BEIJING + 10 * 3_600_000;
        let mut sim = Simulator::new(boats, 77, ten);
        sim.step(ten);
        let lines = sim.step(ten + 60_000);
        // Most of 100 boats out, six reports a minute each.
        assert!(lines.len() > 450, "{} lines in a minute", lines.len());
    }
}
