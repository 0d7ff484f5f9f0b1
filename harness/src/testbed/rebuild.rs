//! The runbook's VM rebuild from packages, offline: the lab image keeps the .debs that installing
//! pdns-server, pdns-backend-sqlite3 and pdns-recursor takes beyond its base (downloaded from the
//! mirror at image build, which timed it: images/install-packages.sh); a fresh VM is made bare of
//! them, then gets them from that local archive with apt, and its configs back.

use super::{Lab, Role};
use crate::testbed::engine::ExecOutput;
use anyhow::{ensure, Result};
use std::time::Duration;

/// Where the image keeps them (not under /var: the VM's /var is a small disk of its own).
pub const KEPT: &str = "/opt/pdns-drill/rebuild";

/// apt, install and purge on two busy cores: minutes at worst, not the console's usual minute.
const APT_DEADLINE: Duration = Duration::from_secs(600);

/// What the image build recorded about the kept .debs (`download.env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptDebs {
    pub suite: String,
    /// The packages the runbook installs.
    pub packages: Vec<String>,
    /// What they pulled in beyond the base, themselves included: the kept .debs' packages.
    pub closure: Vec<String>,
    pub debs: usize,
    pub bytes: u64,
    /// Their download from the mirror (`apt-get install --download-only`).
    pub download_ms: u64,
}

impl KeptDebs {
    pub fn parse(env: &str) -> Option<KeptDebs> {
        let get = |k: &str| {
            env.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('='))).map(|v| v.trim().trim_matches('"').to_string())
        };
        let words = |v: String| v.split_whitespace().map(String::from).collect::<Vec<_>>();
        Some(KeptDebs {
            suite: get("suite")?,
            packages: words(get("packages")?),
            closure: words(get("closure")?),
            debs: get("debs")?.parse().ok()?,
            bytes: get("bytes")?.parse().ok()?,
            download_ms: get("download_ms")?.parse().ok()?,
        })
        .filter(|k| !k.packages.is_empty() && !k.closure.is_empty())
    }

    /// "31 .debs, 14.2 MB, downloaded in 3.4 s (bookworm)".
    pub fn describe(&self) -> String {
        format!("{} .debs, {:.1} MB, downloaded in {:.1} s ({})", self.debs, self.bytes as f64 / 1e6, self.download_ms as f64 / 1000.0, self.suite)
    }

    /// The runbook's install, from the local archive only (the image's mirror sources are not read).
    pub fn install_command(&self) -> String {
        format!("apt-get update && apt-get install -y --no-install-recommends {} (sources: {KEPT}/local.list only)", self.packages.join(" "))
    }
}

/// The configs the VM had, put aside while it is bare, and dropped in again after the install.
const CONFIGS_TAR: &str = "/root/pdns-drill-rebuild-configs.tar";

fn strip_script(k: &KeptDebs) -> String {
    format!(
        r#"set -eu
cd /
# The configs: what under /etc/powerdns is not a package's own file as shipped (the operators'
# files, the testbed's drop-ins; pdns-backend-bind's bind.conf is not one), and a unit drop-in.
dpkg-query -W -f '${{Conffiles}}\n' | awk '$1 ~ "^/etc/powerdns/" {{ print $2 "  " $1 }}' | md5sum -c 2>/dev/null | sed -n 's|^/\(.*\): OK$|\1|p' | sort >/root/pdns-drill-pristine.txt
find etc/powerdns -type f -o -type l | sort | comm -23 - /root/pdns-drill-pristine.txt >/root/pdns-drill-configs.txt
if [ -d etc/systemd/system/pdns-recursor.service.d ]; then find etc/systemd/system/pdns-recursor.service.d -type f >>/root/pdns-drill-configs.txt; fi
tar -C / -cf {CONFIGS_TAR} -T /root/pdns-drill-configs.txt
echo "configs put aside: $(echo $(cat /root/pdns-drill-configs.txt))"
installed() {{ dpkg-query -W -f '${{db:Status-Abbrev}} ${{Package}}\n' | awk '$1 == "ii" {{ print $2 }}' | sort; }}
installed >/root/pdns-drill-before.txt
systemctl stop pdns pdns-recursor
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q {closure} >/root/pdns-drill-purge.log 2>&1 || {{ tail -20 /root/pdns-drill-purge.log; exit 1; }}
rm -rf /etc/powerdns /etc/systemd/system/pdns-recursor.service.d /etc/systemd/system/multi-user.target.wants/pdns.service /etc/systemd/system/multi-user.target.wants/pdns-recursor.service
systemctl daemon-reload
gone=$(installed | comm -23 /root/pdns-drill-before.txt -)
echo "purged $(echo "$gone" | wc -l) packages: $(echo $gone)"
left=$(installed | grep -xE '{any}' || true)
[ -z "$left" ] || {{ echo "still installed: $left"; exit 1; }}
ls /etc/powerdns 2>/dev/null && exit 1
echo "/etc/powerdns: gone"
"#,
        closure = k.closure.join(" "),
        any = k.packages.join("|"),
    )
}

