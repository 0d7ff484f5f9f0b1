//! The account the runbook logs in as (`ssh <user>@<pdns-vm>`), from drill.toml's `[operator]`:
//! its name, groups and what sudo grants it. Steps the runbook runs in that session run as this
//! user with exactly these privileges (`user = "{operator}"`); the harness's own set-up and
//! heals stay root.

use anyhow::{bail, Result};
use serde::Deserialize;

/// What sudo grants the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sudo {
    /// Any command as any user, no password (a cloud-init default user).
    Nopasswd,
    /// Any command after the user's password: in a session without a terminal sudo cannot ask.
    Password,
    /// No sudo at all.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Operator {
    #[serde(default = "default_name")]
    pub name: String,
    /// Supplementary groups (`adm` reads the system journal; `sudo` is sudo with a password on
    /// Debian and Ubuntu, and polkit's admin group).
    #[serde(default = "default_groups")]
    pub groups: Vec<String>,
    #[serde(default = "default_sudo")]
    pub sudo: Sudo,
}

fn default_name() -> String {
    "ze".into()
}
fn default_groups() -> Vec<String> {
    vec!["adm".into(), "sudo".into()]
}
fn default_sudo() -> Sudo {
    Sudo::Nopasswd
}

/// Default: a sudoer that is not root, as the default user of a cloud image is (groups adm and
/// sudo, sudo without a password), named as the runbook logs in.
impl Default for Operator {
    fn default() -> Self {
        Operator { name: default_name(), groups: default_groups(), sudo: default_sudo() }
    }
}

fn is_account_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_') && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_' || x == '-') && s.len() <= 32
}

impl Operator {
    /// Why drill.toml's `[operator]` cannot be an account on the VM.
    pub fn check(&self) -> Result<()> {
        if !is_account_name(&self.name) {
            bail!("`name` = {:?} is not a user name (lowercase letters, digits, `_`, `-`)", self.name);
        }
        if self.name == "root" || self.name == "pdns" {
            bail!("`name` = {:?}: the operator is a login account of its own, not {}", self.name, self.name);
        }
        if let Some(g) = self.groups.iter().find(|g| !is_account_name(g)) {
            bail!("group {g:?} is not a group name");
        }
        if self.sudo == Sudo::None && self.groups.iter().any(|g| g == "sudo") {
            bail!("`sudo` = \"none\" with group `sudo`: that group grants sudo with a password on Debian and Ubuntu; say `sudo = \"password\"` or drop the group");
        }
        Ok(())
    }

    /// One line for reports: who the runbook's steps run as.
    pub fn describe(&self) -> String {
        let groups = if self.groups.is_empty() { "no groups".to_string() } else { format!("groups {}", self.groups.join(", ")) };
        let sudo = match self.sudo {
            Sudo::Nopasswd => "sudo without a password",
            Sudo::Password => "sudo with a password (none can be typed here: no terminal)",
            Sudo::None => "no sudo",
        };
        format!("{} ({groups}; {sudo}; not root)", self.name)
    }

    /// provision.env lines the VM's provisioning creates the account from.
    pub fn env(&self) -> String {
        let sudo = match self.sudo {
            Sudo::Nopasswd => "nopasswd",
            Sudo::Password => "password",
            Sudo::None => "none",
        };
        format!("OPERATOR={}\nOPERATOR_GROUPS=\"{}\"\nOPERATOR_SUDO={sudo}\n", self.name, self.groups.join(" "))
    }
}

/// The provisioning script's part that makes the account, every boot (idempotent): the image's
/// own operator account loses the sudo it was built with unless drill.toml grants it.
pub const PROVISION: &str = r#"if [ -n "${OPERATOR:-}" ]; then
  id "$OPERATOR" >/dev/null 2>&1 || useradd -m -s /bin/bash "$OPERATOR"
  for g in $OPERATOR_GROUPS; do getent group "$g" >/dev/null || groupadd "$g"; done
  usermod -G "$(echo $OPERATOR_GROUPS | tr ' ' ,)" "$OPERATOR"
  rm -f /etc/sudoers.d/ze "/etc/sudoers.d/$OPERATOR"
  case "$OPERATOR_SUDO" in
    nopasswd) echo "$OPERATOR ALL=(ALL) NOPASSWD:ALL" >"/etc/sudoers.d/$OPERATOR"; chmod 440 "/etc/sudoers.d/$OPERATOR" ;;
    password) echo "$OPERATOR ALL=(ALL) ALL" >"/etc/sudoers.d/$OPERATOR"; chmod 440 "/etc/sudoers.d/$OPERATOR" ;;
  esac
  # A password exists (so sudo and polkit would ask for it) but nothing here can type it.
  [ "$OPERATOR_SUDO" = password ] && echo "$OPERATOR:$(head -c 18 /dev/urandom | base64)" | chpasswd
  true
fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_a_sudoer_that_is_not_root() {
        let o = Operator::default();
        assert_eq!(o.name, "ze");
        assert_eq!(o.sudo, Sudo::Nopasswd);
        assert!(o.groups.contains(&"adm".to_string()));
        assert!(o.check().is_ok());
        assert_eq!(o.describe(), "ze (groups adm, sudo; sudo without a password; not root)");
    }

    #[test]
    fn impossible_accounts_are_named() {
        let bad = |o: Operator| o.check().unwrap_err().to_string();
        assert!(bad(Operator { name: "root".into(), ..Default::default() }).contains("not root"));
        assert!(bad(Operator { name: "Ze Ops".into(), ..Default::default() }).contains("not a user name"));
        assert!(bad(Operator { sudo: Sudo::None, ..Default::default() }).contains("group `sudo`"));
        assert!(Operator { sudo: Sudo::None, groups: vec!["adm".into()], ..Default::default() }.check().is_ok());
    }

    #[test]
    fn provisioning_gets_the_account_as_written() {
        let o = Operator { name: "ops".into(), groups: vec![], sudo: Sudo::Password };
        assert_eq!(o.env(), "OPERATOR=ops\nOPERATOR_GROUPS=\"\"\nOPERATOR_SUDO=password\n");
    }
}
