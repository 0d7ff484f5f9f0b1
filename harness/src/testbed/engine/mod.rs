//! The Docker Engine, as the harness needs it: labelled internal networks, systemd containers,
//! files laid before boot, commands run inside, and a sweep of whatever a crash left.
//!
//! Everything created here carries `pdns-drill.run=<run id>`; nothing unlabelled is touched.

mod files;
mod ownership;

pub use files::{build_tar, laying_argv, laying_cmd, FileEntry, IMAGE_INIT};
pub use ownership::{KEPT, PID_LABEL};

use anyhow::{anyhow, bail, Context, Result};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum, Ipam,
    IpamConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// The label every container, network and volume of a run carries; its value is the run id.
pub const LABEL: &str = "pdns-drill.run";

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// Value of the owner label: this process's pid, or "kept" for a lab left up on purpose.
    owner: String,
    consoles: crate::testbed::console::Consoles,
    /// Held while a network's subnet is picked and the network created.
    net_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// What a command run inside a container returned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecOutput {
    /// None when the command did not finish within its deadline.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
    /// One line for evidence: "exit 0: <stdout, trimmed>" (stderr appended when present).
    pub fn summary(&self, max: usize) -> String {
        let code = self.exit_code.map_or("timed out".to_string(), |c| format!("exit {c}"));
        let mut out = self.stdout.trim().to_string();
        if !self.stderr.trim().is_empty() {
            if !out.is_empty() {
                out.push_str(" | ");
            }
            out.push_str("stderr: ");
            out.push_str(self.stderr.trim());
        }
        format!("{code}: {}", trim_chars(&out, max))
    }
}

pub use crate::text::trim_chars;

/// Container state as the triage's VM-state column sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Stopped,
    Missing,
}

#[derive(Debug, Clone)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub subnet: ipnet::Ipv4Net,
    pub gateway: Ipv4Addr,
}

/// A container to create: always systemd as PID 1 on the lab image.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub hostname: String,
    pub image: String,
    pub run_id: String,
    /// First network and the address on it (API 1.41 allows one network at create time).
    pub network: String,
    pub ipv4: Option<Ipv4Addr>,
    pub mac: Option<String>,
    /// Named volumes: (volume, mount point).
    pub volumes: Vec<(String, String)>,
    /// Named volumes mounted read-only, shared with other containers.
    pub shared: Vec<(String, String)>,
    /// What PID 1 runs instead of the image's command (its systemd).
    pub cmd: Option<Vec<String>>,
}

/// How long a command in a lab may run before it counts as the harness's failure (an exec
/// that timed out is `errored`, never a symptom). One bound for the run, chaos and the drill.
pub const EXEC_DEADLINE: Duration = Duration::from_secs(60);

