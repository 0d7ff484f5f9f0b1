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
    /// The recursor's `forward-zones-file`, when it is a file of the config dir.
    pub forward_file: Option<ForwardFile>,
}

/// The setting that names a file of forwards, one zone per line.
pub const FORWARD_FILE_KEY: &str = "forward-zones-file";

/// A `forward-zones-file` as pdns-recursor reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForwardFile {
    /// Relative to the config dir.
    pub file: String,
    pub entries: Vec<ForwardEntry>,
}

/// One zone of a `forward-zones-file`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForwardEntry {
    pub line: usize,
    /// `+zone=`: recursion desired, as `forward-zones-recurse`.
    pub recurse: bool,
    pub zone: String,
    /// The servers as written (`,`, `;` or spaces between them).
    pub servers: String,
}

impl ForwardEntry {
    /// The entry as a `forward-zones` item would say it (`zone=servers`).
    pub fn entry(&self) -> String {
        format!("{}={}", self.zone, self.servers)
    }

    /// The setting whose meaning the line carries.
    pub fn key(&self) -> &'static str {
        if self.recurse {
            "forward-zones-recurse"
        } else {
            "forward-zones"
        }
    }
}

impl ForwardFile {
    /// `zone=servers, …` of the lines standing for `key`, as that setting would hold them.
    pub fn value_as(&self, key: &str) -> Option<String> {
        let v: Vec<String> = self.entries.iter().filter(|e| e.key() == key).map(ForwardEntry::entry).collect();
        (!v.is_empty()).then(|| v.join(", "))
    }

    /// `file:line` of every line standing for `key`.
    pub fn lines_of(&self, key: &str) -> Vec<String> {
        self.entries.iter().filter(|e| e.key() == key).map(|e| format!("{}:{}", self.file, e.line)).collect()
    }
}

/// The lines of a forward-zones-file, pdns-recursor's rules: each line trimmed, `#` at its
/// start a comment, the zone before the first `=`, a `#` after it ending the servers, blank
/// lines skipped, `+` before the zone for recursion desired. Lines the recursor refuses at
/// start-up come back as (line, why).
pub fn parse_forward_file(text: &str) -> (Vec<ForwardEntry>, Vec<(usize, String)>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (zone, servers) = line.split_once('=').unwrap_or((line, ""));
        let servers = servers.split('#').next().unwrap_or("").trim();
        let (recurse, zone) = match zone.trim().strip_prefix('+') {
            Some(z) => (true, z.trim()),
            None => (false, zone.trim()),
        };
        if zone.is_empty() || servers.is_empty() {
            bad.push((i + 1, format!("`{line}` is not zone=server[,server…] (the recursor refuses the file)")));
            continue;
        }
        entries.push(ForwardEntry { line: i + 1, recurse, zone: zone.to_string(), servers: servers.to_string() });
    }
    (entries, bad)
}