fn install_script(k: &KeptDebs) -> String {
    format!(
        r#"set -eu
export DEBIAN_FRONTEND=noninteractive
apt_local="-o Dir::Etc::SourceList={KEPT}/local.list -o Dir::Etc::SourceParts={KEPT}/sources.list.d"
log=/root/pdns-drill-install.log
{{ apt-get $apt_local update && apt-get $apt_local install -y -q --no-install-recommends {pkgs}; }} >$log 2>&1 || {{ tail -30 $log; exit 1; }}
grep -E '^[0-9]+ upgraded' $log || true
dpkg-query -W -f '${{Package}} ${{Version}}\n' {pkgs}
"#,
        pkgs = k.packages.join(" ")
    )
}

fn configs_script() -> String {
    format!(
        r#"set -eu
tar -C / -xpf {CONFIGS_TAR}
systemctl daemon-reload
# A restart that hangs is the harness's failure, said with what systemd and the daemons said
# (seen in CI on edge-host: past the exec's deadline, with nothing to go on).
rc=0; timeout 100 systemctl restart pdns-recursor pdns || rc=$?
if [ $rc = 124 ]; then
  echo "systemctl restart pdns-recursor pdns still running after 100 s"
  systemctl list-jobs --no-pager | tail -n 5
  systemctl status --no-pager -n 0 pdns pdns-recursor | grep -E '^(●|  *(Active|Main PID):)'
  journalctl -u pdns -u pdns-recursor -n 12 --no-pager -o cat
  exit 1
fi
echo "pdns-recursor $(systemctl is-active pdns-recursor), pdns $(systemctl is-active pdns)"
"#
    )
}

impl Lab {
    /// What the VM's image keeps for a rebuild from packages; None for an image built before it
    /// kept any (or elsewhere).
    pub async fn kept_debs(&self) -> Result<Option<KeptDebs>> {
        let o = self.sh(Role::PdnsVm, &format!("cat {KEPT}/download.env && test -s {KEPT}/debs/Packages"), Duration::from_secs(20)).await?;
        Ok(if o.success() { KeptDebs::parse(&o.stdout) } else { None })
    }

    /// Makes the VM its base image: the kept packages purged, its configs put aside.
    pub async fn strip_to_base(&self, k: &KeptDebs) -> Result<ExecOutput> {
        let o = self.sh(Role::PdnsVm, &strip_script(k), APT_DEADLINE).await?;
        ensure!(o.success(), "making the fresh VM its base image failed: {}", o.summary(600));
        Ok(o)
    }

    /// The runbook's `apt install`, from the kept archive.
    pub async fn install_kept(&self, k: &KeptDebs) -> Result<ExecOutput> {
        let o = self.sh(Role::PdnsVm, &install_script(k), APT_DEADLINE).await?;
        ensure!(o.success(), "installing {} from the kept .debs failed: {}", k.packages.join(" "), o.summary(600));
        Ok(o)
    }

    /// The configs the VM had, dropped in again; both daemons restarted on them.
    pub async fn restore_configs(&self) -> Result<ExecOutput> {
        let o = self.sh(Role::PdnsVm, &configs_script(), Duration::from_secs(120)).await?;
        ensure!(o.success(), "dropping the configs in again failed: {}", o.summary(1500));
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_env_as_the_image_build_writes_it() {
        let env = "suite=bookworm\npackages=\"pdns-server pdns-backend-sqlite3 pdns-recursor\"\nclosure=\"liblua5.3-0 pdns-recursor pdns-server\"\ndebs=3\nbytes=1500000\ndownload_ms=2345\n";
        let k = KeptDebs::parse(env).unwrap();
        assert_eq!(k.packages, ["pdns-server", "pdns-backend-sqlite3", "pdns-recursor"]);
        assert_eq!((k.closure.len(), k.debs, k.bytes, k.download_ms), (3, 3, 1_500_000, 2345));
        assert_eq!(k.describe(), "3 .debs, 1.5 MB, downloaded in 2.3 s (bookworm)");
        assert_eq!(KeptDebs::parse(&env.replace("download_ms=2345\n", "")), None);
        assert_eq!(KeptDebs::parse(&env.replace("closure=\"liblua5.3-0 pdns-recursor pdns-server\"", "closure=\"\"")), None);
    }
}
