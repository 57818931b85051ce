//! One boat's state machine: what a position or the passing of time does to it.
//!
//! The port rules are Global Fishing Watch's for port visits, so figures compare:
//! - in port within `PORT_IN_M` of a harbour or anchorage, out only beyond `PORT_OUT_M` of it
//!   (hysteresis: a boat hovering between the two does not flicker);
//! - a stop starts under `STOP_START_KN` and ends over `STOP_END_KN`;
//! - a port gap is more than `PORT_GAP` without a position while in port;
//! - a visit (entry to exit) counts when it holds a stop or a gap.
//!
//! At sea a boat goes dark after `DARK` without a position; before that it is lost after the
//! lost-target time of its class and speed (as radar/ECDIS displays use them). A position out
//! of order (older than the last one used) is not used; a position implying more than
//! `MAX_SPEED_KN` from the last one is flagged and not used, unless three in a row agree with
//! each other (the boat really is there; the earlier fix was the wrong one).

use super::model::{Class, EventType, Fix};
use super::port::Harbours;

pub const PORT_IN_M: f64 = 3000.0;
pub const PORT_OUT_M: f64 = 4000.0;
pub const STOP_START_KN: f32 = 0.2;
pub const STOP_END_KN: f32 = 0.5;
/// Milliseconds.
pub const PORT_GAP: i64 = 4 * 3600 * 1000;
pub const DARK: i64 = 6 * 3600 * 1000;
pub const MAX_SPEED_KN: f64 = 50.0;
/// A boat heard (by wall clock) more recently than this is not silent, whatever the times of
/// its positions say: a day replayed faster than real time and a live feed can share the
/// server without the live feed's clock making every replayed boat dark.
pub const HEARD_RECENTLY_MS: i64 = 10_000;
/// Trawling speeds: a boat at sea between these is fishing.
pub const FISHING_KN: (f32, f32) = (1.5, 6.0);

const KNOT_M_PER_MS: f64 = 1852.0 / 3_600_000.0;

/// Lost-target time (milliseconds) by class, speed and navigational status.
pub fn lost_after(class: Option<Class>, speed_kn: Option<f32>, status: Option<u8>) -> i64 {
    let s = speed_kn.unwrap_or(0.0);
    let secs = match class {
        Some(Class::A) => {
            if s <= 3.0 || matches!(status, Some(1) | Some(5)) {
                1080
            } else if s <= 14.0 {
                60
            } else if s <= 23.0 {
                36
            } else {
                30
            }
        }
        // Class B and boats whose class is not known (BeiDou terminals).
        _ => {
            if s <= 2.0 {
                1080
            } else {
                180
            }
        }
    };
    secs * 1000
}

/// Whether the boat is being heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Liveness {
    #[default]
    Live,
    Lost,
    Dark,
}

/// A change of state, to be stored as a vessel event.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub kind: EventType,
    pub at_ms: i64,
    pub lon: f64,
    pub lat: f64,
    pub harbour: Option<i32>,
    /// `gap`: when the silence started; `port_exit`: whether the visit counts and when it began.
    pub since_ms: Option<i64>,
    pub visit: Option<bool>,
}

/// What a position did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Moved the state.
    Used,
    /// Older than (or as old as) the last position used.
    OutOfOrder,
    /// An implausible jump.
    Flagged,
}

/// One boat's state.
#[derive(Debug, Clone, Default)]
pub struct Track {
    pub class: Option<Class>,
    /// The last position used.
    pub last: Option<Fix>,
    /// The harbour it is in.
    pub port: Option<i32>,
    /// When the current visit began, and whether it holds a stop or a gap yet.
    visit_since: Option<i64>,
    visit_counts: bool,
    pub stopped: bool,
    pub liveness: Liveness,
    /// Out of port: the harbour it left and when.
    pub trip: Option<(i32, i64)>,
    /// The restricted zone it is in.
    pub zone: Option<i32>,
    /// Flagged positions in a row (the last of them kept).
    flagged: Option<(Fix, u8)>,
    /// When (wall clock, Unix ms) its last position was received; set by the fleet.
    pub heard_ms: i64,
}

