//! Wall-clock time as every artefact writes it (RFC 3339, UTC): one format for the run's
//! history, chaos's campaign and the restore drill's evidence, so their dates compare as text.

use time::OffsetDateTime;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub fn now() -> String {
    rfc3339(OffsetDateTime::now_utc())
}
