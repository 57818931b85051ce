//! Vessel monitoring (issue #11, in progress): AIS decoding so far (`ais`). The registry, the
//! ingest listeners, the port state machine, alerts and the map layers are still to come.

pub mod ais;
