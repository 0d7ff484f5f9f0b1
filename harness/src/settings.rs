//! The daemons' effective settings, read from a config dir the way PowerDNS reads it: the main
//! file, then every `*.conf` of `include-dir` in case-insensitive name order; a later `key=`
//! replaces, `key+=` appends with ", "; `#` starts a comment at the line start or after
//! whitespace; a trailing `\` continues the line. Pure: no daemon is asked.

use std::collections::BTreeMap;

/// Where the daemons look for their configuration on the VM.
pub const ETC: &str = "/etc/powerdns";
use std::fmt;

/// Which daemon's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Daemon {
    /// pdns, the authoritative: `pdns.conf`.
    Auth,
    /// pdns-recursor: `recursor.conf`.
    Recursor,
}

impl Daemon {
    pub const ALL: [Daemon; 2] = [Daemon::Auth, Daemon::Recursor];
    pub fn main_file(self) -> &'static str {
        match self {
            Daemon::Auth => "pdns.conf",
            Daemon::Recursor => "recursor.conf",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            Daemon::Auth => "pdns",
            Daemon::Recursor => "pdns-recursor",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Daemon::Auth => "auth",
            Daemon::Recursor => "recursor",
        }
    }
}

impl fmt::Display for Daemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Daemon {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auth" | "pdns" => Ok(Daemon::Auth),
            "recursor" | "pdns-recursor" => Ok(Daemon::Recursor),
            _ => Err(format!("unknown daemon `{s}` (auth or recursor)")),
        }
    }
}

/// One line of a config file that sets a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assignment {
    /// File relative to the config dir (`recursor.d/10-lab-forwarder.conf`).
    pub file: String,
    /// 1-based line where the (possibly continued) setting starts.
    pub line: usize,
    pub value: String,
    /// `key+=value`.
    pub append: bool,
}

/// A key's history through the files, in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Setting {
    pub assignments: Vec<Assignment>,
}

impl Setting {
    /// The last plain `key=` line: where an edit of the value belongs.
    pub fn base(&self) -> Option<&Assignment> {
        self.assignments.iter().rev().find(|a| !a.append)
    }

    /// `key+=` lines read after the base one: they add to whatever the base says.
    pub fn appends_after_base(&self) -> &[Assignment] {
        let i = self.assignments.iter().rposition(|a| !a.append).map_or(0, |i| i + 1);
        &self.assignments[i..]
    }

    /// The effective value; `None` when only `+=` lines exist (they extend the daemon's
    /// built-in default, which is not known here).
    pub fn value(&self) -> Option<String> {
        let base = self.base()?;
        let mut v = base.value.clone();
        for a in self.appends_after_base() {
            if v.is_empty() {
                v = a.value.clone();
            } else {
                v = format!("{v}, {}", a.value);
            }
        }
        Some(v)
    }

    /// The file an operator would edit to change the value: the base line's file.
    pub fn file(&self) -> Option<&str> {
        self.base().map(|a| a.file.as_str())
    }
}

/// A daemon's settings as its files give them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Settings {
    /// Files in the order the daemon reads them.
    pub files: Vec<String>,
    pub keys: BTreeMap<String, Setting>,
    /// `include-dir` points outside the config dir: those files are not known here.
    pub include_dir_outside: Option<String>,
    /// Lines the daemon would refuse (or silently skip), in reading order.
    pub malformed: Vec<Malformed>,
}

/// A setting line that cannot be what its author meant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Malformed {
    /// File relative to the config dir.
    pub file: String,
    pub line: usize,
    pub why: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.why)
    }
}

impl Settings {
    /// Reads `daemon`'s settings from config-dir files given as (relative path, text). The dir
    /// is where the daemon's `config-dir` points (`/etc/powerdns` on the VM).
    pub fn read(daemon: Daemon, files: &[(String, String)], etc: &str) -> Settings {
        let mut s = Settings::default();
        let Some((_, main)) = files.iter().find(|(p, _)| p == daemon.main_file()) else { return s };
        s.absorb(daemon.main_file(), main);
        let Some(dir) = s.get("include-dir").filter(|d| !d.is_empty()) else { return s };
        let etc = etc.trim_end_matches('/');
        let rel = match dir.trim_end_matches('/').strip_prefix(etc) {
            Some(r) => r.trim_start_matches('/').to_string(),
            None => {
                s.include_dir_outside = Some(dir);
                return s;
            }
        };
        let mut included: Vec<&(String, String)> = files
            .iter()
            .filter(|(p, _)| {
                let (parent, name) = p.rsplit_once('/').unwrap_or(("", p));
                parent == rel && name.ends_with(".conf") && !name.starts_with('.')
            })
            .collect();
        included.sort_by_key(|(p, _)| p.to_ascii_lowercase());
        for (p, text) in included {
            s.absorb(p, text);
        }
        s
    }

