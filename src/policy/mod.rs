//! Memorization policies: what turns a clip into a memory entry. So far: the built-in policy's
//! candle model ([`builtin`]), the world's language it writes ([`lang`]) and Phase One's reward
//! terms against the world's ground truth ([`reward`]). No egui.

pub mod builtin;
pub mod data;
pub mod lang;
pub mod report;
pub mod reward;
pub mod train;
