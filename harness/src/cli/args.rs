//! The command line's argument types, beside `main.rs`'s commands.

use clap::Args;
use pdns_drill::testbed::image::Suite;
use pdns_drill::testbed::config::RecursorSettings;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// Debian suite for the lab image.
    #[arg(long, value_enum, default_value = "bookworm", env = "PDNS_DRILL_SUITE")]
    pub suite: Suite,
    /// Debian mirror URL (default: the one this machine's apt sources name).
    #[arg(long, env = "PDNS_DRILL_MIRROR")]
    pub mirror: Option<String>,
    /// Rebuild even when the image or a cached rootfs exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct LabArgs {
    /// Operator config dir laid out like /etc/powerdns, with drill.toml mapping its addresses
    /// onto the testbed (default: lab/etc-powerdns).
    #[arg(long)]
    pub config_dir: Option<PathBuf>,
    /// dns-records journal (Markdown) the zone is loaded from (default: lab/zone/dns-records.md).
    #[arg(long)]
    pub zone: Option<PathBuf>,
    /// How the recursor's settings reach it. as-is: the files as written (pdns-recursor 5.2, on
    /// trixie, refuses old-style settings); yaml: converted at the VM's first boot by the
    /// recursor's own `rec_control show-yaml`; old-settings-flag: a unit drop-in adds
    /// --enable-old-settings. The last two need pdns-recursor 5 (trixie). Default: as-is on
    /// bookworm, yaml on trixie (the form trixie's package ships).
    #[arg(long, value_enum, env = "PDNS_DRILL_RECURSOR_SETTINGS")]
    pub recursor_settings: Option<RecursorSettings>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug, Clone)]
pub struct TriageArgs {
    /// Run id of a kept lab (default: the newest one).
    #[arg(long)]
    pub run: Option<String>,
    /// Recursor address of any lab (with --auth and --vm: probe a real lab from this host).
    #[arg(long, requires_all = ["auth", "vm"])]
    pub recursor: Option<IpAddr>,
    #[arg(long)]
    pub auth: Option<IpAddr>,
    #[arg(long)]
    pub vm: Option<IpAddr>,
    /// Command whose exit 0 means "the VM is running" (e.g. "virsh domstate pdns | grep -q running").
    #[arg(long)]
    pub vm_state_cmd: Option<String>,
    /// Zone whose SOA the authoritative probe asks for [default: the zone of --zone's journal].
    #[arg(long)]
    pub zone_name: Option<String>,
    /// The dns-records journal whose zone the probes ask for [default: lab/zone/dns-records.md].
    #[arg(long, value_name = "FILE")]
    pub zone: Option<PathBuf>,
    /// Print the four outcomes and the row as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenario names or claim IDs (substring match); none = all.
    pub filters: Vec<String>,
    #[command(flatten)]
    pub lab: LabArgs,
    /// Scenario directory.
    #[arg(long, default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Scenarios run side by side, each on its own lab (default: as many as the machine holds;
    /// lab boots are limited to --boots at a time whatever this is).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Lab boots at once: booting costs CPU, waiting on daemons does not (default: CPU count).
    #[arg(long)]
    pub boots: Option<usize>,
    /// Leave a failed scenario's lab up and print how to reach it.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Boot a lab for every scenario instead of reusing labs proven clean between scenarios
    /// (reset, then a fingerprint equal to the lab's first one): the reference reuse is
    /// compared against.
    #[arg(long)]
    pub fresh_labs: bool,
    /// Start the scenarios in an order shuffled by SEED instead of longest waits first: with
    /// labs reused, shows that no verdict depends on which scenario ran before on the same lab.
    #[arg(long, value_name = "SEED")]
    pub shuffle: Option<u64>,
    /// Order the scenarios longest first by how long each held its lab in FILE: an earlier run's
    /// history.json (wall time less the wait for a lab) or a {"scenario": ms} map
    /// [default: reports/latest/history.json when it
    /// exists, else the scenarios directory's durations.json; without either, by their own waits].
    /// Only the order changes, never a verdict.
    #[arg(long, value_name = "FILE", conflicts_with = "shuffle")]
    pub durations_from: Option<PathBuf>,
    /// Write the run's artefacts (history.json, report.*, junit.xml, gate.json) into DIR itself
    /// [default: reports/<run id>/, with reports/latest pointing at the newest].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Report formats, comma-separated: md,json,junit,html (history.json and gate.json always).
    #[arg(long, default_value = "md,json,junit,html")]
    pub format: String,
    /// Approved verdict snapshot: the gate fails (exit 1) when a verdict or part differs from it;
    /// JUnit then passes what is as approved and fails what changed.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Run one share of the selected scenarios, for a CI job matrix: slice:M/N (1 <= M <= N),
    /// balanced by expected duration, the same on every machine. Join the shares' run
    /// directories with `pdns-drill merge`.
    #[arg(long, value_name = "slice:M/N")]
    pub partition: Option<pdns_drill::scenario::partition::Partition>,
    /// How progress shows: bars on a terminal, plain lines in a CI log, or every event as a JSON
    /// line on stdout.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: super::reporters::Progress,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Scenario names or claim IDs (substring match); none = all.
    pub filters: Vec<String>,
    #[command(flatten)]
    pub lab: LabArgs,
    /// Scenario directory.
    #[arg(long, default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Print one JSON document (inputs, mappings, scenarios, problems) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The first run's report.json (A).
    pub a: PathBuf,
    /// The second run's report.json (B).
    pub b: PathBuf,
    /// Write the Markdown here instead of standard output.
    #[arg(long, value_name = "FILE.md")]
    pub out: Option<PathBuf>,
    /// Also write the comparison as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ChaosArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Campaign seed; run i uses seed SEED+i, so `--seed SEED+i --runs 1` replays run i
    /// (default: a random seed, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many runs (default 5 when --duration is not given).
    #[arg(long, conflicts_with = "duration")]
    pub runs: Option<usize>,
    /// Time bound for the whole campaign, e.g. 10m or 600s: no run, shrink or reproducer check
    /// starts after it.
    #[arg(long, value_parser = pdns_drill::scenario::parse_duration)]
    pub duration: Option<Duration>,
    /// At most this many faults per run (each run draws 1..=K).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=8))]
    pub max_faults: u64,
    /// Lab runs spent shrinking each new way a property fails.
    #[arg(long, default_value_t = 4)]
    pub shrink_runs: usize,
    /// Do not run each reproducer as a scenario to check that it reproduces.
    #[arg(long)]
    pub no_verify: bool,
    /// Where the campaign's directory (chaos-<run id>) goes.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// How progress shows: bars on a terminal, plain lines in a CI log, or every event as a JSON
    /// line on stdout (the same events as `run`'s, schema `events`).
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: super::reporters::Progress,
}

#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// The run directories of every shard (`run --partition slice:M/N --report-dir DIR`).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub run_dirs: Vec<PathBuf>,
    /// Where the merged history, reports, JUnit and gate go (the directory itself).
    #[arg(long, value_name = "DIR")]
    pub report_dir: PathBuf,
    /// Approved verdict snapshot the merged run is held to, as `run --baseline`.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Report formats, comma-separated: md,json,junit,html.
    #[arg(long, default_value = "md,json,junit,html")]
    pub format: String,
}