fn meters(a: &Fix, b: &Fix) -> f64 {
    super::port::distance_m(a.lon, a.lat, b.lon, b.lat)
}

fn implied_kn(a: &Fix, b: &Fix) -> f64 {
    let dt = (b.at_ms - a.at_ms).max(1) as f64;
    meters(a, b) / dt / KNOT_M_PER_MS
}

impl Track {
    /// A boat not heard yet, of `class` if known.
    pub fn new(class: Option<Class>) -> Track {
        Track {
            class,
            ..Default::default()
        }
    }

    /// The boat's state as the map shows it.
    pub fn state(&self) -> super::model::State {
        use super::model::State;
        let Some(last) = &self.last else {
            return State::Unknown;
        };
        if self.port.is_some() {
            return State::InPort;
        }
        match self.liveness {
            Liveness::Dark => State::Dark,
            Liveness::Lost => State::Lost,
            Liveness::Live => match last.speed_kn {
                Some(s) if s >= FISHING_KN.0 && s <= FISHING_KN.1 => State::Fishing,
                _ => State::AtSea,
            },
        }
    }

    fn transition(&self, kind: EventType, fix: &Fix, harbour: Option<i32>) -> Transition {
        Transition {
            kind,
            at_ms: fix.at_ms,
            lon: fix.lon,
            lat: fix.lat,
            harbour,
            since_ms: None,
            visit: None,
        }
    }

    /// Applies a position; what it did and the transitions it caused, in order.
    pub fn position(&mut self, fix: &Fix, harbours: &Harbours) -> (Use, Vec<Transition>) {
        let mut out = Vec::new();
        if fix.class.is_some() {
            self.class = fix.class;
        }
        if let Some(last) = &self.last {
            if fix.at_ms <= last.at_ms {
                return (Use::OutOfOrder, out);
            }
            if implied_kn(last, fix) > MAX_SPEED_KN {
                // Three implausible positions in a row that agree with each other win.
                let run = match &self.flagged {
                    Some((prev, n))
                        if prev.at_ms < fix.at_ms && implied_kn(prev, fix) <= MAX_SPEED_KN =>
                    {
                        n + 1
                    }
                    _ => 1,
                };
                if run < 3 {
                    self.flagged = Some((*fix, run));
                    return (Use::Flagged, out);
                }
            }
        }
        self.flagged = None;
        let previous = self.last;
        // Heard again.
        if self.liveness != Liveness::Live {
            out.push(self.transition(EventType::Found, fix, self.port));
            self.liveness = Liveness::Live;
        }
        // A long silence in port.
        if let (Some(h), Some(prev)) = (self.port, &previous)
            && fix.at_ms - prev.at_ms > PORT_GAP
        {
            let mut t = self.transition(EventType::Gap, fix, Some(h));
            t.since_ms = Some(prev.at_ms);
            out.push(t);
            self.visit_counts = true;
        }
        // In or out of port.
        if let Some(h) = self.port {
            let d = harbours.distance_to(h, fix.lon, fix.lat);
            if d.is_none_or(|d| d > PORT_OUT_M) {
                let mut t = self.transition(EventType::PortExit, fix, Some(h));
                t.since_ms = self.visit_since;
                t.visit = Some(self.visit_counts || self.stopped);
                out.push(t);
                self.port = None;
                self.trip = Some((h, fix.at_ms));
            }
        }
        if self.port.is_none()
            && let Some((h, d)) = harbours.nearest(fix.lon, fix.lat)
            && d <= PORT_IN_M
        {
            out.push(self.transition(EventType::PortEntry, fix, Some(h)));
            self.port = Some(h);
            self.visit_since = Some(fix.at_ms);
            self.visit_counts = false;
            self.trip = None;
        }
        // Stops: the reported speed, else the speed implied by the last position.
        let speed = fix
            .speed_kn
            .or_else(|| previous.map(|p| implied_kn(&p, fix) as f32));
        if let Some(s) = speed {
            if !self.stopped && s < STOP_START_KN {
                self.stopped = true;
                out.push(self.transition(EventType::StopStart, fix, self.port));
            } else if self.stopped && s > STOP_END_KN {
                self.stopped = false;
                out.push(self.transition(EventType::StopEnd, fix, self.port));
            }
        }
        if self.stopped && self.port.is_some() {
            self.visit_counts = true;
        }
        self.last = Some(*fix);
        (Use::Used, out)
    }

