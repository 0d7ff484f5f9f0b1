//! An SQLite b-tree's pages overwritten in place where the daemon reads them, and read back.

use super::{must, NotInEffect, DEADLINE};
use crate::testbed::engine::FileEntry;
use crate::testbed::{Lab, Role};
use anyhow::{Context, Result};

/// Where the overwrite's garbage page is staged on the VM.
const GARBAGE: &str = "/root/.pdns-drill-garbage-page";

/// Overwrites with garbage every page of the b-tree of `of` (a table or an index) in the SQLite
/// `file` on the VM, as it lies there now: the pages found in the file itself, skipping those
/// its `-wal` holds a newer copy of (the overwrite would go unread). In place (`dd
/// conv=notrunc`), so a daemon holding the file open reads the damage. Proven by reading the
/// pages back. Returns what was done and the proof, naming the pages hit and how many the file
/// has; a fault that cannot land is a [`NotInEffect`].
pub async fn overwrite_pages(lab: &Lab, file: &str, of: &str) -> Result<(String, String)> {
    use crate::inputs::zone::corrupt;
    let vm = Role::PdnsVm;
    let before = lab.engine.download(&lab.name(vm), file).await.with_context(|| format!("reading {file}"))?;
    let layout = corrupt::btree_pages(&before, of).map_err(|e| NotInEffect(format!("{file}: {e:#}")))?;
    let ps = layout.page_size;
    let wal = format!("{file}-wal");
    let in_wal = match lab.exec(vm, &["stat", "-c", "%s", &wal], DEADLINE).await? {
        st if st.success() && st.stdout.trim() != "0" => corrupt::wal_pages(&lab.engine.download(&lab.name(vm), &wal).await.with_context(|| format!("reading {wal}"))?),
        _ => Default::default(),
    };
    let (masked, hit): (Vec<u32>, Vec<u32>) = layout.pages.iter().partition(|p| in_wal.contains(p));
    let object = format!("the {} `{of}`{}", layout.kind, if layout.kind == "index" { format!(" (of table {})", layout.table) } else { String::new() });
    let masked_note = if masked.is_empty() { String::new() } else { format!("; left: {} (newer copies in {wal})", corrupt::pages_phrase(&masked, layout.page_count)) };
    if hit.is_empty() {
        return Err(NotInEffect(format!("every page of {object} in {file} has a newer copy in {wal}: an overwrite would not be read ({})", corrupt::pages_phrase(&masked, layout.page_count))).into());
    }
    let garbage = corrupt::garbage_page(ps);
    lab.engine.upload(&lab.name(vm), &[FileEntry::file(GARBAGE.to_string(), garbage.clone())]).await?;
    let dd: Vec<String> = hit.iter().map(|p| format!("dd if={GARBAGE} of='{file}' bs={ps} seek={} count=1 conv=notrunc status=none", p - 1)).collect();
    must(lab, vm, &format!("{} && rm -f {GARBAGE}", dd.join(" && "))).await?;
    let description = format!(
        "{file}: {} ({ps} bytes each; the b-tree of {object}, {} page(s) in all) overwritten with garbage{masked_note}",
        corrupt::pages_phrase(&hit, layout.page_count),
        layout.pages.len()
    );
    let after = lab.engine.download(&lab.name(vm), file).await.with_context(|| format!("reading back {file}"))?;
    let wrong: Vec<u32> = hit.iter().copied().filter(|p| after.get((*p as usize - 1) * ps..*p as usize * ps) != Some(&garbage[..])).collect();
    if !wrong.is_empty() {
        return Err(NotInEffect(format!("{file}: {} do(es) not read back as the garbage written", corrupt::pages_phrase(&wrong, layout.page_count))).into());
    }
    let proof = format!(
        "{} read back as the garbage; the file is {} bytes ({} before){}",
        corrupt::pages_phrase(&hit, layout.page_count),
        after.len(),
        before.len(),
        if in_wal.is_empty() { format!("; {wal} holds no page") } else { format!("; {wal} holds {} page(s), none of those hit", in_wal.len()) }
    );
    Ok((description, proof))
}