impl Engine {
    /// Connects to the local engine and settles on an API version both sides speak.
    pub async fn connect() -> Result<Engine> {
        let docker = Docker::connect_with_local_defaults()
            .context("cannot reach the Docker Engine (is it running, and is DOCKER_HOST right?)")?;
        let docker = docker
            .negotiate_version()
            .await
            .context("cannot reach the Docker Engine (is it running, and is DOCKER_HOST right?)")?;
        docker.ping().await.context("the Docker Engine did not answer a ping")?;
        Ok(Engine { docker, owner: std::process::id().to_string(), consoles: Default::default(), net_lock: Default::default() })
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub async fn image_exists(&self, tag: &str) -> bool {
        self.docker.inspect_image(tag).await.is_ok()
    }

    /// `docker import` of a rootfs tarball, with the settings a systemd container needs.
    pub async fn import_rootfs(&self, tarball: &Path, repo: &str, tag: &str) -> Result<()> {
        let file = tokio::fs::File::open(tarball).await.with_context(|| format!("opening {}", tarball.display()))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
        let mut opts = CreateImageOptionsBuilder::new().from_src("-").repo(repo).tag(tag).build();
        opts.changes = vec![
            format!(r#"CMD ["{IMAGE_INIT}"]"#),
            "ENV container=docker".to_string(),
            "LABEL org.opencontainers.image.title=pdns-drill-lab".to_string(),
        ];
        let mut s = self.docker.create_image(Some(opts), Some(bollard::body_try_stream(stream)), None);
        while let Some(item) = s.next().await {
            item.context("importing the lab rootfs into Docker")?;
        }
        // Processes that found the image missing at once (parallel tests, shards on a fresh
        // machine) each import it; the tag goes to the last, the others' stay untagged (322 MB
        // each). Those no container uses are removed.
        let f = HashMap::from([("dangling", vec!["true"]), ("label", vec!["org.opencontainers.image.title=pdns-drill-lab"])]);
        if let Err(e) = self.docker.prune_images(Some(bollard::query_parameters::PruneImagesOptionsBuilder::new().filters(&f).build())).await {
            tracing::debug!("removing untagged lab images: {e:#}");
        }
        Ok(())
    }

    /// Creates an internal network. Without a subnet Docker picks one, which is then pinned by
    /// re-creating the network with it, so that static addresses and reserved ones can be used.
    pub async fn create_network(
        &self,
        name: &str,
        run_id: &str,
        reserve: &(dyn Fn(ipnet::Ipv4Net) -> Vec<(String, Ipv4Addr)> + Sync),
    ) -> Result<NetworkInfo> {
        // Labs of this process pick one at a time; another process's pick shows up as the
        // engine refusing an overlapping pool, and the next free one is tried.
        let _one_at_a_time = self.net_lock.lock().await;
        const WAIT: Duration = Duration::from_secs(600);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut last = None;
            for subnet in self.free_subnets().await? {
                let gateway = subnet.hosts().next().ok_or_else(|| anyhow!("empty subnet {subnet}"))?;
                let aux: HashMap<String, String> = reserve(subnet).into_iter().map(|(k, ip)| (k, ip.to_string())).collect();
                let req = NetworkCreateRequest {
                    name: name.to_string(),
                    internal: Some(true),
                    labels: Some(self.labels(run_id)),
                    ipam: Some(Ipam {
                        driver: Some("default".into()),
                        config: Some(vec![IpamConfig {
                            subnet: Some(subnet.to_string()),
                            gateway: Some(gateway.to_string()),
                            auxiliary_addresses: Some(aux),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                match self.docker.create_network(req).await {
                    Ok(r) => return Ok(NetworkInfo { id: r.id, name: name.to_string(), subnet, gateway }),
                    Err(bollard::errors::Error::DockerResponseServerError { message, .. }) if message.contains("overlaps") => {
                        tracing::debug!("network {name} on {subnet}: {message}; trying the next");
                        last = Some(message);
                    }
                    Err(e) => return Err(e).with_context(|| format!("creating network {name} on {subnet}")),
                }
            }
            // With every pool in use, a lab waits for another lab to give one back rather than
            // fail; past the deadline the error says why.
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "creating network {name}: every subnet of Docker's default address pools stayed in use for {WAIT:?}, other labs, networks or host routes holding them (fewer --jobs, or `docker network prune`){}",
                    last.map(|m| format!(": {m}")).unwrap_or_default()
                );
            }
            tracing::debug!("network {name}: no free subnet; waiting for one to be given back");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The default address pools no network and no host route holds now, in the engine's order.
    pub async fn free_subnets(&self) -> Result<Vec<ipnet::Ipv4Net>> {
        let mut taken = crate::testbed::subnets::host_routes();
        taken.extend(self.network_subnets().await?);
        Ok(crate::testbed::subnets::free(&taken))
    }

    /// The IPv4 subnets of every network the engine has.
    async fn network_subnets(&self) -> Result<Vec<ipnet::Ipv4Net>> {
        let nets = self.docker.list_networks(None::<bollard::query_parameters::ListNetworksOptions>).await.context("listing networks")?;
        Ok(nets
            .into_iter()
            .flat_map(|n| n.ipam.and_then(|i| i.config).unwrap_or_default())
            .filter_map(|c| c.subnet.and_then(|s| s.parse().ok()))
            .collect())
    }

    pub async fn create_volume(&self, name: &str, run_id: &str, tmpfs_size: &str) -> Result<()> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: Some("local".into()),
            driver_opts: Some(HashMap::from([
                ("type".to_string(), "tmpfs".to_string()),
                ("device".to_string(), "tmpfs".to_string()),
                ("o".to_string(), format!("size={tmpfs_size}")),
            ])),
            labels: Some(self.labels(run_id)),
            ..Default::default()
        };
        self.docker.create_volume(req).await.with_context(|| format!("creating volume {name}"))?;
        Ok(())
    }

    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let endpoint = EndpointSettings {
            ipam_config: spec.ipv4.map(|ip| EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
            mac_address: spec.mac.clone(),
            // Aliases exist only on user-defined networks (not on `none`).
            aliases: (spec.network != "none").then(|| vec![spec.hostname.clone()]),
            ..Default::default()
        };
        let host = HostConfig {
            // systemd as PID 1 without --privileged (this engine cannot grant CAP_SYS_RESOURCE):
            // the capabilities the runbook's faults need, and the host's cgroup tree for systemd.
            cap_add: Some(["SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE"].map(String::from).to_vec()),
            security_opt: Some(vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()]),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
            binds: Some(
                std::iter::once("/sys/fs/cgroup:/sys/fs/cgroup:rw".to_string())
                    // No copy of the image's content into an empty volume: on this engine that
                    // costs a mount of the image and ~0.35 s per VM; its init lays /var's seed.
                    .chain(spec.volumes.iter().map(|(v, m)| format!("{v}:{m}:nocopy")))
                    .chain(spec.shared.iter().map(|(v, m)| format!("{v}:{m}:ro,nocopy")))
                    .collect(),
            ),
            tmpfs: Some(HashMap::from([
                ("/run".to_string(), "rw,exec,size=64m".to_string()),
                ("/run/lock".to_string(), "rw,size=8m".to_string()),
                ("/tmp".to_string(), "rw,exec,size=256m".to_string()),
            ])),
            network_mode: Some(spec.network.clone()),
            // ::1 on loopback, as on any VM (configs listen on it); the lab networks stay IPv4.
            sysctls: Some(HashMap::from([("net.ipv6.conf.lo.disable_ipv6".to_string(), "0".to_string())])),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: Some(spec.hostname.clone()),
            labels: Some(self.labels(&spec.run_id)),
            stop_signal: Some("SIGRTMIN+3".into()),
            env: Some(vec!["container=docker".into()]),
            cmd: spec.cmd.clone(),
            host_config: Some(host),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::new().name(&spec.name).build();
        let r = self
            .docker
            .create_container(Some(opts), body)
            .await
            .with_context(|| format!("creating container {}", spec.name))?;
        Ok(r.id)
    }

    /// Attaches a container to a network, with a fixed address and, when given, MAC.
    pub async fn connect_network(&self, network: &str, container: &str, ipv4: Option<Ipv4Addr>, mac: Option<String>, alias: &str) -> Result<()> {
        let req = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: ipv4.map(|ip| EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
                mac_address: mac,
                aliases: Some(vec![alias.to_string()]),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(network, req)
            .await
            .with_context(|| format!("connecting {container} to {network}"))
    }

    pub async fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let req = NetworkDisconnectRequest { container: container.to_string(), force: Some(true) };
        self.docker
            .disconnect_network(network, req)
            .await
            .with_context(|| format!("disconnecting {container} from {network}"))
    }

    /// `start`, for callers that hold the name by value (many at once).
    pub async fn start_owned(&self, container: String) -> Result<()> {
        self.start(&container).await
    }

    /// CPU time the container has used since it started, from its cgroup on this host (the
    /// engine's own stats either wait a second for a second sample or, one-shot, return a stale
    /// one). None where the host lays its cgroups out otherwise.
    pub async fn cpu_time(&self, container: &str) -> Option<Duration> {
        let id = self.docker.inspect_container(container, None).await.ok()?.id?;
        cgroup_paths(&id).iter().find_map(|p| std::fs::read_to_string(p).ok().and_then(|t| parse_cpu_usage(p, &t)))
    }

    pub async fn start(&self, container: &str) -> Result<()> {
        self.docker.start_container(container, None).await.with_context(|| format!("starting {container}"))
    }

    pub async fn stop(&self, container: &str, grace: Duration) -> Result<()> {
        self.consoles.forget(container);
        let opts = StopContainerOptionsBuilder::new().t(grace.as_secs() as i32).build();
        self.docker.stop_container(container, Some(opts)).await.with_context(|| format!("stopping {container}"))
    }

    /// Waits until a container that was asked to stop itself (its init powering off) no longer
    /// runs; returns how the engine saw it end.
    pub async fn wait_stopped(&self, container: &str, within: Duration) -> Result<String> {
        let start = tokio::time::Instant::now();
        while self.state(container).await == State::Running {
            if start.elapsed() >= within {
                bail!("{container} still runs {} s after it was asked to power off", within.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.consoles.forget(container);
        Ok(self.state_detail(container).await)
    }

    pub async fn kill(&self, container: &str) -> Result<()> {
        self.consoles.forget(container);
        let opts = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        self.docker.kill_container(container, Some(opts)).await.with_context(|| format!("killing {container}"))
    }

    pub async fn remove(&self, container: &str) -> Result<()> {
        self.consoles.forget(container);
        let opts = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
        match self.docker.remove_container(container, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            // Another remover got there first (a sweep of a dead run, a second teardown path):
            // done once the engine no longer knows the container.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, message }) if message.contains("already in progress") => {
                self.wait_gone(container, Duration::from_secs(30)).await
            }
            Err(e) => Err(e).with_context(|| format!("removing {container}")),
        }
    }

    async fn wait_gone(&self, container: &str, within: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.docker.inspect_container(container, None).await {
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(()),
                _ if tokio::time::Instant::now() >= deadline => bail!("removing {container}: another removal still in progress after {within:?}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The container's state as the engine reports it, for messages ("exited (1) at …: error").
    pub async fn state_detail(&self, container: &str) -> String {
        match self.docker.inspect_container(container, None).await {
            Ok(c) => {
                let s = c.state.unwrap_or_default();
                let status = s.status.map(|x| x.to_string()).unwrap_or_else(|| "unknown".into());
                let mut out = format!("{status} (exit code {})", s.exit_code.unwrap_or_default());
                if let Some(e) = s.error.filter(|e| !e.is_empty()) {
                    out.push_str(&format!(": {e}"));
                }
                if s.oom_killed == Some(true) {
                    out.push_str(", OOM-killed");
                }
                out
            }
            Err(e) => format!("not inspectable: {e}"),
        }
    }

    pub async fn state(&self, container: &str) -> State {
        match self.docker.inspect_container(container, None).await {
            Ok(c) => match c.state.and_then(|s| s.running) {
                Some(true) => State::Running,
                _ => State::Stopped,
            },
            Err(_) => State::Missing,
        }
    }

    /// Names of the networks a container is attached to.
    pub async fn networks_of(&self, container: &str) -> Result<Vec<String>> {
        let c = self.docker.inspect_container(container, None).await.with_context(|| format!("inspecting {container}"))?;
        Ok(c.network_settings.and_then(|n| n.networks).map(|n| n.into_keys().collect()).unwrap_or_default())
    }

    pub async fn mac_address(&self, container: &str, network: &str) -> Result<Option<String>> {
        let c = self.docker.inspect_container(container, None).await?;
        Ok(c.network_settings
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|e| e.mac_address)
            .filter(|m| !m.is_empty()))
    }

    /// Runs `argv` in the container and waits up to `deadline` for it, in a console (see
    /// [`crate::testbed::console`]) opened as `user` (root without one): what runs in it has
    /// the credentials, groups and environment an exec as that user would give it.
    pub async fn exec(&self, container: &str, argv: &[&str], user: Option<&str>, deadline: Duration) -> Result<ExecOutput> {
        tracing::debug!(target: "exec", container, console = true, user, cmd = %argv.last().copied().unwrap_or_default().chars().take(50).collect::<String>());
        // Keyed by container first: forgetting a container's consoles forgets every user's.
        let key = match user {
            Some(u) => format!("{container}\u{0}{u}"),
            None => container.to_string(),
        };
        let what = || format!("exec in {container}: {}", argv.join(" "));
        let nonce = format!("{:032x}", rand::random::<u128>());
        let line = crate::testbed::console::command_line(argv, &nonce).with_context(what)?;
        let started = tokio::time::Instant::now();
        // A console from the pool may have lost its shell (the container stopped since): one
        // that ends before the command's start mark never ran it, and a fresh one is tried.
        loop {
            let (mut console, reused) = match self.consoles.take(&key) {
                Some(c) => (c, true),
                None => (self.open_console(container, user).await.with_context(what)?, false),
            };
            let mut frame = crate::testbed::console::Frame::default();
            let run = async {
                crate::testbed::console::send(&mut console, &line).await?;
                crate::testbed::console::receive(&mut console, &nonce, &mut frame).await
            };
            let left = deadline.saturating_sub(started.elapsed());
            let outcome = tokio::time::timeout(left, run).await;
            let started_cmd = frame.state(&nonce) != crate::testbed::console::Framed::NotStarted;
            match outcome {
                Ok(Ok(crate::testbed::console::Framed::Done(code, stdout, stderr))) => {
                    self.consoles.put_back(&key, console);
                    return Ok(ExecOutput { exit_code: Some(code), stdout, stderr });
                }
                Ok(_) if reused && !started_cmd => continue,
                Ok(Err(e)) => return Err(e.context(what())),
                Ok(Ok(_)) if !started_cmd => bail!("{}: its console ended before the command ran", what()),
                Ok(Ok(_)) => {
                    // The shell died under the command (the container stopped): its exit is the command's.
                    let (stdout, stderr) = frame.partial(&nonce);
                    let exit_code = self.docker.inspect_exec(&console.exec_id).await.ok().and_then(|e| e.exit_code);
                    return Ok(ExecOutput { exit_code, stdout, stderr });
                }
                Err(_) => {
                    // Still running: the console goes with it, as an exec would be left running.
                    let (stdout, stderr) = frame.partial(&nonce);
                    return Ok(ExecOutput { exit_code: None, stdout, stderr });
                }
            }
        }
    }

    async fn open_console(&self, container: &str, user: Option<&str>) -> Result<crate::testbed::console::Console> {
        tracing::debug!(target: "exec", container, user, cmd = "console: /bin/sh");
        let cfg = CreateExecOptions::<String> {
            cmd: Some(vec!["/bin/sh".into()]),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            user: user.map(str::to_string),
            ..Default::default()
        };
        let exec_id = self.docker.create_exec(container, cfg).await?.id;
        let StartExecResults::Attached { output, input } = self.docker.start_exec(&exec_id, None).await? else {
            bail!("console in {container} did not attach");
        };
        Ok(crate::testbed::console::Console { exec_id, input, output })
    }

    /// `sh -c` convenience for the runbook's shell lines (pipes, `$(date ...)`).
    pub async fn sh(&self, container: &str, script: &str, deadline: Duration) -> Result<ExecOutput> {
        self.exec(container, &["/bin/sh", "-c", script], None, deadline).await
    }

}

/// Where a container's CPU counter is: cgroup v1 (cgroupfs), v2 with systemd, v2 with cgroupfs.
fn cgroup_paths(id: &str) -> [String; 3] {
    [
        format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage"),
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat"),
        format!("/sys/fs/cgroup/docker/{id}/cpu.stat"),
    ]
}

/// `cpuacct.usage` holds nanoseconds; v2's `cpu.stat` a `usage_usec` line.
fn parse_cpu_usage(path: &str, text: &str) -> Option<Duration> {
    if path.ends_with("cpuacct.usage") {
        return text.trim().parse().ok().map(Duration::from_nanos);
    }
    text.lines().find_map(|l| l.strip_prefix("usage_usec ")).and_then(|v| v.trim().parse().ok()).map(Duration::from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_usage_is_read_from_either_cgroup_version() {
        assert_eq!(parse_cpu_usage("/x/cpuacct.usage", "1500000000\n"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_cpu_usage("/x/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\n"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_cpu_usage("/x/cpu.stat", "user_usec 1\n"), None);
    }

    #[test]
    fn exec_summary_is_one_line_and_trimmed() {
        let o = ExecOutput { exit_code: Some(9), stdout: "a\n".into(), stderr: "x".repeat(50) };
        assert_eq!(o.summary(10), "exit 9: a | stderr… [52 more chars]");
        assert!(!o.success());
    }
}