    /// Applies the passing of time up to `now_ms` (the feed's clock; `wall_ms` the wall
    /// clock): lost and dark at sea.
    pub fn clock(&mut self, now_ms: i64, wall_ms: i64) -> Option<Transition> {
        let last = self.last?;
        if self.port.is_some() || wall_ms - self.heard_ms < HEARD_RECENTLY_MS {
            return None;
        }
        let silent = now_ms - last.at_ms;
        let kind = if silent > DARK && self.liveness != Liveness::Dark {
            self.liveness = Liveness::Dark;
            EventType::Dark
        } else if self.liveness == Liveness::Live
            && silent > lost_after(self.class, last.speed_kn, last.status)
        {
            self.liveness = Liveness::Lost;
            EventType::Lost
        } else {
            return None;
        };
        let mut t = self.transition(kind, &last, None);
        t.at_ms = now_ms;
        t.since_ms = Some(last.at_ms);
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vessels::model::{Source, State};
    use crate::vessels::port::{Harbour, HarbourKind};

    const H: (f64, f64) = (119.0, 25.0);
    /// Degrees of longitude per metre at 25°N (about).
    fn east(m: f64) -> f64 {
        H.0 + m / (111_320.0 * 25f64.to_radians().cos())
    }

    fn harbours() -> Harbours {
        Harbours::new(vec![Harbour {
            id: 1,
            name: "测试港".into(),
            kind: HarbourKind::Harbour,
            lon: H.0,
            lat: H.1,
            fairway: None,
            town_code: None,
        }])
    }

    fn fix(min: i64, east_m: f64, speed: f32) -> Fix {
        Fix {
            mmsi: 412_000_001,
            at_ms: min * 60_000,
            lon: east(east_m),
            lat: H.1,
            speed_kn: Some(speed),
            course: None,
            heading: None,
            status: None,
            class: Some(Class::A),
            source: Source::Ais,
        }
    }

    fn run(track: &mut Track, fixes: &[Fix]) -> Vec<(EventType, i64)> {
        let h = harbours();
        fixes
            .iter()
            .flat_map(|f| track.position(f, &h).1)
            .map(|t| (t.kind, t.at_ms / 60_000))
            .collect()
    }

    #[test]
    fn hovering_between_three_and_four_km_does_not_flicker() {
        let mut t = Track::default();
        // Berthed, then out to 3.5 km, back to 2.9, out to 3.9 three times, then 4.1 km.
        let mut fixes = vec![fix(0, 100.0, 0.0)];
        for (i, m) in [3500.0, 2900.0, 3900.0, 3100.0, 3950.0, 3990.0]
            .iter()
            .enumerate()
        {
            fixes.push(fix(10 + 10 * i as i64, *m, 4.0));
        }
        fixes.push(fix(100, 4100.0, 4.0));
        fixes.push(fix(110, 3900.0, 4.0));
        fixes.push(fix(120, 3100.0, 4.0));
        fixes.push(fix(130, 2900.0, 4.0));
        let events = run(&mut t, &fixes);
        assert_eq!(
            events,
            vec![
                (EventType::PortEntry, 0),
                (EventType::StopStart, 0),
                (EventType::StopEnd, 10),
                (EventType::PortExit, 100),
                (EventType::PortEntry, 130),
            ]
        );
        assert_eq!(t.state(), State::InPort);
    }

    #[test]
    fn a_visit_counts_with_a_stop_or_a_gap() {
        // Through the harbour without stopping: the visit does not count.
        let mut t = Track::default();
        let h = harbours();
        t.position(&fix(0, 10_000.0, 8.0), &h);
        t.position(&fix(10, 1000.0, 8.0), &h);
        let (_, out) = t.position(&fix(20, -8000.0, 8.0), &h);
        assert_eq!(out[0].kind, EventType::PortExit);
        assert_eq!(out[0].visit, Some(false));
        // In, silent for five hours (a gap), out: it counts.
        let mut t = Track::default();
        t.position(&fix(0, 500.0, 1.0), &h);
        let (_, out) = t.position(&fix(300, 600.0, 1.0), &h);
        assert_eq!(out[0].kind, EventType::Gap);
        assert_eq!(out[0].since_ms, Some(0));
        let (_, out) = t.position(&fix(320, 9000.0, 6.0), &h);
        assert_eq!(out[0].visit, Some(true));
    }

    #[test]
    fn out_of_order_and_implausible_positions_are_not_used() {
        let mut t = Track::default();
        let h = harbours();
        t.position(&fix(0, 10_000.0, 4.0), &h);
        t.position(&fix(10, 11_000.0, 4.0), &h);
        assert_eq!(t.position(&fix(5, 10_500.0, 4.0), &h).0, Use::OutOfOrder);
        assert_eq!(t.position(&fix(10, 10_500.0, 4.0), &h).0, Use::OutOfOrder);
        // 60 km in 20 minutes: 97 kn.
        assert_eq!(t.position(&fix(30, 71_000.0, 4.0), &h).0, Use::Flagged);
        assert_eq!(t.last.unwrap().at_ms, 10 * 60_000);
        assert_eq!(t.position(&fix(40, 12_000.0, 4.0), &h).0, Use::Used);
        // Three in a row that agree: the boat really is there.
        assert_eq!(t.position(&fix(50, 90_000.0, 4.0), &h).0, Use::Flagged);
        assert_eq!(t.position(&fix(60, 91_000.0, 4.0), &h).0, Use::Flagged);
        assert_eq!(t.position(&fix(70, 92_000.0, 4.0), &h).0, Use::Used);
    }

    #[test]
    fn silence_at_sea_is_lost_then_dark_and_found_again() {
        let mut t = Track::default();
        let h = harbours();
        t.position(&fix(0, 20_000.0, 8.0), &h);
        // Class A at 8 kn: lost after 60 s.
        let wall = 1_000_000_000;
        assert_eq!(t.clock(50_000, wall), None);
        // Heard moments ago (a replay at speed): not silent yet.
        t.heard_ms = wall - 1000;
        assert_eq!(t.clock(61_000, wall), None);
        t.heard_ms = 0;
        assert_eq!(t.clock(61_000, wall).unwrap().kind, EventType::Lost);
        assert_eq!(t.state(), State::Lost);
        assert_eq!(t.clock(3_600_000, wall), None);
        assert_eq!(
            t.clock(6 * 3_600_000 + 1, wall).unwrap().kind,
            EventType::Dark
        );
        assert_eq!(t.state(), State::Dark);
        let (_, out) = t.position(&fix(400, 20_500.0, 4.0), &h);
        assert_eq!(out[0].kind, EventType::Found);
        assert_eq!(t.state(), State::Fishing);
        // Never lost in port.
        let mut t = Track::default();
        t.position(&fix(0, 0.0, 0.0), &h);
        assert_eq!(t.clock(10 * 3_600_000, 1_000_000_000), None);
        assert_eq!(lost_after(Some(Class::B), Some(5.0), None), 180_000);
        assert_eq!(lost_after(Some(Class::A), Some(20.0), None), 36_000);
        assert_eq!(lost_after(Some(Class::A), Some(8.0), Some(5)), 1_080_000);
    }
}