    fn absorb(&mut self, file: &str, text: &str) {
        self.files.push(file.to_string());
        for (line, var, value, append) in parse_lines(text) {
            if let Some(why) = bad_key(&var) {
                self.malformed.push(Malformed { file: file.to_string(), line, why });
                continue;
            }
            self.keys.entry(var).or_default().assignments.push(Assignment { file: file.to_string(), line, value, append });
        }
    }

    /// The effective value of `key`, when the files determine it.
    pub fn get(&self, key: &str) -> Option<String> {
        self.keys.get(key).and_then(Setting::value)
    }

    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.keys.get(key)
    }
}

/// (first line, key, value, append) per setting line, PowerDNS's own rules.
pub fn parse_lines(text: &str) -> Vec<(usize, String, String, bool)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if acc.is_empty() {
            start = i + 1;
        }
        let pline = raw.trim_end();
        if let Some(cont) = pline.strip_suffix('\\') {
            acc.push_str(cont);
            continue;
        }
        acc.push_str(pline);
        let mut line = std::mem::take(&mut acc);
        if let Some(pos) = line.find('#') {
            if pos == 0 || line[..pos].ends_with(char::is_whitespace) {
                line.truncate(pos);
            }
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (var, value, append) = match (line.find("+="), line.find('=')) {
            (Some(p), _) => (&line[..p], &line[p + 2..], true),
            (None, Some(p)) => (&line[..p], &line[p + 1..], false),
            (None, None) => (line, "", false),
        };
        out.push((start, var.trim().to_string(), value.trim_start().to_string(), append));
    }
    out
}

/// Why `key` cannot name a setting. PowerDNS takes the text before `=` as the name and refuses
/// an unknown one at start-up ("Trying to set unknown setting"); names are letters, digits, `-`
/// and `_` (backend instances), so anything else is a typo such as `key value` or `key: value`.
/// An empty name is skipped by the daemon: the line sets nothing.
fn bad_key(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("the line sets nothing: no setting name before `=`".into());
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    (!key.chars().all(ok)).then(|| format!("`{key}` is not a setting name; write name=value"))
}

