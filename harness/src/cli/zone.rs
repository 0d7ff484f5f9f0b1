//! `pdns-drill zone`: an SQLite file checked, or compared with the journal.

use anyhow::Result;
use pdns_drill::testbed::config;
use std::path::Path;
use std::process::ExitCode;

/// The zone a command asks about: the one named, else the zone of the journal given (or of the
/// shipped lab's), never a constant.
pub fn zone_name(name: Option<&str>, journal: Option<&Path>) -> Result<String> {
    if let Some(n) = name {
        return Ok(n.to_string());
    }
    let path = match journal {
        Some(j) => j.to_path_buf(),
        None => config::default_zone()?,
    };
    Ok(pdns_drill::inputs::zone::journal::Journal::load(&path)?.zone)
}

pub fn zone_verify(file: &Path, zone: Option<&str>, journal: Option<&Path>) -> Result<ExitCode> {
    let zone = zone_name(zone, journal)?;
    let v = pdns_drill::inputs::zone::verify::verify(file, &zone)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(if v.integrity == "ok" && v.schema_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn zone_diff(db: &Path, journal: &Path) -> Result<ExitCode> {
    let j = pdns_drill::inputs::zone::journal::Journal::load(journal)?;
    let rr = pdns_drill::inputs::zone::verify::db_rrsets(db, &j.zone)?;
    let d = pdns_drill::inputs::zone::diff::diff(&rr, &j);
    print!("{d}");
    Ok(if d.only_in_db.is_empty() && d.only_in_journal.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
