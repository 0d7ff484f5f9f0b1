//! The faults a scenario names: what the harness does to the lab and later undoes. Running
//! them is `crate::runner::fault`'s job; this is their vocabulary as a scenario file writes it.

use crate::inputs::settings::Daemon;
use crate::testbed::Role;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use super::yes;

/// Something the harness does to the lab and later undoes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// `systemctl stop UNIT` (heal: start).
    StopUnit { unit: String },
    /// SIGKILL to the unit's processes, as a crash (heal: start).
    KillUnit { unit: String },
    /// Edit a file in a container (heal: its original content back). Exactly one of
    /// `append`, `set` (replace the whole line starting with `key=`), `replace`+`with`, `content`.
    EditFile {
        #[serde(default = "pdns_vm")]
        on: Role,
        path: String,
        #[serde(default)]
        append: Option<String>,
        #[serde(default)]
        set: Option<String>,
        #[serde(default)]
        replace: Option<String>,
        #[serde(default)]
        with: Option<String>,
        #[serde(default)]
        content: Option<String>,
        /// Also restart this unit after the edit (and after healing).
        #[serde(default)]
        restart: Option<String>,
    },
    /// A shell command on the VM as root with its undo (for faults best said in shell:
    /// chown, chmod, firewall rules, leftover files).
    Shell {
        #[serde(default = "pdns_vm")]
        on: Role,
        inject: String,
        heal: String,
        /// A command that exits 0 only when the fault is in place (the rule listed, the owner
        /// changed): run after `inject`, it proves the fault took effect.
        #[serde(default)]
        proof: Option<String>,
    },
    /// Changes one setting of one daemon in the file where the lab effectively sets it (the
    /// plan finds it), restarts the daemon, and proves the daemon took the new value. Heal: the
    /// files back byte for byte, and a restart. Exactly one of `set`, `remove = true`,
    /// `remove-item`, `add-item`, `replace-item` + `with`, `replace` + `with`.
    Setting {
        daemon: Daemon,
        key: String,
        #[serde(default)]
        set: Option<String>,
        #[serde(default)]
        remove: bool,
        /// Drop one item of a list value (e.g. one address of local-address).
        #[serde(default, rename = "remove-item")]
        remove_item: Option<String>,
        #[serde(default, rename = "add-item")]
        add_item: Option<String>,
        /// Replace one item of a list value with `with` (a typo in one ACL entry).
        #[serde(default, rename = "replace-item")]
        replace_item: Option<String>,
        /// Replace this text inside the value with `with`, separators kept (one address of a
        /// `forward-zones` entry whose form differs from lab to lab).
        #[serde(default)]
        replace: Option<String>,
        #[serde(default)]
        with: Option<String>,
        /// Restart the daemon after the edit (and after healing).
        #[serde(default = "yes")]
        restart: bool,
        /// Set by the plan: which file to edit.
        #[serde(skip)]
        target: Option<SettingTarget>,
    },
    /// Overwrite with garbage every page of one table's or index's b-tree in an SQLite file:
    /// the pages are found at run time in the file itself (SQLite's `dbstat`), so the damage
    /// lands on that object whatever the lab's layout; pages the `-wal` holds a newer copy of
    /// are left (nobody would read the overwrite). Proof: the pages read back as the garbage.
    /// Heal: the unit stopped, the file as it was (its -wal/-shm removed), the unit started.
    OverwritePages {
        /// The SQLite file (`{db}`), on the VM.
        file: String,
        /// The table or index whose pages are overwritten (`records`, `ip_nameserver_pk`).
        of: String,
        /// The daemon that has the file open.
        #[serde(default = "pdns_unit")]
        unit: String,
        /// Overwrite under the running daemon; by default it is stopped before the overwrite
        /// and started after (it opens the damaged file).
        #[serde(default, rename = "while-running")]
        while_running: bool,
    },
    /// Fill the filesystem holding `path` until it is full (heal: remove the filler).
    FillDisk { path: String },
    /// Take a network interface of the VM down (heal: up, addresses and routes restored).
    LinkDown { iface: String },
    /// Disconnect the VM from a network (heal: reconnect with the same address).
    Disconnect { network: String },
    /// Stop the VM container (the VM shut off; heal: start it).
    StopVm,
    /// SIGKILL the VM container (the VM died; heal: start it).
    KillVm,
}

fn pdns_vm() -> Role {
    Role::PdnsVm
}

fn pdns_unit() -> String {
    "pdns".into()
}

/// How a setting fault changes the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingEdit {
    Set(String),
    Remove,
    RemoveItem(String),
    AddItem(String),
    ReplaceItem(String, String),
    ReplaceText(String, String),
}

