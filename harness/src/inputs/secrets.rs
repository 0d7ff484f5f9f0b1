//! The operators' secrets, found in their files, and the redaction every artefact passes through.
//!
//! Reports, histories, JUnit and event streams are read by many; the API keys, passwords and
//! credentials in `pdns.conf`/`recursor.conf` must not reach them. A secret is shown as
//! `<redacted: sha256 XXXXXXXX>`: a changed secret still shows as a different hash.
//!
//! Two nets, because a secret can reach an artefact as the file's line or as a daemon's output:
//! every value a secret setting has in the config dir is replaced wherever it appears, and any
//! `secret-key=value` the text carries (a setting the files did not hold) is masked by its key.

use regex::Regex;
use serde::{de::DeserializeOwned, Serialize};
use sha2::Digest;
use std::path::Path;
use std::sync::LazyLock;

/// A setting (`key=value`, `key: value`) in a config file or a line of output.
static SETTING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\+?=|:)\s*(.*?)\s*$").unwrap());
/// A secret setting inside any text: `api-key=…`, `webserver-password: …`, `gmysql-password=…`.
static SECRET_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b((?:[a-z0-9]+[-_])*(?:password|passwd|secret|key))(\s*(?:\+?=|:)\s*)("[^"]*"|'[^']*'|[^\s,;'"<>]+)"#).unwrap()
});
/// Credentials in a URL or connection string: `scheme://user:password@host`.
static URL_CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"://([^:/@\s]+):([^@\s]+)@").unwrap());

/// Whether a setting's key names a secret (keys compared with `_` as `-`, as YAML spells them).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase().replace('_', "-");
    let last = k.rsplit(['-', '.']).next().unwrap_or(&k);
    matches!(last, "password" | "passwd" | "secret" | "key")
}

/// The mask a secret is shown as.
pub fn mask(secret: &str) -> String {
    let h = sha2::Sha256::digest(secret.as_bytes());
    format!("<redacted: sha256 {}>", &hex::encode(h)[..8])
}

/// The secrets of one lab's config dir, and the redaction of any text or artefact.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret that contains another is replaced whole.
    values: Vec<String>,
}

impl Secrets {
    /// Every secret value in every file under `dir` (unreadable or binary files are skipped:
    /// they are not settings).
    pub fn from_dir(dir: &Path) -> Secrets {
        let mut values = vec![];
        for path in files_under(dir) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                values.extend(secrets_in(&text));
            }
        }
        Secrets::from_values(values)
    }

    pub fn from_values(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    /// `text` with every secret masked.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), &mask(v));
            }
        }
        let out = SECRET_IN_TEXT.replace_all(&out, |c: &regex::Captures| {
            let value = &c[3];
            if value.starts_with("<redacted") || value.is_empty() {
                c[0].to_string()
            } else {
                format!("{}{}{}", &c[1], &c[2], mask(value.trim_matches(['"', '\''])))
            }
        });
        URL_CREDENTIALS.replace_all(&out, |c: &regex::Captures| format!("://{}:{}@", &c[1], mask(&c[2]))).into_owned()
    }

    /// Any serialisable artefact with every string in it masked (keys included), read back as
    /// its own type: what is written or sent after this holds no secret.
    pub fn value<T: Serialize + DeserializeOwned>(&self, v: &T) -> anyhow::Result<T> {
        let json = serde_json::to_value(v)?;
        Ok(serde_json::from_value(self.json(json))?)
    }

    /// A JSON document with every string masked.
    pub fn json(&self, v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|i| self.json(i)).collect()),
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (self.text(&k), self.json(v))).collect()),
            v => v,
        }
    }
}

/// The secret values one settings file (old-style `key=value` or YAML `key: value`) holds.
pub fn secrets_in(text: &str) -> Vec<String> {
    let mut out = vec![];
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(c) = SETTING.captures(line) {
            let value = c[2].trim().trim_matches(['"', '\'']).trim();
            if is_secret_key(&c[1]) && !value.is_empty() {
                out.push(value.to_string());
            }
        }
        out.extend(URL_CREDENTIALS.captures_iter(line).map(|c| c[2].to_string()));
        // Secrets inside a value: a connection string's `password=…`.
        for c in SECRET_IN_TEXT.captures_iter(line) {
            let value = c[3].trim_matches(['"', '\'']);
            if !value.is_empty() {
                out.push(value.to_string());
            }
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(p),
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_old_style_and_yaml() {
        for k in ["api-key", "webserver-password", "gmysql-password", "api_key", "password", "tsig-secret", "webservice.api_key"] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["local-address", "launch", "gsqlite3-database", "dnssec-key-cache-ttl", "forward-zones", "allow-from"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn values_found_in_conf_and_yaml_and_connection_strings() {
        let conf = "# api-key=commented\napi-key = s3cret-API\nwebserver-password=\"pw with space\"\nlaunch=gsqlite3\ngpgsql-extra=host=db password=inner1 user=x\ncarbon-server=http://u:urlpass@10.0.0.1/\n";
        let mut got = secrets_in(conf);
        got.sort();
        got.dedup();
        assert_eq!(got, ["inner1", "pw with space", "s3cret-API", "urlpass"]);
        let yaml = "webservice:\n  api_key: yamlkey123\n  password: 'ypw'\nrecursor:\n  threads: 2\n";
        let mut got = secrets_in(yaml);
        got.sort();
        got.dedup();
        assert_eq!(got, ["yamlkey123", "ypw"]);
    }

    #[test]
    fn text_masks_every_occurrence_with_a_stable_hash() {
        let s = Secrets::from_values(["s3cret-API".to_string()]);
        let out = s.text("was api-key=s3cret-API; rec_control says s3cret-API");
        assert!(!out.contains("s3cret-API"), "{out}");
        assert_eq!(out.matches(&mask("s3cret-API")).count(), 2, "{out}");
        assert_ne!(mask("a"), mask("b"), "a changed secret shows as a different hash");
        // A secret setting the files did not hold is masked by its key.
        let out = Secrets::default().text("webserver-password=other1 and http://me:pw9@host");
        assert!(!out.contains("other1") && !out.contains("pw9"), "{out}");
        assert_eq!(Secrets::default().text("local-address=10.0.0.1, key-less text"), "local-address=10.0.0.1, key-less text");
    }

    #[test]
    fn artefacts_are_masked_in_every_string_and_keep_their_type() {
        let mut r = crate::report::fixture::sample_report();
        r.run.mappings.push("api-key=s3cret-API".into());
        r.claims[0].evidence[0].observed = "line: s3cret-API".into();
        let s = Secrets::from_values(["s3cret-API".to_string()]);
        let masked = s.value(&r).unwrap();
        assert!(!serde_json::to_string(&masked).unwrap().contains("s3cret-API"));
        assert_eq!(masked.claims.len(), r.claims.len());
    }

    #[test]
    fn from_dir_reads_every_file_below() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("recursor.d")).unwrap();
        std::fs::write(d.path().join("pdns.conf"), "api-key=authkey1\n").unwrap();
        std::fs::write(d.path().join("recursor.d/web.conf"), "webserver-password=recpw22\n").unwrap();
        let s = Secrets::from_dir(d.path());
        assert_eq!(s.text("authkey1 recpw22"), format!("{} {}", mask("authkey1"), mask("recpw22")));
    }
}
