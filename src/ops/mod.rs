//! Team and operations commands: `stats`, `doctor`, `erase-lead`.

pub mod doctor;
pub mod embed;
pub mod erase;
pub mod search;
pub mod stats;
pub mod suggest;
