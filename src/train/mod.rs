//! Phase Two: the tasks people write tell the policy what to memorize. The recent tasks of a
//! type define a reward model ([`reward`]); the Phase One policy's sampled descriptions of
//! training clips become preference pairs judged by it in both orders ([`pairs`]); a steering
//! adapter is tuned on them with DPO while the base stays frozen ([`dpo`]); [`phase2`] runs it
//! all and writes the adapter. (Phase One lives in `policy::phase1`.)

pub mod dpo;
pub mod pairs;
pub mod phase2;
pub mod reward;
