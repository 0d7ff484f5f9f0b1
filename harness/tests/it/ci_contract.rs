//! The gate's contract with the CI around it, on real labs: no secret of the operators' files
//! in any artefact or log, and shards of a selection merged into what the whole run decides.

use crate::common;

use common::copy_dir;
use std::path::Path;
use std::process::{Command, Output};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn drill(args: &[&str], extra: &[&Path]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pdns-drill"));
    c.current_dir(root()).args(args);
    for p in extra {
        c.arg(p);
    }
    c.output().unwrap()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Secrets in both daemons' files, one of them in the file net-allow's check `cat`s: no artefact,
/// event line or log line carries one; each shows as its masked hash instead.
#[test]
fn no_secret_of_the_operators_files_leaves_the_lab() {
    if common::docker_missing() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("etc-powerdns");
    copy_dir(&root().join("lab/etc-powerdns"), &conf);
    let secrets = ["AuthApiKey-7f3e9", "AuthWebPw-c41d", "RecApiKey-99ab"];
    let append = |file: &str, text: &str| {
        let p = conf.join(file);
        let mut s = std::fs::read_to_string(&p).unwrap();
        s.push_str(text);
        std::fs::write(p, s).unwrap();
    };
    append("pdns.conf", &format!("api-key={}\nwebserver-password={}\n", secrets[0], secrets[1]));
    // The file that sets allow-from: net-allow's check prints it whole.
    append("recursor.d/10-lab-forwarder.conf", &format!("api-key={}\n", secrets[2]));
    let out_dir = d.path().join("out");
    let out = drill(&["run", "healthy-lab", "net-allow", "--progress", "json", "--config-dir"], &[&conf, Path::new("--report-dir"), &out_dir]);
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Both claims hold on the shipped lab, secrets or not: exit 0.
    assert_eq!(out.status.code(), Some(0), "{logs}");
    let mut masked = 0;
    let mut texts: Vec<(String, String)> = files_under(&out_dir).into_iter().map(|p| (p.display().to_string(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned())).collect();
    texts.push(("stdout+stderr".into(), logs));
    for (name, text) in &texts {
        for s in secrets {
            assert!(!text.contains(s), "{name} carries the secret {s}");
        }
        masked += text.matches("<redacted: sha256 ").count();
    }
    assert!(masked > 0, "the secret in the file net-allow prints must show masked somewhere, else this test checks nothing");
    for f in ["report.json", "report.md", "report.html", "junit.xml", "history.json", "gate.json"] {
        assert!(out_dir.join(f).is_file(), "{f} written");
    }
}

/// Two shards of a selection, merged, decide what the whole selection decides, and the merged
/// gate holds them to the same baseline.
#[test]
fn merged_shards_decide_what_the_whole_run_decides() {
    if common::docker_missing() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let sel = ["recursor-down", "conf-recursor-syntax"];
    let dir = |n: &str| d.path().join(n);
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend(sel);
        args.extend(["--format", "json,junit"]);
        args.extend(extra);
        args.push("--report-dir");
        drill(&args, &[&dir(name)])
    };
    let whole = run("whole", &[]);
    assert!(whole.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&whole.stderr));
    for (i, name) in [(1, "shard-1"), (2, "shard-2")] {
        let o = run(name, &["--partition", &format!("slice:{i}/2")]);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let verdicts = |p: &Path| -> Vec<(String, String, String)> {
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(p.join("report.json")).unwrap()).unwrap();
        r["claims"].as_array().unwrap().iter().map(|c| (c["id"].to_string(), c["verdict"].to_string(), c["parts"].to_string())).collect()
    };
    let shard_names = |p: &Path| -> Vec<String> {
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(p.join("history.json")).unwrap()).unwrap();
        r["scenarios"].as_array().unwrap().iter().map(|s| s["scenario"]["name"].as_str().unwrap().to_string()).collect()
    };
    let (a, b) = (shard_names(&dir("shard-1")), shard_names(&dir("shard-2")));
    assert_eq!(a.len() + b.len(), sel.len(), "every scenario in exactly one shard: {a:?} {b:?}");
    assert!(!a.is_empty() && !b.is_empty(), "both shards ran something: {a:?} {b:?}");

    let baseline = dir("baseline.json");
    let accept = drill(&["baseline", "accept", "--from"], &[&dir("whole").join("report.json"), Path::new("--to"), &baseline]);
    assert!(accept.status.success(), "{}", String::from_utf8_lossy(&accept.stderr));
    let merged = drill(&["merge"], &[&dir("shard-1"), &dir("shard-2"), Path::new("--report-dir"), &dir("merged"), Path::new("--baseline"), &baseline]);
    assert_eq!(merged.status.code(), Some(0), "merged shards as approved by the whole run:\n{}\n{}", String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&merged.stderr));
    assert_eq!(verdicts(&dir("merged")), verdicts(&dir("whole")));
    let gate: serde_json::Value = serde_json::from_slice(&std::fs::read(dir("merged").join("gate.json")).unwrap()).unwrap();
    assert_eq!(gate["outcome"], "pass", "{gate}");

    // One shard alone is not the whole, nor is a shard given twice: merge refuses both (exit 2)
    // and names what is wrong.
    let alone = drill(&["merge"], &[&dir("shard-1"), Path::new("--report-dir"), &dir("bad")]);
    assert_eq!(alone.status.code(), Some(2), "{}", String::from_utf8_lossy(&alone.stderr));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("no shard ran"), "{}", String::from_utf8_lossy(&alone.stderr));
    let twice = drill(&["merge"], &[&dir("shard-1"), &dir("shard-1"), Path::new("--report-dir"), &dir("bad")]);
    assert_eq!(twice.status.code(), Some(2), "{}", String::from_utf8_lossy(&twice.stderr));
}