/// The items of a list setting ("127.0.0.1, ::1 10.0.0.53" → three items).
pub fn items(value: &str) -> Vec<String> {
    value.split([',', ' ', '\t', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A file's text with the setting lines of `key` changed: `new` replaces the value of the
/// base assignment at `line` (or every plain line when `line` is None); `drop_appends` removes
/// `key+=` lines. Other lines are kept byte for byte.
pub fn rewrite(text: &str, key: &str, line: Option<usize>, new: Option<&str>, drop_appends: bool) -> String {
    let parsed = parse_lines(text);
    let mut out: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let here = i + 1;
        let hit = parsed.iter().find(|(l, k, _, _)| *l == here && k == key);
        // A continued setting spans several physical lines.
        let mut span = 1;
        while i + span - 1 < lines.len() && lines[i + span - 1].trim_end().ends_with('\\') {
            span += 1;
        }
        match hit {
            Some((_, _, _, true)) if drop_appends => {}
            Some((l, _, _, false)) if line.is_none_or(|want| want == *l) => {
                if let Some(v) = new {
                    let eol = if lines[i + span - 1].ends_with('\n') { "\n" } else { "" };
                    out.push(format!("{key}={v}{eol}"));
                }
            }
            _ => out.extend(lines[i..(i + span).min(lines.len())].iter().map(|s| s.to_string())),
        }
        i += span;
    }
    out.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
    }

    #[test]
    fn include_dir_files_are_read_in_name_order_and_later_ones_win() {
        let f = files(&[
            ("recursor.conf", "include-dir=/etc/powerdns/recursor.d\nallow-from=127.0.0.0/8\nquiet=yes\n"),
            ("recursor.d/20-b.conf", "allow-from=10.0.0.0/8\n"),
            ("recursor.d/10-a.conf", "allow-from=192.168.0.0/16\nlocal-address=127.0.0.1\n"),
            ("recursor.d/notes.txt", "allow-from=1.1.1.1/32\n"),
            ("pdns.d/x.conf", "allow-from=2.2.2.2/32\n"),
        ]);
        let s = Settings::read(Daemon::Recursor, &f, "/etc/powerdns");
        assert_eq!(s.files, ["recursor.conf", "recursor.d/10-a.conf", "recursor.d/20-b.conf"]);
        assert_eq!(s.get("allow-from").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(s.setting("allow-from").unwrap().file(), Some("recursor.d/20-b.conf"));
        assert_eq!(s.setting("local-address").unwrap().file(), Some("recursor.d/10-a.conf"));
        assert_eq!(s.get("quiet").as_deref(), Some("yes"));
    }

    #[test]
    fn without_include_dir_only_the_main_file_counts() {
        let f = files(&[("recursor.conf", "allow-from=127.0.0.0/8\n"), ("recursor.d/10.conf", "allow-from=10.0.0.0/8\n")]);
        let s = Settings::read(Daemon::Recursor, &f, "/etc/powerdns");
        assert_eq!(s.get("allow-from").as_deref(), Some("127.0.0.0/8"));
        assert_eq!(s.files, ["recursor.conf"]);
    }

    #[test]
    fn appends_extend_the_base_and_without_base_the_value_is_unknown() {
        let f = files(&[
            ("pdns.conf", "include-dir=/etc/powerdns/pdns.d\nlocal-address=10.0.0.1\n"),
            ("pdns.d/a.conf", "local-address+=10.0.0.2\nallow-axfr-ips+=10.0.0.9\n"),
        ]);
        let s = Settings::read(Daemon::Auth, &f, "/etc/powerdns");
        assert_eq!(s.get("local-address").as_deref(), Some("10.0.0.1, 10.0.0.2"));
        assert_eq!(s.setting("local-address").unwrap().appends_after_base().len(), 1);
        assert_eq!(s.get("allow-axfr-ips"), None);
    }

    #[test]
    fn comments_continuations_and_spacing_follow_powerdns() {
        let text = "# comment\nallow-from = 127.0.0.0/8, \\\n  10.0.0.0/8 # lab\nlocal-address=127.0.0.1#not-a-comment\n  quiet\n";
        let p = parse_lines(text);
        assert_eq!(p[0], (2, "allow-from".into(), "127.0.0.0/8,   10.0.0.0/8".into(), false));
        assert_eq!(p[1].2, "127.0.0.1#not-a-comment");
        assert_eq!(p[2], (5, "quiet".into(), "".into(), false));
    }

    #[test]
    fn include_dir_outside_the_config_dir_is_flagged() {
        let f = files(&[("pdns.conf", "include-dir=/srv/pdns.d\n")]);
        assert_eq!(Settings::read(Daemon::Auth, &f, "/etc/powerdns").include_dir_outside.as_deref(), Some("/srv/pdns.d"));
    }

    #[test]
    fn rewrite_keeps_other_lines_byte_for_byte() {
        let text = "# head\nallow-from = 127.0.0.0/8, \\\n 10.0.0.0/8\nallow-from+=10.1.0.0/16\nquiet=yes";
        let out = rewrite(text, "allow-from", Some(2), Some("127.0.0.0/8"), true);
        assert_eq!(out, "# head\nallow-from=127.0.0.0/8\nquiet=yes");
        let removed = rewrite(text, "allow-from", None, None, false);
        assert_eq!(removed, "# head\nallow-from+=10.1.0.0/16\nquiet=yes");
        assert_eq!(rewrite(text, "nope", None, Some("x"), true), text);
    }

    #[test]
    fn lines_that_are_not_name_value_are_reported_with_file_and_line() {
        let f = files(&[
            ("recursor.conf", "include-dir=/etc/powerdns/recursor.d\nquiet\n"),
            ("recursor.d/10-a.conf", "# ok\nlocal-address 127.0.0.1\nallow-from: 10.0.0.0/8\n= 10.0.0.1\ngsqlite3-my_db-database=/x\n"),
        ]);
        let s = Settings::read(Daemon::Recursor, &f, "/etc/powerdns");
        let shown: Vec<String> = s.malformed.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert!(shown[0].starts_with("recursor.d/10-a.conf:2: `local-address 127.0.0.1` is not a setting name"), "{}", shown[0]);
        assert!(shown[1].starts_with("recursor.d/10-a.conf:3: `allow-from:"), "{}", shown[1]);
        assert!(shown[2].starts_with("recursor.d/10-a.conf:4: the line sets nothing"), "{}", shown[2]);
        // A malformed line sets nothing, and a key alone is a valid empty setting.
        assert_eq!(s.get("local-address"), None);
        assert_eq!(s.get("quiet").as_deref(), Some(""));
        assert_eq!(s.get("gsqlite3-my_db-database").as_deref(), Some("/x"));
    }

    #[test]
    fn items_split_lists() {
        assert_eq!(items("127.0.0.1, ::1 10.0.0.53"), ["127.0.0.1", "::1", "10.0.0.53"]);
    }
}
