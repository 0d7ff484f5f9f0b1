//! Which Debian mirror to debootstrap from: the one this machine's apt sources already name,
//! so the harness never carries a host name of its own.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Reads deb822 `.sources` and one-line `.list` files under `etc_apt` and returns the first
/// URI that serves the Debian archive itself (not -security, not a third-party repo).
pub fn from_apt_sources(etc_apt: &Path) -> Result<String> {
    let mut files = vec![etc_apt.join("sources.list")];
    if let Ok(dir) = std::fs::read_dir(etc_apt.join("sources.list.d")) {
        let mut extra: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        extra.sort();
        files.extend(extra);
    }
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let name = f.to_string_lossy();
        let found = if name.ends_with(".sources") {
            deb822_uris(&text)
        } else if name.ends_with(".list") {
            one_line_uris(&text)
        } else {
            continue;
        };
        if let Some(uri) = found.into_iter().find(|u| is_debian_archive(u)) {
            return Ok(uri);
        }
    }
    bail!(
        "no Debian archive mirror found in {} (looked for a URI ending in /debian); pass --mirror URL or set PDNS_DRILL_MIRROR",
        etc_apt.display()
    )
}

/// The mirror to use: explicit choice first, then the machine's apt sources.
pub fn resolve(explicit: Option<&str>) -> Result<String> {
    match explicit {
        Some(m) if !m.trim().is_empty() => Ok(m.trim().trim_end_matches('/').to_string()),
        _ => from_apt_sources(Path::new("/etc/apt")).context("finding a Debian mirror"),
    }
}

fn is_debian_archive(uri: &str) -> bool {
    let u = uri.trim_end_matches('/');
    (u.starts_with("http://") || u.starts_with("https://") || u.starts_with("file:/")) && u.ends_with("/debian")
}

fn deb822_uris(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.strip_prefix("URIs:"))
        .flat_map(|v| v.split_whitespace().map(|s| s.trim_end_matches('/').to_string()).collect::<Vec<_>>())
        .collect()
}

fn one_line_uris(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("deb ") || l.starts_with("deb\t"))
        .filter_map(|l| l.split_whitespace().skip(1).find(|w| !w.starts_with('[')).map(|s| s.trim_end_matches('/').to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_picks_archive_not_security() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sources.list.d")).unwrap();
        std::fs::write(
            d.path().join("sources.list.d/debian.sources"),
            "Types: deb\n# URIs: http://commented.example/debian\nURIs: http://mirror.example/debian-security\nSuites: x\n\nTypes: deb\nURIs: http://mirror.example/debian/\n",
        )
        .unwrap();
        assert_eq!(from_apt_sources(d.path()).unwrap(), "http://mirror.example/debian");
    }

    #[test]
    fn one_line_format_with_options() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("sources.list"), "# x\ndeb [arch=amd64] http://m.example/debian bookworm main\n").unwrap();
        assert_eq!(from_apt_sources(d.path()).unwrap(), "http://m.example/debian");
    }

    #[test]
    fn nothing_found_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let e = from_apt_sources(d.path()).unwrap_err().to_string();
        assert!(e.contains("--mirror"), "{e}");
    }

    #[test]
    fn explicit_wins() {
        assert_eq!(resolve(Some("http://x.example/debian/")).unwrap(), "http://x.example/debian");
    }
}
