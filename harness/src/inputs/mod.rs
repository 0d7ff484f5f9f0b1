//! The lab's inputs as the operators keep them: the daemons' settings (with the secrets they
//! hold, kept out of every artefact) and the zone journal with the SQLite it lands in. Nothing
//! here starts a container; every folder below reads the lab through these. Imports nothing
//! else of the crate.

pub mod settings;
pub mod secrets;
pub mod zone;
