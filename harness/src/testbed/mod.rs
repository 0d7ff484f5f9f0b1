//! The lab on containers: the PowerDNS VM (both daemons under systemd), the stand-in internet,
//! the operator workstation and a lab client, on two internal networks.
//! Owns the engine, the image, the labs' boot, steady state, reset and pool. Imports the
//! claims' words, the inputs and DNS; never a scenario.

// The container engine and what the lab is made of.
pub mod engine;
pub mod console;
pub mod subnets;
pub mod image;
pub mod mirror;

// The lab: its addresses, files, boot, reuse.
pub mod addresses;
pub mod config;
pub mod host;
pub mod listen;
pub mod mapping;
pub mod operator;
pub mod plan;
pub mod provision;
pub mod rebuild;
pub mod fingerprint;
pub mod reset;
pub mod pool;
pub mod shared_usr;

// The lab's state as probes and checks see it.
pub mod steady;
pub mod triage_probes;
pub mod kept;

use crate::testbed::engine::{ContainerSpec, Engine, ExecOutput, State};
use anyhow::{Context, Result};
use config::{ConfigDir, ZoneInput};
use plan::Plan;
use std::time::Duration;

/// The stand-in internet's zones, shipped with the binary.
const INTERNET_ZONES: &str = include_str!("../../../lab/internet/zones.txt");

/// How long a fresh lab may take to settle before bring-up counts as failed.
pub const STEADY_DEADLINE: Duration = Duration::from_secs(120);

/// How long systemd in a (re)started container may take to finish booting (polled: only a
/// failure waits this long; on two cores shared with other labs a boot took over 60 s).
const BOOT_DEADLINE: Duration = Duration::from_secs(120);

/// Size of the VM's /var: small enough to fill, big enough for the lab (the seed is ~10 MB).
pub const VM_VAR_SIZE: &str = "64m";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    PdnsVm,
    Internet,
    Workstation,
    Client,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Internet, Role::PdnsVm, Role::Workstation, Role::Client];
    /// What every lab boots: the VM and the stand-in internet its recursor resolves from.
    pub const CORE: [Role; 2] = [Role::Internet, Role::PdnsVm];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PdnsVm => "pdns-vm",
            Role::Internet => "internet",
            Role::Workstation => "workstation",
            Role::Client => "client",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("unknown container `{s}` (one of: pdns-vm, internet, workstation, client)")
        })
    }
}

/// What making a lab into another takes ([`Reshaped::between`]), or what [`Lab::reshape`] did:
/// helpers removed, helpers created and booted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reshaped {
    pub shed: Vec<Role>,
    pub added: Vec<Role>,
}

impl Reshaped {
    /// From a lab of containers `has` to one of `needs` (both as [`LabSpec::booting`] gives
    /// them): the VM and the stand-in internet are in both; a workstation changes kind with the
    /// client (plain without one, see [`Lab::plain`]), so it is remade when that changes.
    pub fn between(has: &[Role], needs: &[Role]) -> Reshaped {
        let same_kind = has.contains(&Role::Client) == needs.contains(&Role::Client);
        let kept = |r: &Role| has.contains(r) && needs.contains(r) && (*r != Role::Workstation || same_kind);
        Reshaped { shed: has.iter().copied().filter(|r| !kept(r)).collect(), added: needs.iter().copied().filter(|r| !kept(r)).collect() }
    }
}

/// Everything needed to bring a lab up.
#[derive(Debug, Clone)]
pub struct LabSpec {
    pub image: String,
    pub config: ConfigDir,
    pub zone: ZoneInput,
    pub run_id: String,
    /// The roles the lab's user acts on; [`Lab::up`] adds [`Role::CORE`] and what they depend
    /// on (each container is a boot, and boots are what the host's CPUs limit).
    pub roles: Vec<Role>,
}

impl LabSpec {
    /// `roles` with the core ones and what they depend on added: a lab client's app is on
    /// the workstation.
    pub fn booting(mut roles: Vec<Role>) -> Vec<Role> {
        roles.extend(Role::CORE);
        if roles.contains(&Role::Client) {
            roles.push(Role::Workstation);
        }
        Role::ALL.into_iter().filter(|r| roles.contains(r)).collect()
    }
}