impl SettingEdit {
    /// The value after the edit (None: the line removed), from the value before it. Err: the
    /// edit cannot apply to this value (an item that is not there).
    pub fn apply(&self, key: &str, current: Option<&str>) -> Result<Option<String>, String> {
        let cur = || current.ok_or_else(|| format!("{key} has no value in the files to edit"));
        let items = || cur().map(crate::inputs::settings::items);
        let has = |item: &str| -> Result<Vec<String>, String> {
            let items = items()?;
            if items.iter().any(|i| i == item) {
                Ok(items)
            } else {
                Err(format!("{key} = {} has no item {item}", cur()?))
            }
        };
        Ok(match self {
            SettingEdit::Set(v) => Some(v.clone()),
            SettingEdit::Remove => None,
            SettingEdit::RemoveItem(item) => {
                has(item)?;
                Some(edit_items(cur()?, item, None))
            }
            SettingEdit::AddItem(item) => Some(format!("{}, {item}", cur()?)),
            SettingEdit::ReplaceItem(from, to) => {
                has(from)?;
                Some(edit_items(cur()?, from, Some(to)))
            }
            SettingEdit::ReplaceText(from, to) => {
                let v = cur()?;
                if !v.contains(from.as_str()) {
                    return Err(format!("{key} = {v} has no `{from}` in it"));
                }
                Some(v.replace(from.as_str(), to))
            }
        })
    }
}

/// `value` with every item equal to `item` replaced by `with` (or removed with the separator
/// before it, or after it when first), every other byte kept: a `forward-zones` separates its
/// forwarders with `;` and its zones with `,`, and re-joining would change what it means.
fn edit_items(value: &str, item: &str, with: Option<&str>) -> String {
    let is_sep = |c: char| matches!(c, ',' | ' ' | '\t' | ';');
    // Alternating runs: separators and items, in order.
    let mut runs: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if i > start && is_sep(c) != is_sep(value[start..].chars().next().unwrap_or(' ')) {
            runs.push((is_sep(value[start..].chars().next().unwrap_or(' ')), &value[start..i]));
            start = i;
        }
    }
    if start < value.len() {
        runs.push((is_sep(value[start..].chars().next().unwrap_or(' ')), &value[start..]));
    }
    let mut out: Vec<(bool, String)> = Vec::new();
    for (sep, text) in runs {
        if !sep && text == item {
            match with {
                Some(w) => out.push((false, w.to_string())),
                None => {
                    if out.last().is_some_and(|(s, _)| *s) && out.len() > 1 {
                        out.pop();
                    } else {
                        out.push((true, String::new())); // marks "drop the next separator"
                    }
                }
            }
            continue;
        }
        if sep && out.last().is_some_and(|(s, t)| *s && t.is_empty()) {
            out.pop();
            continue;
        }
        out.push((sep, text.to_string()));
    }
    let joined: String = out.into_iter().map(|(_, t)| t).collect();
    joined.trim_matches(is_sep).to_string()
}

/// Where a setting fault edits, as the plan resolved it from the lab's config dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingTarget {
    /// The file on the VM holding the base `key=` line (or, unset, the last file read).
    pub file: String,
    /// That line, when the key is set there.
    pub line: Option<usize>,
    /// Files with `key+=` lines read after the base line: dropped so the edit is the value.
    pub appends: Vec<String>,
    /// Every file the daemon reads, in order, for reading back the effective value.
    pub daemon_files: Vec<String>,
    /// `file` is the recursor's forward-zones-file and `line` the forward to edit (the lab
    /// keeps the forwards of `key` there, not in the setting).
    pub forward_file: bool,
}

impl Fault {
    /// The edit a setting fault makes (None for other kinds or a malformed one).
    pub fn setting_edit(&self) -> Option<SettingEdit> {
        let Fault::Setting { set, remove, remove_item, add_item, replace_item, replace, with, .. } = self else { return None };
        match (set, remove, remove_item, add_item, replace_item, replace, with) {
            (Some(v), false, None, None, None, None, None) => Some(SettingEdit::Set(v.clone())),
            (None, true, None, None, None, None, None) => Some(SettingEdit::Remove),
            (None, false, Some(v), None, None, None, None) => Some(SettingEdit::RemoveItem(v.clone())),
            (None, false, None, Some(v), None, None, None) => Some(SettingEdit::AddItem(v.clone())),
            (None, false, None, None, Some(a), None, Some(b)) => Some(SettingEdit::ReplaceItem(a.clone(), b.clone())),
            (None, false, None, None, None, Some(a), Some(b)) => Some(SettingEdit::ReplaceText(a.clone(), b.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_edits_keep_the_separators_they_do_not_touch() {
        let fz = "int.acme-lab.net=192.168.50.35:53;192.0.2.53:53, other.net=10.0.0.1";
        assert_eq!(edit_items(fz, "192.0.2.53:53", None), "int.acme-lab.net=192.168.50.35:53, other.net=10.0.0.1");
        assert_eq!(edit_items("a;b;c", "a", None), "b;c");
        assert_eq!(edit_items("a, b, c", "c", None), "a, b");
        assert_eq!(edit_items("a,b", "b", Some("x")), "a,x");
        assert_eq!(edit_items("127.0.0.0/8, 10.0.0.0/16", "10.0.0.0/16", Some("10.0.0.0/33")), "127.0.0.0/8, 10.0.0.0/33");
        assert_eq!(edit_items("only", "only", None), "");
    }
}
