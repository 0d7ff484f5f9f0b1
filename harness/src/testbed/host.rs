//! What the host lets run at once. Every container boots its own systemd, and systemd and its
//! helpers take inotify instances from one pool per user (root's, for every container): when
//! the pool is empty a systemd stays `initializing` forever ("Failed to create inotify
//! object: Too many open files"), which would surface as lab boots that time out.

use std::path::Path;

/// Instances one lab takes while it boots, with margin: a settled lab with its client holds
/// 25 (about 6 per container), and a boot holds more for a while.
pub const INOTIFY_PER_LAB: u64 = 40;

const LIMIT_FILE: &str = "/proc/sys/fs/inotify/max_user_instances";

/// The pool, what is already used of it, and how many labs fit in the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub limit: u64,
    pub in_use: u64,
    pub labs: usize,
}

impl Capacity {
    pub fn from_counts(limit: u64, in_use: u64) -> Capacity {
        Capacity { limit, in_use, labs: (limit.saturating_sub(in_use) / INOTIFY_PER_LAB) as usize }
    }

    /// Why fewer labs run than asked, and how to lift it.
    pub fn advice(&self) -> String {
        format!(
            "fs.inotify.max_user_instances = {} ({} in use) leaves room for {} lab(s) at once (each takes about {INOTIFY_PER_LAB}); \
             `sysctl -w fs.inotify.max_user_instances=8192` (scripts/setup-host.sh does it) lifts the limit",
            self.limit, self.in_use, self.labs
        )
    }
}

/// None when the host does not say (not Linux, /proc unreadable): nothing to cap by.
pub fn capacity() -> Option<Capacity> {
    let limit: u64 = std::fs::read_to_string(LIMIT_FILE).ok()?.trim().parse().ok()?;
    Some(Capacity::from_counts(limit, inotify_in_use(Path::new("/proc"))))
}

/// Open inotify instances of every process we can see (root sees the containers' too).
fn inotify_in_use(proc: &Path) -> u64 {
    let Ok(pids) = std::fs::read_dir(proc) else { return 0 };
    pids.flatten()
        .filter(|p| p.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|p| std::fs::read_dir(p.path().join("fd")).ok())
        .flat_map(|fds| fds.flatten())
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:inotify"))
        .count() as u64
}

/// The line of a systemd journal that says the pool ran out, if one does.
pub fn exhausted_in(journal: &str) -> bool {
    journal.contains("Failed to create inotify object") || journal.contains("inotify") && journal.contains("Too many open files")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labs_fit_in_what_is_left_of_the_pool() {
        assert_eq!(Capacity::from_counts(128, 0).labs, 3);
        assert_eq!(Capacity::from_counts(128, 100).labs, 0);
        assert_eq!(Capacity::from_counts(8192, 25).labs, 204);
        assert!(Capacity::from_counts(128, 8).advice().contains("max_user_instances = 128 (8 in use) leaves room for 3 lab(s)"));
    }

    #[test]
    fn this_host_reports_a_pool() {
        // Linux always has the file; the count includes at least nothing negative.
        let c = capacity().expect("/proc/sys/fs/inotify/max_user_instances");
        assert!(c.limit > 0);
    }

    #[test]
    fn systemds_own_words_for_an_empty_pool() {
        assert!(exhausted_in("Nov 26 15:48:37 pdns-vm systemd[1]: Failed to create inotify object: Too many open files"));
        assert!(!exhausted_in("pdns-recursor.service: Main process exited"));
    }
}