pub struct Lab {
    pub engine: Engine,
    pub spec: LabSpec,
    pub plan: Plan,
    pub lab_net: String,
    pub public_net: String,
    /// Which VM disk (the /var volume) is current; a rebuild from scratch makes a new one.
    vm_disk: std::sync::Mutex<String>,
    rebuilt: std::sync::atomic::AtomicBool,
    /// What the current VM is built from; a rebuild may change it (today's packages).
    vm_build: std::sync::Mutex<VmBuild>,
}

/// The image a VM boots and how its recursor settings reach the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmBuild {
    pub image: String,
    pub recursor_settings: config::RecursorSettings,
}

impl VmBuild {
    /// What a lab's VM boots from until a rebuild changes it: the lab's image and option.
    fn of(spec: &LabSpec) -> VmBuild {
        VmBuild { image: spec.image.clone(), recursor_settings: spec.config.recursor_settings }
    }
}

/// The VM's disk number `n` of run `run_id` (0: the one the lab boots with, which the stand-in
/// internet keeps mounted; a rebuild from scratch makes the next).
fn vm_disk_name(run_id: &str, n: u32) -> String {
    format!("pdns-drill-{run_id}-vm-disk-{n}")
}

/// Prefix of the containers that keep a rebuild's new disks mounted (`<prefix><disk number>`).
fn disk_keeper_prefix(vm: &str) -> String {
    format!("{vm}-disk-keeper-")
}

/// A fresh run id: sortable by time, unique enough for parallel runs.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    format!("{}-{:04x}", now.format(&fmt).unwrap(), rand::random::<u16>())
}

impl Lab {
    pub fn name(&self, role: Role) -> String {
        format!("pdns-drill-{}-{}", self.spec.run_id, role.as_str())
    }

    /// Networks each lab creates (its lab network and its public one): what bounds how many
    /// labs the engine's address pools hold at once.
    pub const NETWORKS: usize = 2;

    /// Creates networks and containers and boots them; callers wait for steady state.
    pub async fn up(engine: Engine, mut spec: LabSpec, progress: &(dyn Fn(&str) + Sync)) -> Result<Lab> {
        spec.roles = LabSpec::booting(std::mem::take(&mut spec.roles));
        let run = spec.run_id.clone();
        let la = spec.config.addresses.clone();
        progress("creating internal networks");
        let lab_net = format!("pdns-drill-{run}-lab");
        let public_net = format!("pdns-drill-{run}-public");
        let la2 = la.clone();
        let lab_reserved = move |n| Plan::lab_reserved(&la2, n);
        let (lab_info, public_info) = futures_util::try_join!(
            engine.create_network(&lab_net, &run, &lab_reserved),
            engine.create_network(&public_net, &run, &Plan::public_reserved)
        )?;
        let plan = Plan::new(&la, &listen::AuthEndpoint::of(&spec.config), lab_info.subnet, public_info.subnet, &mapping::external_forwarders(&spec.config))?;
        let build = VmBuild::of(&spec);
        let lab = Lab {
            engine,
            spec,
            plan,
            lab_net,
            public_net,
            vm_disk: std::sync::Mutex::new(vm_disk_name(&run, 0)),
            rebuilt: std::sync::atomic::AtomicBool::new(false),
            vm_build: std::sync::Mutex::new(build),
        };
        progress("creating containers");
        let disk = lab.vm_disk();
        lab.engine.create_volume(&disk, &run, VM_VAR_SIZE).await?;
        // The containers are independent until they boot: create, lay files and start them all at once.
        let roles = lab.spec.roles.clone();
        futures_util::future::try_join_all(roles.iter().map(|r| lab.create_role(*r, (None, None)))).await?;
        progress("booting the containers (systemd in the VM and the client)");
        futures_util::future::try_join_all(roles.iter().map(|r| lab.engine.start_owned(lab.name(*r)))).await?;
        Ok(lab)
    }

