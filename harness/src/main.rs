//! `pdns-drill`: the command line. Exit codes (run, merge, conclude): 0 the gate passed, 1 it
//! failed, 2 bad arguments or input, no Docker, image build failure, 3 undecided (the harness
//! could not decide every claim: retrying may help), 130/143/129 stopped by a signal.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
mod cli;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pdns-drill",
    version,
    about = "Proves or refutes a PowerDNS lab runbook against the real daemons, in containers",
    after_help = "Exit codes of run, merge and conclude (the gate's outcome, also in gate.json):\n  \
0  pass: every verdict as approved by --baseline (without one: every decided claim confirmed)\n  \
1  fail: a verdict or part changed from the baseline, a new contradiction, or the lab failed its preflight\n  \
2  bad input: arguments, a scenario, config or zone file, a baseline; no Docker; image build failure\n  \
3  undecided: a scenario errored or the engine failed mid-run (nothing says the change is wrong; retry)\n  \
130/143/129  stopped by SIGINT/SIGTERM/SIGHUP (partial reports marked incomplete, labs removed)\n\
triage exits 0 only for \"DNS is fine\"; compare 0 when the verdicts are the same.\n\
Every container, network and volume carries the label pdns-drill.run=<run id>; `pdns-drill down --all` removes them all."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the lab image (debootstrap from the Debian mirror in this machine's apt sources).
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Bring a lab up and leave it running; prints how to reach it.
    Up {
        #[command(flatten)]
        lab: cli::LabArgs,
        /// Check steady state, print the triage, then tear the lab down again.
        #[arg(long)]
        check: bool,
    },
    /// Tear labs down: the newest kept lab, one run, or every pdns-drill resource.
    Down {
        /// Run id to remove.
        #[arg(long)]
        run: Option<String>,
        /// Remove everything labelled pdns-drill.run.
        #[arg(long)]
        all: bool,
    },
    /// Run the runbook's first-triage probes and print the table with the matching row.
    Triage(cli::TriageArgs),
    /// List scenarios, the claims they decide and their runbook sections.
    List {
        /// Scenario directory.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
    /// Run scenarios (all, or those whose name or claim ID contains a FILTER) and write reports.
    Run(cli::RunArgs),
    /// Validate the lab inputs and plan the scenarios as `run` would, without Docker: for a
    /// config repository's lint job.
    #[command(long_about = "Validate the lab inputs and plan the scenarios exactly as `run` does before it starts \
anything: the scenario files, the config dir and its drill.toml, the zone journal, the --recursor-settings option, \
settings the testbed cannot honour, and each selected scenario (all, or those whose name or claim ID contains a \
FILTER) resolved against the lab. Never connects to Docker.\n\n\
Prints the inputs with their hashes, the address mapping, each scenario as would-run or not-simulated (with the \
reason) and a summary; --json prints the same as one JSON document. Problems go to stderr as `file:line: ...` \
wherever the line is known.\n\n\
Exit codes: 0 every input valid; 2 bad input or bad arguments.")]
    Check(cli::CheckArgs),
    /// Recompute a run's verdicts, gate and reports from its history.json alone (no containers).
    Conclude {
        /// The run's report directory (holding history.json).
        dir: PathBuf,
        /// Report formats to write there, comma-separated: md,json,junit,html.
        #[arg(long, default_value = "md,json,junit,html")]
        format: String,
        /// Hold the run to this approved baseline, as `run --baseline`.
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
    /// Join the run directories of a partitioned run's shards into one history, report, JUnit and
    /// gate (what the whole run would have written); exit codes as `run`.
    Merge(cli::MergeArgs),
    /// Zone data tools: verify a SQLite backup, diff a database against the journal.
    Zone {
        #[command(subcommand)]
        command: ZoneCommand,
    },
    /// Compare two runs' reports: verdicts side by side, claim by claim (and part by part), with
    /// the evidence line that differs and the run headers.
    #[command(long_about = "Compare two runs' reports: the run headers (suite, pdns and pdns-recursor versions, image, \
config dir and zone with their hashes, drop-ins), then every claim's verdict in A and in B, and part by part where \
the reports carry parts; for each difference the evidence line that explains it (first mismatch, else reason). \
Addresses, timings and run ids are ignored when evidence lines are compared.\n\n\
Used for two suites (bookworm vs trixie), two config dirs, or two runs of the same lab.\n\n\
Exit codes: 0 every verdict the same; 1 a claim or part verdict differs, or a claim is in one report only; \
2 bad input (a missing file, or a file that is not a pdns-drill report: the path and what is wrong are named).")]
    Compare(cli::CompareArgs),
    /// Approve a report's verdicts as the CI baseline.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Chaos mode: random combinations of the scenarios' faults, the runbook followed from the
    /// first triage, four properties checked on every run, failures shrunk to a scenario file.
    #[command(long_about = "Chaos mode. Each run brings up a fresh lab, draws 1..=K faults (with their parameters and \
the gaps between them) from the fault vocabulary the scenarios use, proves each in effect, then follows the runbook as an \
operator would: the first triage, the row it lands on, that row's checks and recovery, the triage again, at most 3 rounds. \
Every run is held to four properties: triage-never-blind (never 'DNS is fine' while lab names fail through the recursor), \
runbook-restores (else a dead end: row, steps, what still fails), zone-intact (every journal record answers at the \
authoritative) and healed-no-leak (every fault heals, nothing of the run is left after teardown).\n\n\
A run that violates a property in a new way is shrunk (fewer faults, no gaps, simpler parameters) to the smallest \
sequence that still fails the same way and written as reports/chaos-<run id>/chaos/<property>-<seed>.toml, a scenario \
`pdns-drill run --scenarios <that dir>` accepts as is; unless --no-verify, it is run as a scenario once to see whether \
it reproduces. Reports: chaos.md, chaos.json, junit.xml (one test case per property).\n\n\
Run i of a campaign has seed SEED+i: `pdns-drill chaos --seed SEED+i --runs 1` replays it on the same lab.\n\n\
Exit codes: 0 every property held; 1 a property was violated; 2 bad input, no Docker; 130/143/129 stopped by \
SIGINT/SIGTERM/SIGHUP (every lab of the campaign removed, the partial report marked incomplete).")]
    Chaos(cli::ChaosArgs),
    /// Print the JSON Schema of a document pdns-drill writes (report.json, history.json, one
    /// `--progress json` event, a baseline), derived from the types that write it.
    Schema {
        #[arg(value_parser = cli::schema_kind_parser())]
        kind: pdns_drill::report::schema::SchemaKind,
    },
    /// End-to-end drills that leave dated evidence.
    Drill {
        #[command(subcommand)]
        command: DrillCommand,
    },
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build (or rebuild with --force) the lab image and print its tag.
    Build(cli::ImageArgs),
    /// Print the tag the current recipe builds.
    Tag(cli::ImageArgs),
}

