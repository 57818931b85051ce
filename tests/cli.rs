//! The command line: CSV assignment keeps the file and adds the chain; help is helpful.

mod common;

use common::demo_db;
use std::process::Command;

fn onemap(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onemap"));
    c.env("DATABASE_URL", db);
    c
}

#[tokio::test]
async fn assign_adds_the_chain_to_every_row_and_keeps_the_rest() {
    let db = demo_db().await;
    let dir = std::env::temp_dir().join(format!("onemap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("hotline.csv");
    let (gx, gy) = onemap::crs::wgs84_to_gcj02(119.0, 25.43);
    // Excel-style: BOM, Chinese headers, a quoted field with a comma, a bad row, a row at sea.
    std::fs::write(
        &input,
        format!("\u{feff}工单号,诉求内容,经度,纬度\nA1,\"路灯不亮,已多日\",{gx},{gy}\nA2,无坐标,,\nA3,海上,119.9,24.9\n"),
    )
    .unwrap();
    let output = dir.join("out.csv");
    let out = onemap(&db.url)
        .args(["assign", "--crs", "gcj02", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&output).unwrap();
    assert_eq!(
        &bytes[..3],
        b"\xEF\xBB\xBF",
        "the BOM is kept so Excel shows Chinese"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "工单号");
    assert!(headers.iter().any(|h| h == "grid_code"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][1], "路灯不亮,已多日");
    assert_eq!(&rows[0][col("assigned")], "true");
    assert_eq!(&rows[0][col("district_code")], "350302");
    assert_eq!(rows[0][col("unit_code")].len(), 19);
    assert_eq!(&rows[1][col("assigned")], "false");
    assert!(rows[1][col("assign_error")].contains("missing lon"));
    assert_eq!(&rows[2][col("assigned")], "false");
    assert_eq!(&rows[2][col("assign_error")], "");

    // The same unit as the HTTP API gives for the WGS84 point.
    let app = common::spawn_app(db).await;
    let (_, body) = app.get_json("/api/assign?lon=119.0&lat=25.43").await;
    assert_eq!(body["unit"]["code"], &rows[0][col("unit_code")]);

    // A file without coordinate columns is refused with a clear message.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    let out = onemap(&app.db.url)
        .args(["assign", "--input"])
        .arg(&bad)
        .arg("--output")
        .arg(dir.join("x.csv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lon-col"));
}

#[test]
fn help_names_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate", "import", "validate", "assign", "db"] {
        assert!(text.contains(cmd), "{cmd} missing from --help:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["assign", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("gcj02"));
}