    /// A rebuilt VM gets configs but no zone: the runbook restores the SQLite backup instead.
    fn rebuilt(&self) -> bool {
        self.rebuilt.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn vm_disk(&self) -> String {
        self.vm_disk.lock().unwrap().clone()
    }

    /// What the VM now runs: the lab's image and option, or what the last rebuild chose.
    pub fn vm_build(&self) -> VmBuild {
        self.vm_build.lock().unwrap().clone()
    }

    /// The operators' configs with the VM's current recursor option.
    fn vm_config(&self) -> ConfigDir {
        let mut c = self.spec.config.clone();
        c.recursor_settings = self.vm_build().recursor_settings;
        c
    }

    /// `macs`: the lab and public NICs' MACs, for a VM rebuilt with the same ones.
    async fn create_role(&self, role: Role, macs: (Option<String>, Option<String>)) -> Result<()> {
        let p = &self.plan;
        let (net, ip, files, volumes) = match role {
            Role::Internet => (
                &self.public_net,
                p.internet,
                provision::internet(p, INTERNET_ZONES, &self.spec.zone.journal),
                // Keeps the VM's disk mounted while the VM is off, as a real disk would persist.
                vec![(self.vm_disk(), "/srv/vm-disk".to_string())],
            ),
            Role::PdnsVm => (
                &self.lab_net,
                p.vm,
                provision::pdns_vm(
                    p,
                    &self.vm_config(),
                    (!self.rebuilt()).then_some(&self.spec.zone),
                    &[macs.0.clone().map(|m| (p.vm, m)), macs.1.clone().map(|m| (p.vm_public, m))].into_iter().flatten().collect::<Vec<_>>(),
                ),
                vec![(self.vm_disk(), "/var".to_string())],
            ),
            Role::Workstation => (&self.lab_net, p.workstation, provision::workstation(p, self.plain(role)), vec![]),
            Role::Client => (&self.lab_net, p.client, provision::client(p), vec![]),
        };
        let name = self.name(role);
        let image = if role == Role::PdnsVm { self.vm_build().image } else { self.spec.image.clone() };
        let init = if self.plain(role) { provision::PLAIN_INIT_PATH } else { crate::testbed::engine::IMAGE_INIT };
        // The files ride in PID 1's command; too large for it, they are uploaded before the start.
        let laying = crate::testbed::engine::laying_cmd(&files, &[init.to_string()])?;
        let upload = laying.is_none();
        // A rebuilt VM installs packages into /usr: it keeps the image's own.
        let shared = if role == Role::PdnsVm && self.rebuilt() || !shared_usr::enabled() { vec![] } else { shared_usr::volumes(&self.engine, &image).await? };
        let spec = ContainerSpec {
            name: name.clone(),
            hostname: role.as_str().to_string(),
            image,
            run_id: self.spec.run_id.clone(),
            network: net.clone(),
            ipv4: Some(ip),
            mac: macs.0,
            volumes,
            shared,
            cmd: Some(laying.unwrap_or_else(|| vec![init.to_string()])),
        };
        self.engine.create_container(&spec).await?;
        if role == Role::PdnsVm {
            self.engine.connect_network(&self.public_net, &name, Some(p.vm_public), macs.1, "pdns-vm").await?;
        }
        if upload {
            self.engine.upload_archive(&name, &files).await?;
        }
        Ok(())
    }

    /// Replaces the VM with a fresh one from the image: same hostname, addresses and MAC.
    /// `keep_disk` keeps its /var (the qcow2 survived); otherwise the disk is new and empty.
    /// `build` rebuilds it from another image or recursor option (None: as the VM was).
    pub async fn recreate_vm(&self, keep_disk: bool, build: Option<VmBuild>) -> Result<()> {
        let name = self.name(Role::PdnsVm);
        if let Some(b) = &build {
            let mut c = self.spec.config.clone();
            c.recursor_settings = b.recursor_settings;
            b.recursor_settings.check(&c).map_err(anyhow::Error::msg)?;
        }
        // Same hostname, addresses and MACs (the runbook's convention for a rebuilt VM).
        let macs = (self.engine.mac_address(&name, &self.lab_net).await?, self.engine.mac_address(&name, &self.public_net).await?);
        self.engine.remove(&name).await?;
        self.rebuilt.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(b) = build {
            *self.vm_build.lock().unwrap() = b;
        }
        if !keep_disk {
            // The old disk stays mounted by the keeper; a new one replaces it.
            let (next, n) = {
                let mut d = self.vm_disk.lock().unwrap();
                let n: u32 = d.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0) + 1;
                *d = vm_disk_name(&self.spec.run_id, n);
                (d.clone(), n)
            };
            self.engine.create_volume(&next, &self.spec.run_id, VM_VAR_SIZE).await?;
            let helper = format!("{}{n}", disk_keeper_prefix(&name));
            self.engine
                .create_container(&ContainerSpec {
                    name: helper.clone(),
                    hostname: "disk-keeper".into(),
                    image: self.spec.image.clone(),
                    run_id: self.spec.run_id.clone(),
                    network: "none".into(),
                    ipv4: None,
                    mac: None,
                    volumes: vec![(next.clone(), "/srv/vm-disk".into())],
                    shared: vec![],
                    // It only holds the mount: no systemd to boot.
                    cmd: Some(vec!["sleep".into(), "infinity".into()]),
                })
                .await?;
            self.engine.start(&helper).await?;
        }
        self.create_role(Role::PdnsVm, macs).await

    }

