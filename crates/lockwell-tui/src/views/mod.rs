//! The screens, each a pure function of its data drawn into a `Frame`.

pub mod bench;
pub mod campaign;
pub mod catalog;
pub mod checksum;
pub mod compare;
pub mod help;
pub mod list;
pub mod parts;
pub mod run;
pub mod sweep;
pub mod text;
