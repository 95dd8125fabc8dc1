//! Team and operations commands: `stats`, `doctor`, `erase-lead`.

pub mod doctor;
pub mod erase;
pub mod stats;