    /// Replaces the VM with the one the lab booted with: a container from the lab's image, its
    /// disk emptied (the zone loaded again on its first boot), the rebuilds' own disks' keepers
    /// gone; booted. The helpers and networks stay as they are: after a scenario that ends the
    /// VM (stops, kills, rebuilds or rewires it), this costs one container instead of a lab,
    /// and the fingerprint still decides whether the whole lab is clean.
    pub async fn renew_vm(&self) -> Result<()> {
        let name = self.name(Role::PdnsVm);
        self.engine.remove(&name).await?;
        let keeper = disk_keeper_prefix(&name);
        for c in self.engine.containers_of(&self.spec.run_id).await? {
            let c = c.split(' ').next().unwrap_or_default();
            if c.starts_with(&keeper) {
                self.engine.remove(c).await?;
            }
        }
        // The first disk is the one the stand-in internet keeps mounted (a disk made by a
        // rebuild from scratch goes with the lab).
        *self.vm_disk.lock().unwrap() = vm_disk_name(&self.spec.run_id, 0);
        let o = self.sh(Role::Internet, "find /srv/vm-disk -mindepth 1 -delete", Duration::from_secs(30)).await?;
        anyhow::ensure!(o.success(), "emptying the VM's disk: {}", o.summary(300));
        self.rebuilt.store(false, std::sync::atomic::Ordering::SeqCst);
        *self.vm_build.lock().unwrap() = VmBuild::of(&self.spec);
        self.create_role(Role::PdnsVm, (None, None)).await?;
        self.engine.start(&name).await?;
        self.wait_booted(Role::PdnsVm).await
    }

    /// Makes this lab the one a scenario whose lab is `needs` (as [`LabSpec::booting`] gives
    /// it) would boot, as [`Reshaped::between`] says: helpers removed, then created and booted.
    pub async fn reshape(&mut self, needs: &[Role]) -> Result<Reshaped> {
        let r = Reshaped::between(&self.spec.roles, needs);
        let engine = &self.engine;
        futures_util::future::try_join_all(r.shed.iter().map(|role| {
            let name = self.name(*role);
            async move { engine.remove(&name).await }
        }))
        .await?;
        // The shape first: how a helper is made depends on the others (see `plain`).
        self.spec.roles = LabSpec::booting(needs.to_vec());
        futures_util::future::try_join_all(r.added.iter().map(|role| self.create_role(*role, (None, None)))).await?;
        futures_util::future::try_join_all(r.added.iter().map(|role| self.engine.start_owned(self.name(*role)))).await?;
        futures_util::future::try_join_all(r.added.iter().map(|role| self.wait_booted(*role))).await?;
        Ok(r)
    }

    /// CPU time the lab's containers have used, summed over those still running.
    pub async fn cpu_time(&self) -> Duration {
        let times = futures_util::future::join_all(self.spec.roles.iter().map(|r| async move { self.engine.cpu_time(&self.name(*r)).await })).await;
        times.into_iter().flatten().sum()
    }

