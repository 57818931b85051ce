use std::time::Instant;
fn main() {
    let t = Instant::now();
    let city = onemap::demo::generate(Default::default(), &|s| {
        eprintln!("{:>6.2}s {s}", t.elapsed().as_secs_f64())
    });
    eprintln!("{:>6.2}s done", t.elapsed().as_secs_f64());
    for l in onemap::model::Level::ALL {
        eprintln!("{l}: {}", city.count(l));
    }
    let bad = city.areas.iter().filter(|a| a.geom.0.is_empty()).count();
    eprintln!("empty geometries: {bad}");
    if let Some(path) = std::env::args().nth(1) {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        for a in &city.areas {
            use geozero::ToWkb;
            let wkb = geo_types::Geometry::MultiPolygon(a.geom.clone())
                .to_ewkb(geozero::CoordDimensions::xy(), Some(4326))
                .unwrap();
            let wkt: String = wkb.iter().map(|b| format!("{b:02X}")).collect();
            writeln!(
                f,
                "{}\t{}\t{}\t{}\t{}",
                a.code,
                a.name,
                a.level.rank(),
                a.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                wkt
            )
            .unwrap();
        }
    }
}