#[derive(Subcommand)]
enum ZoneCommand {
    /// Verify a SQLite file: integrity, schema, record count, SOA serial.
    Verify {
        file: PathBuf,
        /// Zone whose SOA serial to read [default: the zone of --journal].
        #[arg(long)]
        zone: Option<String>,
        /// The dns-records journal the backup belongs to [default: lab/zone/dns-records.md].
        #[arg(long, value_name = "FILE")]
        journal: Option<PathBuf>,
    },
    /// Records in the database missing from the journal, and the other way round.
    Diff {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        journal: PathBuf,
    },
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Write the normalised verdict snapshot of a report as the approved baseline.
    Accept {
        /// report.json to take verdicts from (default: the newest under reports/).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Where to write it.
        #[arg(long, default_value = "reports/baseline.json")]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum DrillCommand {
    /// The restore drill on the lab's own backups (--backup, --backups), newest first: verify,
    /// restore into a lab VM by the documented and the corrected procedure, replay the journal
    /// from the backup's serial, ask the authoritative for every journal record, time it. With
    /// no backup given, the drill takes the lab's backup itself and journals three changes after
    /// it. Writes dated evidence (evidence.md, evidence.json, SHA256SUMS). Exit 0 every backup
    /// restorable and complete, 1 any finding, 2 a missing backup or bad journal/config.
    Restore(#[command(flatten)] DrillArgs),
}

#[derive(Args)]
struct DrillArgs {
    #[command(flatten)]
    lab: cli::LabArgs,
    /// A backup file (the whole pdns.sqlite3 copy); repeat for several.
    #[arg(long = "backup", value_name = "FILE")]
    backups: Vec<PathBuf>,
    /// A directory of backups: each is drilled, and the backup policy is checked on it.
    #[arg(long = "backups", value_name = "DIR")]
    backups_dir: Option<PathBuf>,
    /// The dns-records journal the backups belong to (same as --zone).
    #[arg(long, value_name = "FILE", conflicts_with = "zone")]
    journal: Option<PathBuf>,
    /// Where the evidence goes (a dated subdirectory is created).
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// How progress shows: bars on a terminal, plain lines in a CI log, or every event as a JSON
    /// line on stdout (the same events as `run`'s, schema `events`).
    #[arg(long, value_enum, default_value = "auto")]
    progress: cli::Progress,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("PDNS_DRILL_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Image { command: ImageCommand::Build(a) } => cli::image_build(&a).await,
        Command::Image { command: ImageCommand::Tag(a) } => {
            println!("{}", pdns_drill::testbed::image::tag(a.suite));
            Ok(ExitCode::SUCCESS)
        }
        Command::Up { lab, check } => cli::up(&lab, check).await,
        Command::Down { run, all } => cli::down(run.as_deref(), all).await,
        Command::Triage(a) => cli::triage(&a).await,
        Command::List { scenarios } => cli::list(&scenarios),
        Command::Run(a) => cli::run(&a).await,
        Command::Conclude { dir, format, baseline } => cli::conclude(&dir, &format, baseline.as_deref()),
        Command::Merge(a) => cli::merge(&a),
        Command::Check(a) => cli::check(&a),
        Command::Zone { command: ZoneCommand::Verify { file, zone, journal } } => cli::zone_verify(&file, zone.as_deref(), journal.as_deref()),
        Command::Zone { command: ZoneCommand::Diff { db, journal } } => cli::zone_diff(&db, &journal),
        Command::Compare(a) => cli::compare(&a),
        Command::Chaos(a) => cli::chaos(&a).await,
        Command::Baseline { command: BaselineCommand::Accept { from, to } } => {
            cli::baseline_accept(from.as_deref(), &to).context("accepting the baseline")
        }
        Command::Schema { kind } => cli::schema(kind),
        Command::Drill { command: DrillCommand::Restore(mut a) } => {
            if let Some(j) = a.journal.take() {
                a.lab.zone = Some(j);
            }
            cli::drill_restore(&a.lab, &a.backups, a.backups_dir.as_deref(), &a.report_dir, a.progress).await
        }
    }
}