    pub async fn down(&self) -> Result<()> {
        self.engine.sweep(Some(&self.spec.run_id)).await.map(|_| ())
    }

    pub async fn exec(&self, role: Role, argv: &[&str], deadline: Duration) -> Result<ExecOutput> {
        self.engine.exec(&self.name(role), argv, None, deadline).await
    }

    /// Asks `q` where it can be asked: a loopback server is the VM's own, asked with dig from
    /// inside the VM (no packet from the harness reaches it); any other address natively from
    /// the harness over the testbed's networks. A VM that cannot be asked is a harness error.
    pub async fn probe(&self, q: &crate::dns::probe::Query) -> crate::dns::probe::Outcome {
        if !listen::inside_vm(q.server) {
            return crate::dns::probe::probe(q).await;
        }
        let deadline = q.timeout + Duration::from_secs(10);
        match self.sh(Role::PdnsVm, &crate::dns::dig::command(q), deadline).await {
            Ok(o) if o.exit_code.is_some() => crate::dns::dig::outcome(&format!("{}{}", o.stdout, o.stderr)),
            Ok(_) => crate::dns::probe::Outcome::NetError(format!("dig inside the VM did not finish within {} s", deadline.as_secs())),
            Err(e) => crate::dns::probe::Outcome::NetError(format!("the VM could not be asked (dig inside it): {e:#}")),
        }
    }

    /// A probe as the evidence names it: where it was asked from when not the harness.
    pub fn describe_probe(q: &crate::dns::probe::Query) -> String {
        if listen::inside_vm(q.server) {
            format!("{} (inside the VM: {})", q.describe(), crate::dns::dig::command(q).trim_end_matches(" 2>&1"))
        } else {
            q.describe()
        }
    }

    pub async fn sh(&self, role: Role, script: &str, deadline: Duration) -> Result<ExecOutput> {
        self.engine.sh(&self.name(role), script, deadline).await
    }

    /// [`Lab::sh`] where anything but exit 0 is an error naming the role and what it printed.
    pub async fn sh_ok(&self, role: Role, script: &str, deadline: Duration) -> Result<ExecOutput> {
        let o = self.sh(role, script, deadline).await?;
        if !o.success() {
            anyhow::bail!("on {}: {}", role.as_str(), o.summary(300));
        }
        Ok(o)
    }

    pub async fn state(&self, role: Role) -> State {
        self.engine.state(&self.name(role)).await
    }

    /// Whether `role` runs without systemd: the stand-in internet, and the workstation when no
    /// lab client needs its socket-activated app. Neither is under test and no step asks their
    /// systemd; a systemd boot is most of what a container costs the CPU.
    pub fn plain(&self, role: Role) -> bool {
        match role {
            Role::Internet => true,
            Role::Workstation => !self.spec.roles.contains(&Role::Client),
            Role::PdnsVm | Role::Client => false,
        }
    }

