//! Team and operations commands: `stats`, `doctor`, `erase-lead`, `embed`,
//! `suggest`, `search`, `import`, `deliver`, `worker`.

pub mod deliver;
pub mod doctor;
pub mod embed;
pub mod erase;
pub mod import;
pub mod logging;
pub mod search;
pub mod show;
pub mod stats;
pub mod suggest;
pub mod worker;