/// `text` with line `line` (1-based) holding `entry` instead (`+` and a trailing comment
/// kept), or gone when `entry` is None; every other byte kept.
pub fn rewrite_forward_line(text: &str, line: usize, entry: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        if i + 1 != line {
            out.push_str(raw);
            continue;
        }
        let Some(entry) = entry else { continue };
        let body = raw.trim_end_matches(['\n', '\r']);
        let eol = &raw[body.len()..];
        let plus = if body.trim_start().starts_with('+') { "+" } else { "" };
        let comment = body.split_once('=').and_then(|(_, rest)| rest.find('#').map(|p| &rest[p..])).unwrap_or("");
        let gap = if comment.is_empty() { "" } else { " " };
        out.push_str(&format!("{plus}{entry}{gap}{comment}{eol}"));
    }
    out
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
        s.absorb_include_dir(files, etc);
        s.read_forward_file(files, etc);
        s
    }

    /// The `*.conf` files of `include-dir`, in the daemon's order.
    fn absorb_include_dir(&mut self, files: &[(String, String)], etc: &str) {
        let s = self;
        let Some(dir) = s.get("include-dir").filter(|d| !d.is_empty()) else { return };
        let etc = etc.trim_end_matches('/');
        let rel = match dir.trim_end_matches('/').strip_prefix(etc) {
            Some(r) => r.trim_start_matches('/').to_string(),
            None => {
                s.include_dir_outside = Some(dir);
                return;
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
    }

    /// Reads the file `forward-zones-file` names when it is in the config dir (one elsewhere is
    /// not known here: [`Settings::forward_file_outside`]).
    fn read_forward_file(&mut self, files: &[(String, String)], etc: &str) {
        let Some(rel) = self.forward_file_rel(etc) else { return };
        let Some((_, text)) = files.iter().find(|(p, _)| *p == rel) else { return };
        let (entries, bad) = parse_forward_file(text);
        self.malformed.extend(bad.into_iter().map(|(line, why)| Malformed { file: rel.clone(), line, why }));
        self.forward_file = Some(ForwardFile { file: rel, entries });
    }

    /// The forward-zones-file relative to the config dir, when it lies inside it.
    fn forward_file_rel(&self, etc: &str) -> Option<String> {
        let path = self.get(FORWARD_FILE_KEY).filter(|p| !p.trim().is_empty())?;
        let rel = path.trim().strip_prefix(etc.trim_end_matches('/'))?.strip_prefix('/')?;
        Some(rel.to_string())
    }

    /// Why the testbed cannot lay the forward-zones-file the recursor reads: outside the config
    /// dir, or not in it.
    pub fn forward_file_problem(&self, etc: &str) -> Option<String> {
        let path = self.get(FORWARD_FILE_KEY).filter(|p| !p.trim().is_empty())?;
        match (self.forward_file_rel(etc), &self.forward_file) {
            (None, _) => Some(format!("{path} is outside {etc}; the config dir must hold every file the recursor reads (put it under {etc})")),
            (Some(rel), None) => Some(format!("{path} is not in the config dir ({rel} is missing); the recursor would not start without it")),
            _ => None,
        }
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
    fn a_forward_zones_file_is_read_as_the_recursor_reads_it() {
        let text = "# lab forwards\n\nlab.test=10.0.0.54:53, 10.0.0.55 # next door\n+.=9.9.9.9;1.1.1.1\n  other.test = 10.0.0.56\nbroken.test\n+=10.0.0.1\n";
        let f = files(&[("recursor.conf", "forward-zones-file=/etc/powerdns/fwd.zones\n"), ("fwd.zones", text)]);
        let s = Settings::read(Daemon::Recursor, &f, "/etc/powerdns");
        let ff = s.forward_file.as_ref().unwrap();
        assert_eq!(ff.file, "fwd.zones");
        assert_eq!(ff.entries.len(), 3);
        assert_eq!(ff.entries[0], ForwardEntry { line: 3, recurse: false, zone: "lab.test".into(), servers: "10.0.0.54:53, 10.0.0.55".into() });
        assert_eq!(ff.entries[1].key(), "forward-zones-recurse");
        assert_eq!(ff.value_as("forward-zones").as_deref(), Some("lab.test=10.0.0.54:53, 10.0.0.55, other.test=10.0.0.56"));
        assert_eq!(ff.lines_of("forward-zones-recurse"), ["fwd.zones:4"]);
        let bad: Vec<String> = s.malformed.iter().map(ToString::to_string).collect();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("fwd.zones:6: `broken.test`") && bad[1].starts_with("fwd.zones:7:"), "{bad:?}");
        assert_eq!(s.forward_file_problem("/etc/powerdns"), None);
    }

    #[test]
    fn a_forward_zones_file_elsewhere_or_missing_is_a_problem() {
        let outside = Settings::read(Daemon::Recursor, &files(&[("recursor.conf", "forward-zones-file=/srv/fwd\n")]), "/etc/powerdns");
        assert!(outside.forward_file_problem("/etc/powerdns").unwrap().contains("/srv/fwd is outside /etc/powerdns"));
        let missing = Settings::read(Daemon::Recursor, &files(&[("recursor.conf", "forward-zones-file=/etc/powerdns/fwd\n")]), "/etc/powerdns");
        assert!(missing.forward_file_problem("/etc/powerdns").unwrap().contains("fwd is missing"));
    }

    #[test]
    fn a_forward_line_is_rewritten_in_place() {
        let text = "# head\r\n+lab.test=10.0.0.54;10.0.0.55 # next door\r\nother.test=10.0.0.9\n";
        let out = rewrite_forward_line(text, 2, Some("lab.test=10.0.0.53;10.0.0.55"));
        assert_eq!(out, "# head\r\n+lab.test=10.0.0.53;10.0.0.55 # next door\r\nother.test=10.0.0.9\n");
        assert_eq!(rewrite_forward_line(text, 3, None), "# head\r\n+lab.test=10.0.0.54;10.0.0.55 # next door\r\n");
        assert_eq!(rewrite_forward_line(text, 9, Some("x=1")), text);
    }

    #[test]
    fn items_split_lists() {
        assert_eq!(items("127.0.0.1, ::1 10.0.0.53"), ["127.0.0.1", "::1", "10.0.0.53"]);
    }
}