    /// Waits until systemd in `role` has finished booting (running, or degraded when a unit
    /// failed): commands run earlier would find no bus. A plain role: until its init has
    /// provisioned it and started its daemons.
    pub async fn wait_booted(&self, role: Role) -> Result<()> {
        let start = tokio::time::Instant::now();
        if self.plain(role) {
            let script = format!("until [ -e {} ]; do sleep 0.05; done", provision::PLAIN_READY);
            let o = self.sh(role, &script, BOOT_DEADLINE).await?;
            anyhow::ensure!(o.success(), "{} did not provision within {BOOT_DEADLINE:?} ({})", role.as_str(), o.summary(200));
            return Ok(());
        }
        loop {
            // `--wait` blocks until the boot is over: one command instead of one every poll
            // (boots are CPU-bound). Before systemd's bus is up it answers `offline` at once,
            // and we ask again.
            let left = BOOT_DEADLINE.saturating_sub(start.elapsed()).max(Duration::from_secs(1));
            let o = self.sh(role, "systemctl is-system-running --wait", left).await;
            let state = match &o {
                Ok(o) => o.stdout.trim().to_string(),
                Err(e) => format!("no exec: {e:#}"),
            };
            if state == "running" || state == "degraded" {
                return Ok(());
            }
            if start.elapsed() > BOOT_DEADLINE {
                // Which of: still booting, exec refused, the container gone or exited.
                let container = self.engine.state_detail(&self.name(role)).await;
                let journal = self.sh(role, "journalctl -b --no-pager -o cat -p warning | tail -n 50", Duration::from_secs(10)).await.map(|o| o.stdout).unwrap_or_default();
                let cause = if host::exhausted_in(&journal) {
                    "; systemd could not create inotify objects: the host's fs.inotify.max_user_instances is used up (scripts/setup-host.sh raises it)"
                } else {
                    ""
                };
                anyhow::bail!("systemd in {} did not finish booting within {BOOT_DEADLINE:?} (state `{state}`; container {container}){cause}", role.as_str());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until systemd has booted in the VM and the stand-in internet: a fresh lab's
    /// steady-state deadline counts from there (a boot on a loaded host can take most of it).
    pub async fn wait_booted_lab(&self) -> Result<()> {
        for role in [Role::Internet, Role::PdnsVm] {
            self.wait_booted(role).await?;
        }
        Ok(())
    }

    /// Daemon versions as the packages report them.
    pub async fn versions(&self) -> (Option<String>, Option<String>) {
        // One query for both: a package not installed is left out of its output (exit 1).
        let out = self
            .exec(Role::PdnsVm, &["dpkg-query", "-W", "-f=${Package} ${Version}\n", "pdns-server", "pdns-recursor"], Duration::from_secs(10))
            .await
            .map(|o| o.stdout)
            .unwrap_or_default();
        let of = |pkg: &str| out.lines().find_map(|l| l.strip_prefix(pkg)?.strip_prefix(' ')).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        (of("pdns-server"), of("pdns-recursor"))
    }

    /// The lab's own first zone name to probe: the first A record in the journal.
    /// The lab record the synthetic monitor digs: the last plain A record of the journal, so its
    /// queries never touch the names the steady state and the scenarios look up.
    pub fn synthetic_lab_name(&self) -> String {
        let zone = &self.spec.zone.journal;
        let single_a = |fqdn: &str| zone.entries.iter().filter(|e| e.fqdn == fqdn).all(|e| e.rtype == "A") && zone.entries.iter().filter(|e| e.fqdn == fqdn).count() == 1;
        zone.entries
            .iter()
            .rev()
            .find(|e| e.rtype == "A" && !e.fqdn.starts_with('*') && single_a(&e.fqdn))
            .map(|e| e.fqdn.clone())
            .unwrap_or_else(|| self.known_lab_name())
    }

    pub fn known_lab_name(&self) -> String {
        self.spec
            .zone
            .journal
            .entries
            .iter()
            .find(|e| e.rtype == "A" && !e.fqdn.starts_with('*'))
            .map(|e| e.fqdn.clone())
            .unwrap_or_else(|| format!("{}.", self.spec.zone.journal.zone))
    }

    /// Binds text resolved by the scenario plan to this lab: the lab's own addresses moved onto
    /// the testbed, the stand-in internet's address filled.
    pub fn bind_text(&self, text: &str) -> String {
        self.plan.map_text(&text.replace("{internet}", &self.plan.internet.to_string()))
    }

    pub fn dropins(&self) -> Vec<String> {
        let config = self.vm_config();
        let dropins = provision::hermetic_dropins(&self.plan, &config).into_iter().map(|(_, _, note)| note);
        dropins.chain(config.recursor_settings.note()).collect()
    }
}

/// Removes what earlier runs left behind when their process is gone (a SIGKILL, a crash).
pub async fn sweep_stale(engine: &Engine) -> Result<Vec<String>> {
    let mut swept = Vec::new();
    for run in engine.leftover_runs().await.context("listing leftover runs")? {
        let alive = engine.run_owner_alive(&run).await;
        tracing::debug!(run, alive, "leftover run");
        // A lab kept for inspection (--keep-on-failure) outlives its run's process on purpose.
        if !alive && !kept::KeptLab::is_kept(&run) {
            engine.sweep(Some(&run)).await?;
            swept.push(run);
        }
    }
    Ok(swept)
}
