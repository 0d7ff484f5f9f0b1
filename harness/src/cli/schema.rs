//! `pdns-drill schema KIND`: the JSON Schema of one kind of document, on stdout.

use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use pdns_drill::report::schema::{self, SchemaKind};
use std::io::{ErrorKind, Write};
use std::process::ExitCode;

/// Offers the library's kinds as the argument's possible values (listed in `--help`).
pub fn schema_kind_parser() -> impl TypedValueParser<Value = SchemaKind> {
    PossibleValuesParser::new(SchemaKind::ALL.iter().map(|k| k.name())).map(|s| s.parse::<SchemaKind>().expect("a possible value"))
}

pub fn schema(kind: SchemaKind) -> Result<ExitCode> {
    let text = serde_json::to_string_pretty(&schema::schema(kind))?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        // `pdns-drill schema report | head` is a reader that has seen enough, not a failure.
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
