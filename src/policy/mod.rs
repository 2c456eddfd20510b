//! Memorization policies: what turns a clip into a memory entry. This module so far holds the
//! pieces the built-in policy is trained and judged with: the world's language ([`lang`]) and
//! Phase One's reward terms against the world's ground truth ([`reward`]). No egui.

pub mod lang;
pub mod reward;
